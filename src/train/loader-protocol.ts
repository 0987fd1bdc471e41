// Messages between loader-pool.ts and loader-worker.ts.

export type ToLoader =
  | {
      type: 'load';
      id: number;
      /** The batch tensor (NHWC float32, 3 channels), shared by every thread. */
      x: SharedArrayBuffer;
      /** Image position in the batch. */
      slot: number;
      file: string;
      size: number;
      /** Rotation in degrees (training), or undefined (validation). */
      angle?: number;
    }
  | { type: 'stop' };

export type FromLoader = { type: 'done'; id: number } | { type: 'failed'; id: number; message: string; file?: string };
