// `cytoimagenet worker`: takes shards of a build's jobs from the BullMQ queue and runs each on a
// local worker pool (worker-pool.ts), the same per-image code and the same crash handling as a
// local build; its processes are kept from one shard to the next. PNGs are staged in the shared
// output folder (temp file + rename, so a shard run twice writes the same bytes again), and the
// shard's results go back to the coordinator as the BullMQ job's return value. Before a shard runs,
// the worker checks that it sees the build's output folder (a marker the coordinator wrote) and the
// shard's source folders; if not, the shard fails with the path and this host's name, and is
// retried on another machine. SIGTERM or SIGINT: the shard in hand is finished, then the worker
// exits; after a SIGKILL the shard's lock lapses and BullMQ hands it to another worker.
// Remote sources are read as the build says (its shards carry --cache, --s3-endpoint and the fetch
// retry settings); `worker --cache DIR` puts this machine's own folder in place of the build's.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { type Job as BullJob, UnrecoverableError, Worker } from 'bullmq';
import { BUILD } from '../defaults.js';
import { validateOptions } from '../util/zod-options.js';
import { type WorkerOptionsInput, workerOptionsSchema } from './options.js';
import { remoteReadSettings, type RemoteReadSettings } from '../sources/fetch/remote-settings.js';
import type { Job, JobResult } from './types.js';
import { runPool, WarmWorkers } from './worker-pool.js';
import {
  MAX_STALLED,
  MOUNT_ERROR_PREFIX,
  PathMap,
  QUEUE_NAME,
  queueConnection,
  redactQueueUrl,
  type ShardData,
  type ShardResult,
  stallTimings,
} from './queue-link.js';

/** The worker's options (options.ts, workerOptionsSchema: the `worker` command's flags), and where its lines go. */
export interface QueueWorkerOptions extends WorkerOptionsInput {
  log?: (line: string) => void;
}

export interface RunningQueueWorker {
  /** Finishes the shard in hand, then stops. */
  stop(): Promise<void>;
}

/** How long a worker that could not see a shared path waits before taking another shard. */
function mountBackoffMs(): number {
  const v = Number(process.env.CYTOIMAGENET_QUEUE_MOUNT_BACKOFF_MS);
  return Number.isFinite(v) && v >= 0 ? v : 30_000;
}

/**
 * How this worker reads a shard's remote sources: the build's settings (its cache folder mapped
 * through --path-map), this machine's --cache and --cache-max-mb in their place when given; for a
 * shard without settings, this process's own (its environment's).
 */
export function shardRemoteSettings(
  shard: RemoteReadSettings | undefined,
  opts: { cache?: string; cacheMaxMb?: number },
  map: PathMap,
): RemoteReadSettings {
  const s = shard
    ? { ...shard, cacheDir: shard.cacheDir === null ? null : map.local(shard.cacheDir) }
    : remoteReadSettings();
  if (opts.cache !== undefined) s.cacheDir = resolve(opts.cache);
  if (opts.cacheMaxMb !== undefined) s.cacheMaxBytes = opts.cacheMaxMb * 1024 * 1024;
  return s;
}

export function startQueueWorker(options: QueueWorkerOptions): RunningQueueWorker {
  const { log: logTo, ...input } = options;
  const opts = validateOptions(workerOptionsSchema, input, 'worker');
  const log = logTo ?? ((l: string) => process.stdout.write(`${l}\n`));
  const map = PathMap.parse(opts.pathMap);
  const host = hostname();
  const warm = new WarmWorkers(opts.concurrency);
  const { lockMs, stalledIntervalMs } = stallTimings();
  let shards = 0;
  let paused = false;

  const mountFailure = (message: string): Error => {
    log(`worker: ${message}`);
    // Let machines that do see the path take the next shards.
    if (!paused) {
      paused = true;
      void worker.pause(true).then(() =>
        setTimeout(() => {
          paused = false;
          worker.resume();
        }, mountBackoffMs()).unref(),
      );
    }
    return new Error(message);
  };

  const processShard = async (job: BullJob<ShardData, ShardResult>): Promise<ShardResult> => {
    const d = job.data;
    // Staging sits beside the marker in OUT/.build: a shard cannot point the worker's writes elsewhere.
    if (d.v !== 1 || d.stagingDir !== join(dirname(d.marker.path), 'staged') || !isAbsolute(d.stagingDir))
      throw new UnrecoverableError(`shard ${job.id} is not a shard of this tool version's builds; not run`);
    const marker = map.local(d.marker.path);
    let content: string | null = null;
    try {
      content = readFileSync(marker, 'utf8');
    } catch {
      content = null;
    }
    if (content !== d.marker.content)
      throw mountFailure(
        `the build's output folder is ${MOUNT_ERROR_PREFIX} ${host}: ${marker} ${content === null ? 'is missing' : 'belongs to another build'}; mount the shared storage there, or start the worker with --path-map FROM=TO (${d.marker.path} on the coordinator)`,
      );
    for (const p of d.probes) {
      const here = map.local(p);
      if (!existsSync(here))
        throw mountFailure(
          `source folder ${here} is ${MOUNT_ERROR_PREFIX} ${host}${here === p ? '' : ` (${p} on the coordinator)`}; mount the shared storage there, or start the worker with --path-map`,
        );
    }
    const jobs: Job[] = map.empty ? d.jobs : d.jobs.map((j) => ({ ...j, files: j.files.map((f) => map.local(f)) }));
    const results: JobResult[] = [];
    const startedAt = Date.now();
    await runPool(jobs, {
      workers: opts.concurrency,
      warm,
      keep: true,
      stagingDir: map.local(d.stagingDir),
      // The build's watchdog (docs/build.md, --job-timeout): a stuck image ends in a reject here too.
      jobTimeoutMs: d.jobTimeoutMs ?? BUILD.jobTimeoutSeconds * 1000,
      remote: shardRemoteSettings(d.remote, opts, map),
      onResult: (r) => results.push(map.empty || r.ok ? r : { ...r, detail: map.shared(r.detail) }),
    });
    const endedAt = Date.now();
    shards++;
    log(`worker: shard ${job.id}: ${jobs.length} image sets in ${((endedAt - startedAt) / 1000).toFixed(1)} s`);
    // Test hook: die after the shard's files are staged and before it is reported, so BullMQ
    // delivers it again (at-least-once delivery).
    if (Number(process.env.CYTOIMAGENET_QUEUE_WORKER_CRASH_AFTER) === shards) process.kill(process.pid, 'SIGKILL');
    return { host, pid: process.pid, results, startedAt, endedAt };
  };

  const worker = new Worker<ShardData, ShardResult>(QUEUE_NAME, processShard, {
    connection: queueConnection(opts.queue),
    concurrency: 1,
    lockDuration: lockMs,
    stalledInterval: stalledIntervalMs,
    maxStalledCount: MAX_STALLED,
  });
  let lastError = 0;
  worker.on('error', (e) => {
    // ioredis reports every failed reconnect; one line per 10 s is enough (it never holds the URL).
    if (Date.now() - lastError < 10_000) return;
    lastError = Date.now();
    log(`worker: queue connection: ${e.message} (retrying)`);
  });
  log(
    `worker: ${host} (process ${process.pid}) takes shards from ${redactQueueUrl(opts.queue)} with ${opts.concurrency} worker process${opts.concurrency === 1 ? '' : 'es'}`,
  );

  let stopping: Promise<void> | null = null;
  return {
    stop: () => {
      stopping ??= (async () => {
        await worker.close();
        warm.release();
      })();
      return stopping;
    },
  };
}
