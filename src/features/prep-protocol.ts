// Messages between the extraction loop and its preprocessing worker.
import type { PackedCall, PrepConfig, WireError } from './chunk-prep.js';

export type ToPrepWorker =
  | {
      type: 'prepare';
      id: number;
      sets: string[][];
      config: PrepConfig;
      /** Tensor buffers (shared memory) whose calls are done, handed back for reuse. */
      buffers: SharedArrayBuffer[];
    }
  | { type: 'stop' };

export type WirePreparedItem =
  | { kind: 'group'; calls: PackedCall[]; sets: { index: number; images: number }[] }
  | { kind: 'error'; index: number; error: WireError };

export type FromPrepWorker =
  | { type: 'ready'; id: -1 }
  | { type: 'prepared'; id: number; items: WirePreparedItem[] }
  | { type: 'failed'; id: number; error: WireError };
