// The training loader in a pool of worker threads sized to the cores: each thread decodes, resizes,
// rotates and packs whole images into the batch tensor, which lives in shared memory, so the main
// thread (which also drives the engine) does no per-pixel work. Every image goes through
// pipeline.ts's packImage, as on the in-thread path, so a batch is byte-identical whatever the
// thread count; only which thread computes which image changes.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UserError } from '../util/errors.js';
import type { FromLoader, ToLoader } from './loader-protocol.js';
import { type Batch, type BatchOptions, loadBatch } from './pipeline.js';
import type { TrainItem } from './release.js';

const WORKER_ENTRY = fileURLToPath(new URL('./loader-worker.js', import.meta.url));

export interface BatchLoader {
  load(items: readonly TrainItem[], options: BatchOptions): Promise<Batch>;
  close(): Promise<void>;
}

/** Threads the loader uses by default: one per core (the engine's own threads share them). */
export function defaultLoaderThreads(): number {
  return availableParallelism();
}

/** A loader for `threads` threads: 0 keeps the work on this thread (libvips still decodes on its own). */
export function batchLoader(threads: number): BatchLoader {
  return threads > 0 ? new ThreadPoolLoader(threads) : { load: loadBatch, close: async () => undefined };
}

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
}

export class ThreadPoolLoader implements BatchLoader {
  private readonly workers: Worker[] = [];
  /** Images each thread has been sent and not yet answered (the least loaded gets the next one). */
  private readonly busy: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure?: Error;

  constructor(readonly threads: number) {
    for (let w = 0; w < threads; w++) {
      const worker = new Worker(WORKER_ENTRY);
      worker.on('message', (m: FromLoader) => this.answer(w, m));
      worker.on('error', (e) => this.fail(e));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`training loader thread ${w} exited with code ${code}`));
      });
      this.workers.push(worker);
      this.busy.push(0);
    }
  }

  async load(items: readonly TrainItem[], options: BatchOptions): Promise<Batch> {
    if (this.failure) throw this.failure;
    const { size } = options;
    const shared = new SharedArrayBuffer(items.length * size * size * 3 * Float32Array.BYTES_PER_ELEMENT);
    const labels = Int32Array.from(items, (it) => it.classIndex);
    await Promise.all(
      items.map(
        (item, slot) =>
          new Promise<void>((resolve, reject) => {
            const id = this.nextId++;
            this.pending.set(id, { resolve, reject });
            const w = this.leastBusy();
            this.busy[w]++;
            const msg: ToLoader = {
              type: 'load',
              id,
              x: shared,
              slot,
              file: item.file,
              size,
              angle: options.angles?.[slot],
            };
            this.workers[w].postMessage(msg);
          }),
      ),
    );
    return { x: new Float32Array(shared), labels, n: items.length, size };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        w.postMessage({ type: 'stop' } satisfies ToLoader);
        await w.terminate();
      }),
    );
  }

  private leastBusy(): number {
    let best = 0;
    for (let w = 1; w < this.busy.length; w++) if (this.busy[w] < this.busy[best]) best = w;
    return best;
  }

  private answer(w: number, m: FromLoader): void {
    this.busy[w]--;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === 'done') p.resolve();
    else p.reject(m.file !== undefined ? new UserError(m.message, { file: m.file }) : new Error(m.message));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
