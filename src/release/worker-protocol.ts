// Messages between the build's main process and its worker processes (JSON over the IPC channel).
import type { Job, JobResult } from './types.js';

export interface WorkerSetup {
  /** Absolute folder the worker stages PNGs in. */
  stagingDir: string;
}

export type ToWorker = { type: 'setup'; setup: WorkerSetup } | { type: 'job'; job: Job } | { type: 'stop' };

export type FromWorker = { type: 'result'; result: JobResult } | { type: 'fatal'; message: string };
