// Where chunks are prepared (decoded, normalised, packed): in a worker thread, so that the work
// overlaps session.run, which blocks the main thread; or on the main thread itself. Both run
// prepareChunk, so the tensors, their order and the errors are the same.
import { Worker } from 'node:worker_threads';
import { fromWire, prepareChunk, TensorBuffers, type PrepConfig, type PreparedItem } from './chunk-prep.js';
import type { FromPrepWorker, ToPrepWorker } from './prep-protocol.js';

export interface ChunkPreparer {
  /** Prepare one chunk (each element: one image set's channel files). */
  prepare(sets: readonly (readonly string[])[], config: PrepConfig): Promise<PreparedItem[]>;
  /** A call's tensor buffer is no longer needed: reuse it for a later chunk. */
  recycle(buffer: ArrayBufferLike): void;
  close(): Promise<void>;
}

export class InThreadPreparer implements ChunkPreparer {
  private readonly buffers = new TensorBuffers();
  prepare(sets: readonly (readonly string[])[], config: PrepConfig): Promise<PreparedItem[]> {
    return prepareChunk(sets, config, this.buffers);
  }
  recycle(buffer: ArrayBufferLike): void {
    this.buffers.give(buffer);
  }
  async close(): Promise<void> {}
}

/**
 * One worker thread. It is started by the constructor and loads its modules (sharp, the imaging
 * library) on its own, so starting it before opening the model hides that time. Chunks are
 * answered in the order asked; the caller keeps at most two in flight (one being run, one being
 * prepared), which bounds memory.
 */
export class WorkerPreparer implements ChunkPreparer {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (items: PreparedItem[]) => void; reject: (e: Error) => void }
  >();
  private spare: SharedArrayBuffer[] = [];
  private nextId = 0;
  private failure?: Error;
  private closing = false;
  private isReady = false;
  private readonly started: Promise<void>;
  private markReady: () => void = () => undefined;
  private markFailed: (e: Error) => void = () => undefined;

  constructor() {
    this.worker = new Worker(new URL('./prep-worker.js', import.meta.url));
    this.started = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      this.markFailed = reject;
    });
    this.started.catch(() => undefined); // reported through ready() or prepare()
    this.worker.on('message', (msg: FromPrepWorker) => {
      if (msg.type === 'ready') {
        this.isReady = true;
        this.updateRef();
        this.markReady();
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      this.updateRef();
      if (msg.type === 'failed') {
        p.reject(fromWire(msg.error));
        return;
      }
      p.resolve(
        msg.items.map(
          (it): PreparedItem =>
            it.kind === 'error' ? { kind: 'error', index: it.index, error: fromWire(it.error) } : it,
        ),
      );
    });
    this.worker.on('error', (e: Error) => this.fail(new Error(`the preprocessing worker failed: ${e.message}`)));
    this.worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`the preprocessing worker stopped (exit code ${code})`));
    });
  }

  /**
   * Only a worker still starting, one with a chunk pending or one being closed keeps the process
   * alive: an idle one must not stop a program from ending.
   */
  private updateRef(): void {
    if (this.closing || this.pending.size > 0 || !this.isReady) this.worker.ref();
    else this.worker.unref();
  }

  /** Resolves once the worker has loaded its modules (rejects if it failed first). */
  ready(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.started;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.markFailed(this.failure);
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  prepare(sets: readonly (readonly string[])[], config: PrepConfig): Promise<PreparedItem[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error('the preprocessing worker is closed'));
    const id = this.nextId++;
    const buffers = this.spare;
    this.spare = [];
    const msg: ToPrepWorker = { type: 'prepare', id, sets: sets.map((s) => [...s]), config, buffers };
    return new Promise<PreparedItem[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.updateRef();
      this.worker.postMessage(msg);
    });
  }

  recycle(buffer: ArrayBufferLike): void {
    if (buffer instanceof SharedArrayBuffer && this.spare.length < 4) this.spare.push(buffer);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.fail(new Error('the preprocessing worker is closed'));
    this.updateRef(); // closing: referenced until it has exited, or the awaited exit never comes
    await this.worker.terminate();
  }
}
