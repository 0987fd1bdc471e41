// Spreads jobs over N worker processes. One OS process per worker: on this machine a second
// process nearly doubled throughput, where worker threads and in-process concurrency did not.
// Each worker holds at most `prefetch` jobs, so a slow image never starves the others. A worker
// that dies (a native crash on a hostile file) is replaced; the job it was on is retried once,
// then rejected, so one bad file cannot stop a build. A job that runs past the per-job timeout
// (a decoder stuck on a hostile file) is handled the same way: its worker is killed, the job is
// retried once alone, then rejected with reason `timeout`.
import { fork, type ChildProcess } from 'node:child_process';
import type { RemoteReadSettings } from '../sources/fetch/remote-settings.js';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { IMAGING } from '../defaults.js';
import type { Job, JobResult } from './types.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

const WORKER_ENTRY = fileURLToPath(new URL('./worker.js', import.meta.url));

function forkWorker(workers: number): ChildProcess {
  // Fewer workers than cores: let libvips use the spare cores (bytes do not depend on it).
  const vipsThreads = String(Math.max(1, Math.floor(availableParallelism() / Math.max(1, workers))));
  const env = {
    ...process.env,
    CYTOIMAGENET_BUILD_VIPS_THREADS: process.env.CYTOIMAGENET_BUILD_VIPS_THREADS ?? vipsThreads,
  };
  return fork(WORKER_ENTRY, [], {
    // --expose-gc: a worker frees a large image set's memory before it gives back its leave (worker.ts).
    execArgv: ['--expose-gc'],
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
}

/**
 * Worker processes forked before the jobs are known: a worker takes a few hundred milliseconds to
 * load, and that now overlaps the main process's reading and checking of the inputs.
 */
export class WarmWorkers {
  private readonly children: ChildProcess[] = [];

  constructor(workers: number) {
    for (let i = 0; i < workers; i++) this.children.push(forkWorker(workers));
  }

  /** A started worker that is still alive, if any is left. */
  take(): ChildProcess | undefined {
    for (let c = this.children.shift(); c !== undefined; c = this.children.shift())
      if (c.connected && c.exitCode === null) return c;
    return undefined;
  }

  /** Takes back a worker a finished run kept alive, for the next run (see PoolOptions.keep). */
  give(child: ChildProcess): void {
    this.children.push(child);
  }

  /** Stops the workers nobody took (nothing to do, or the build stopped early). */
  release(): void {
    for (const c of this.children.splice(0)) c.kill();
  }
}

export interface PoolOptions {
  workers: number;
  /** Workers already started (see WarmWorkers); the rest are forked here. */
  warm?: WarmWorkers;
  stagingDir: string;
  /** Hand the workers still alive back to `warm` when all jobs are done, instead of stopping them
   * (a queue worker runs one pool per shard, and a fork costs a few hundred milliseconds). */
  keep?: boolean;
  /** Jobs queued per worker (default 3: one encoding and staging, one computing, one decoding ahead). */
  prefetch?: number;
  /** Milliseconds one job may run on a worker before the worker is killed (default: none). */
  jobTimeoutMs?: number;
  /** Large image sets decoded at once across the workers (default IMAGING.largeDecodes). */
  largeDecodes?: number;
  onResult: (result: JobResult) => void;
  /** Bytes the workers fetched over HTTP, as they report them (remote sources). */
  onFetched?: (bytes: number) => void;
  /** How the workers read remote sources (default: the settings they inherited at fork). */
  remote?: RemoteReadSettings;
}

interface Slot {
  child: ChildProcess;
  inFlight: Job[];
  exited: boolean;
  detach: () => void;
  /** The watchdog on the oldest job in flight (the one running), and that job's key. */
  timer?: NodeJS.Timeout;
  timedKey?: string;
  /** Set when the watchdog killed the worker: the key of the job that ran too long. */
  timedOut?: string;
  /** Large decodes this worker holds leave for (see worker.ts). */
  large: number;
  /**
   * After a large set, a worker takes no new jobs, finishes those it holds and is replaced: a
   * process keeps much of a large set's memory after collecting it (allocator arenas), and only
   * its exit gives it all back.
   */
  retiring: boolean;
}

export function runPool(jobs: readonly Job[], opts: PoolOptions): Promise<void> {
  const prefetch = opts.prefetch ?? 3;
  const pending: Job[] = [...jobs].reverse(); // pop() from the end = original order
  const crashes = new Map<string, number>();
  const timeouts = new Map<string, number>();
  const largeLimit = Math.max(
    1,
    Number(process.env.CYTOIMAGENET_BUILD_LARGE_DECODES ?? opts.largeDecodes ?? IMAGING.largeDecodes),
  );
  let largeActive = 0;
  let largeWaiting: Slot[] = [];
  const solo = new Set<string>();
  let remaining = jobs.length;
  const slots = new Set<Slot>();

  return new Promise<void>((resolvePool, rejectPool) => {
    let failed = false;
    const fail = (e: Error): void => {
      if (failed) return;
      failed = true;
      for (const s of slots) {
        clearTimeout(s.timer);
        s.child.kill('SIGKILL');
      }
      rejectPool(e);
    };
    const finishIfDone = (): void => {
      if (remaining === 0 && !failed) {
        for (const s of slots) {
          clearTimeout(s.timer);
          if (s.exited) continue;
          if (opts.keep && opts.warm && !s.retiring) {
            s.detach();
            opts.warm.give(s.child);
          } else if (s.child.connected) s.child.send({ type: 'stop' } satisfies ToWorker);
        }
        resolvePool();
      }
    };
    // A worker runs its jobs in order, so the oldest in flight is the one running; the clock
    // restarts whenever that changes.
    const arm = (slot: Slot): void => {
      const ms = opts.jobTimeoutMs;
      if (ms === undefined || slot.exited) return;
      const head = slot.inFlight[0]?.key;
      if (head === slot.timedKey) return;
      clearTimeout(slot.timer);
      slot.timedKey = head;
      slot.timer =
        head === undefined
          ? undefined
          : setTimeout(() => {
              slot.timedOut = head;
              slot.child.kill('SIGKILL');
            }, ms);
    };
    // Large decodes (see worker.ts): at most `largeDecodes` at once; waiting workers in turn. The
    // watchdog's clock restarts at the grant, so a set waiting its turn is not timed out for it.
    const grantLarge = (): void => {
      while (largeActive < largeLimit && largeWaiting.length > 0) {
        const s = largeWaiting.shift() as Slot;
        if (s.exited) continue;
        largeActive++;
        s.large++;
        s.child.send({ type: 'large-granted' } satisfies ToWorker);
        s.timedKey = undefined;
        arm(s);
      }
    };
    const feed = (slot: Slot): void => {
      // Near the end, no worker queues a third job while another may run dry.
      const limit = (): number => (pending.length > slots.size ? prefetch : Math.min(prefetch, 2));
      while (slot.inFlight.length < limit() && pending.length > 0) {
        // A job that was on a worker when it died runs alone: a worker decodes its next job
        // ahead, so the crash may have come from either, and only a lone run tells which.
        if (slot.inFlight.some((j) => solo.has(j.key))) break;
        if (slot.inFlight.length > 0 && solo.has(pending[pending.length - 1].key)) break;
        const job = pending.pop() as Job;
        slot.inFlight.push(job);
        slot.child.send({ type: 'job', job } satisfies ToWorker);
      }
      arm(slot);
    };
    const spawn = (): void => {
      const child = opts.warm?.take() ?? forkWorker(opts.workers);
      const slot: Slot = {
        child,
        inFlight: [],
        exited: false,
        detach: () => undefined,
        large: 0,
        retiring: false,
      };
      slots.add(slot);
      const onMessage = (msg: FromWorker): void => {
        if (msg.type === 'fatal') {
          fail(new Error(`build worker failed: ${msg.message}`));
          return;
        }
        if (msg.type === 'large-acquire') {
          largeWaiting.push(slot);
          grantLarge();
          return;
        }
        if (msg.type === 'large-release') {
          slot.large--;
          largeActive--;
          slot.retiring = true;
          grantLarge();
          return;
        }
        const i = slot.inFlight.findIndex((j) => j.key === msg.result.key);
        if (i >= 0) slot.inFlight.splice(i, 1);
        remaining--;
        try {
          if (msg.fetchedBytes) opts.onFetched?.(msg.fetchedBytes);
          opts.onResult(msg.result);
        } catch (e) {
          fail(e as Error);
          return;
        }
        if (msg.retire) slot.retiring = true;
        if (!slot.retiring) feed(slot);
        else if (slot.inFlight.length === 0) {
          // Its replacement is forked when it has exited (onExit), so the two never overlap.
          clearTimeout(slot.timer);
          slot.child.send({ type: 'stop' } satisfies ToWorker);
        }
        finishIfDone();
      };
      const onError = (e: Error): void => fail(e);
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        slot.exited = true;
        clearTimeout(slot.timer);
        slots.delete(slot);
        // A worker that died holding (or waiting for) leave for a large decode gives it back.
        largeActive -= slot.large;
        slot.large = 0;
        largeWaiting = largeWaiting.filter((s) => s !== slot);
        grantLarge();
        if (failed || (remaining === 0 && slot.inFlight.length === 0)) return;
        if (slot.inFlight.length === 0 && code === 0) {
          if (slot.retiring && pending.length > 0) spawn();
          return;
        }
        // Unexpected death: the crash is counted against the oldest job in flight; the others may
        // have been decoding or encoding at the same time, so every one of them is retried alone.
        const timedOut = slot.timedOut !== undefined;
        const [running, ...queued] = slot.inFlight;
        for (const j of queued.reverse()) {
          solo.add(j.key);
          pending.push(j);
        }
        if (running) {
          const counts = timedOut ? timeouts : crashes;
          const n = (counts.get(running.key) ?? 0) + 1;
          counts.set(running.key, n);
          if (n >= 2) {
            remaining--;
            try {
              opts.onResult({
                key: running.key,
                ok: false,
                stage: 'decode',
                reason: timedOut ? 'timeout' : 'worker-crashed',
                detail: timedOut
                  ? `the image set ran past --job-timeout (${(opts.jobTimeoutMs ?? 0) / 1000} s) twice; its worker was stopped`
                  : `the worker process died twice on this image (${signal ?? `exit code ${code}`})`,
              });
            } catch (e) {
              fail(e as Error);
              return;
            }
          } else {
            solo.add(running.key);
            pending.push(running);
          }
        }
        if (remaining === 0) {
          finishIfDone();
          return;
        }
        spawn();
      };
      child.on('message', onMessage);
      child.on('error', onError);
      child.on('exit', onExit);
      slot.detach = () => {
        child.off('message', onMessage);
        child.off('error', onError);
        child.off('exit', onExit);
      };
      child.send({ type: 'setup', setup: { stagingDir: opts.stagingDir, remote: opts.remote } } satisfies ToWorker);
      feed(slot);
    };

    if (remaining === 0) {
      resolvePool();
      return;
    }
    const n = Math.max(1, Math.min(opts.workers, jobs.length));
    for (let i = 0; i < n; i++) spawn();
  });
}
