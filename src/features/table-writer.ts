// The features table, streamed row by row so memory stays bounded: key columns, then f0..fN
// (docs/features.md). CSV is written to a temporary name and renamed; Parquet is converted from
// that CSV by DuckDB (which streams) with key columns VARCHAR and features FLOAT.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DuckDBInstance } from '@duckdb/node-api';
import { UserError } from '../util/errors.js';
import { tempNameFor } from '../util/fs-atomic.js';
import { sqlString } from '../util/sql.js';
import { csvField, csvRow } from './csv-format.js';
import type { FromRowWorker, ToRowWorker } from './csv-row-protocol.js';

export { csvField, formatFloat32 } from './csv-format.js';

export type TableFormat = 'csv' | 'parquet';

export function tableFormatOf(path: string): TableFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  throw new UserError(
    `unknown table format '${ext || '(no extension)'}'`,
    { file: path },
    'name the output .csv or .parquet',
  );
}

export interface TableWriterOptions {
  /**
   * Format and write the rows in a worker thread (default true): ~0.15 ms of float formatting per
   * 1,280-value row then overlaps inference instead of running between session.run calls. The
   * bytes written are the same either way.
   */
  thread?: boolean;
}

/** Rows queued in the row thread before writeRow waits (about 5 MB of 1,280-float rows). */
const MAX_QUEUED_ROWS = 1024;

export class FeatureTableWriter {
  readonly path: string;
  readonly format: TableFormat;
  private readonly keyColumns: string[];
  private dim = -1;
  private readonly csvPath: string;
  private stream?: WriteStream;
  private rows = 0;
  private readonly rowThread?: RowThread;

  constructor(path: string, keyColumns: readonly string[], options: TableWriterOptions = {}) {
    this.path = path;
    this.format = tableFormatOf(path);
    this.keyColumns = [...keyColumns];
    this.csvPath = tempNameFor(this.format === 'csv' ? path : `${path}.csv`);
    // started now: its start-up overlaps whatever comes before the first row (opening the model)
    if (options.thread ?? true) this.rowThread = new RowThread();
  }

  get rowCount(): number {
    return this.rows;
  }

  get featureDim(): number {
    return this.dim;
  }

  private async open(dim: number): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    this.dim = dim;
    const header =
      [...this.keyColumns, ...Array.from({ length: dim }, (_, i) => `f${i}`)].map(csvField).join(',') + '\n';
    if (this.rowThread) {
      this.rowThread.post({ type: 'open', path: this.csvPath, header });
      return;
    }
    this.stream = createWriteStream(this.csvPath);
    await this.write(header);
  }

  private write(s: string): Promise<void> {
    const st = this.stream!;
    return new Promise((res, rej) => {
      const ok = st.write(s, (e) => (e ? rej(e) : undefined));
      if (ok) res();
      else st.once('drain', () => res());
    });
  }

  /** Append one row; the first row fixes the feature width. */
  async writeRow(key: readonly string[], features: ArrayLike<number>): Promise<void> {
    if (this.dim < 0) await this.open(features.length);
    if (features.length !== this.dim) {
      throw new UserError(
        `image set '${key.join(', ')}' gave ${features.length} features but earlier sets gave ${this.dim}`,
        {},
        'with concat methods every image set needs the same number of channels',
      );
    }
    if (this.rowThread) {
      // posting copies the values (the whole underlying buffer of a view, hence the slice)
      const values =
        features instanceof Float32Array
          ? features.byteLength === features.buffer.byteLength
            ? features
            : features.slice()
          : Float64Array.from(features);
      await this.rowThread.row([...key], values);
    } else {
      await this.write(csvRow(key, features));
    }
    this.rows++;
  }

  private async closeStream(): Promise<void> {
    if (this.rowThread) {
      await this.rowThread.end();
      return;
    }
    const st = this.stream;
    if (!st) return;
    await new Promise<void>((res, rej) => st.end((e?: Error | null) => (e ? rej(e) : res())));
  }

  /** Finish: the table appears under its final name only now. */
  async finish(): Promise<void> {
    if (this.dim < 0) {
      await this.rowThread?.stop();
      throw new UserError('no image set gave features; nothing written', { file: this.path });
    }
    await this.closeStream();
    if (this.format === 'csv') {
      await rename(this.csvPath, this.path);
      return;
    }
    const tmp = tempNameFor(this.path);
    const instance = await DuckDBInstance.create(':memory:', { memory_limit: '1GB', threads: '2' });
    const conn = await instance.connect();
    try {
      const cols = [
        ...this.keyColumns.map((c) => `${sqlString(c)}: 'VARCHAR'`),
        ...Array.from({ length: this.dim }, (_, i) => `'f${i}': 'FLOAT'`),
      ].join(', ');
      await conn.run(
        `COPY (SELECT * FROM read_csv(${sqlString(this.csvPath)}, header = true, delim = ',', quote = '"', escape = '"', columns = {${cols}})) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      await rename(tmp, this.path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    } finally {
      conn.closeSync();
      instance.closeSync();
      await rm(this.csvPath, { force: true });
    }
  }

  /** Abandon: remove temporary files. */
  async abort(): Promise<void> {
    try {
      if (this.rowThread) await this.rowThread.stop();
      else await this.closeStream();
    } catch {
      /* already failing */
    }
    await rm(this.csvPath, { force: true });
  }
}

/**
 * The row writer thread (csv-row-worker.ts). Rows are posted without waiting; writeRow waits only
 * when MAX_QUEUED_ROWS are not yet written, which bounds memory. A write error is reported by the
 * next writeRow or by finish.
 */
class RowThread {
  private readonly worker: Worker;
  private queued = 0;
  private failure?: Error;
  private waiters: { ready: () => boolean; resolve: () => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  private stopped = false;

  constructor() {
    this.worker = new Worker(new URL('./csv-row-worker.js', import.meta.url));
    this.worker.unref(); // only waiting for it (wait) keeps the process alive
    this.worker.on('message', (msg: FromRowWorker) => {
      if (msg.type === 'written') this.queued -= msg.rows;
      else if (msg.type === 'closed') this.closed = true;
      else this.fail(new Error(`writing the features table: ${msg.message}`));
      this.wake();
    });
    this.worker.on('error', (e: Error) => this.fail(new Error(`the table writer thread failed: ${e.message}`)));
    this.worker.on('exit', (code) => {
      if (!this.stopped) this.fail(new Error(`the table writer thread stopped (exit code ${code})`));
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.wake();
  }

  private wake(): void {
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (this.failure) w.reject(this.failure);
      else if (w.ready()) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
    // referenced while waited for or being stopped: an unreferenced worker's awaited exit never comes
    if (!this.waiters.length && !this.stopped) this.worker.unref();
  }

  private wait(ready: () => boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (ready()) return Promise.resolve();
    this.worker.ref();
    return new Promise((resolve, reject) => this.waiters.push({ ready, resolve, reject }));
  }

  post(msg: ToRowWorker): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(msg);
  }

  async row(key: string[], features: Float32Array | Float64Array): Promise<void> {
    this.post({ type: 'row', key, features });
    this.queued++;
    if (this.queued >= MAX_QUEUED_ROWS) await this.wait(() => this.queued < MAX_QUEUED_ROWS / 2);
  }

  /** All rows written and the file closed; then the thread is stopped. */
  async end(): Promise<void> {
    this.post({ type: 'end' });
    try {
      await this.wait(() => this.closed);
    } finally {
      // the file is complete once 'closed' has come; the thread's exit need not be waited for
      void this.stop();
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.worker.ref();
    await this.worker.terminate();
  }
}
