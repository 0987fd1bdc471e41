// The seam between the build's coordinator and whatever runs its jobs. The coordinator plans jobs,
// hands them to a distributor, and journals each result it is given; the journal, the placing of
// images and the tables never leave it, so a release is byte-identical whoever ran the jobs.
// Two distributors: the local worker pool (worker-pool.ts) and a BullMQ queue that machines
// running `cytoimagenet worker` take shards of jobs from (queue-distributor.ts). Each queue worker
// runs a local pool per shard, so whatever the pool does about a job (a crashed worker retried
// alone then rejected `worker-crashed`, a watchdog's timeout) happens the same way on both.
import type { Job, JobResult } from './types.js';
import { runPool, WarmWorkers } from './worker-pool.js';
import type { RemoteReadSettings } from '../sources/fetch/remote-settings.js';

export interface RunContext {
  /** Absolute folder, in the coordinator's view of the filesystem, that jobs stage PNGs in. */
  stagingDir: string;
  /** Called once per job (never twice, whatever the delivery), with the host that ran it. */
  onResult: (result: JobResult, host: string) => void;
  /** Milliseconds one image set may run before its worker is stopped (build --job-timeout). */
  jobTimeoutMs?: number;
  /** Bytes fetched over HTTP by the workers, as they report them (remote sources; local pool only). */
  onFetched?: (bytes: number) => void;
  /** How the build reads remote sources: a queue's shards carry it to the workers (a local pool inherits it). */
  remote?: RemoteReadSettings;
}

export interface Distributor {
  /** Where jobs run, for the log (never holds a password). */
  readonly where: string;
  /** Runs every job and reports each result once; rejects only when the build must stop. */
  run(jobs: readonly Job[], ctx: RunContext): Promise<void>;
  /** Frees processes and connections; safe to call twice. */
  close(): Promise<void>;
}

/** The local worker pool: N processes on this machine, forked at construction (they load while the inputs are read). */
export class LocalDistributor implements Distributor {
  readonly where: string;
  private readonly warm: WarmWorkers;

  constructor(private readonly workers: number) {
    this.warm = new WarmWorkers(workers);
    this.where = `${workers} local worker process${workers === 1 ? '' : 'es'}`;
  }

  run(jobs: readonly Job[], ctx: RunContext): Promise<void> {
    return runPool(jobs, {
      workers: this.workers,
      warm: this.warm,
      stagingDir: ctx.stagingDir,
      jobTimeoutMs: ctx.jobTimeoutMs,
      remote: ctx.remote,
      onResult: (r) => ctx.onResult(r, 'local'),
      onFetched: ctx.onFetched,
    });
  }

  async close(): Promise<void> {
    this.warm.release();
  }
}
