// Messages between the build's main process and its worker processes (JSON over the IPC channel).
import type { RemoteReadSettings } from '../sources/fetch/remote-settings.js';
import type { Job, JobResult } from './types.js';

export interface WorkerSetup {
  /** Absolute folder the worker stages PNGs in. */
  stagingDir: string;
  /** How to read remote sources (a queue worker's shards carry the build's); absent: the environment's. */
  remote?: RemoteReadSettings;
}

export type ToWorker =
  | { type: 'setup'; setup: WorkerSetup }
  | { type: 'job'; job: Job }
  | { type: 'stop' }
  /** The worker may now decode the large image set it asked for. */
  | { type: 'large-granted' };

export type FromWorker =
  /** fetchedBytes: bytes this worker fetched over HTTP since its previous result (the progress bar's). */
  /** retire: this worker's memory passed BUILD.workerRetireMb; replace it once its jobs are done. */
  | { type: 'result'; result: JobResult; fetchedBytes?: number; retire?: boolean }
  | { type: 'fatal'; message: string }
  /** Before decoding a large image set (IMAGING.largeDecodePixels): wait for 'large-granted'. */
  | { type: 'large-acquire' }
  /** That set's pixels are no longer held. */
  | { type: 'large-release' };
