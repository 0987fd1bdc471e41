// The features table, streamed row by row so memory stays bounded: key columns, then f0..fN
// (brief contract 5). CSV is written to a temporary name and renamed; Parquet is converted from
// that CSV by DuckDB (which streams) with key columns VARCHAR and features FLOAT.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { UserError } from '../util/errors.js';
import { tempNameFor } from '../util/fs-atomic.js';

export type TableFormat = 'csv' | 'parquet';

export function tableFormatOf(path: string): TableFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  throw new UserError(`unknown table format '${ext || '(no extension)'}'`, { file: path }, 'name the output .csv or .parquet');
}

export function csvField(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Text that reads back as the same float32 value: 9 significant digits always suffice (and are cheap). */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  return v === 0 ? '0' : v.toPrecision(9);
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export class FeatureTableWriter {
  readonly path: string;
  readonly format: TableFormat;
  private readonly keyColumns: string[];
  private dim = -1;
  private readonly csvPath: string;
  private stream?: WriteStream;
  private rows = 0;

  constructor(path: string, keyColumns: readonly string[]) {
    this.path = path;
    this.format = tableFormatOf(path);
    this.keyColumns = [...keyColumns];
    this.csvPath = tempNameFor(this.format === 'csv' ? path : `${path}.csv`);
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
    this.stream = createWriteStream(this.csvPath);
    const header = [...this.keyColumns, ...Array.from({ length: dim }, (_, i) => `f${i}`)];
    await this.write(header.map(csvField).join(',') + '\n');
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
      throw new UserError(`image set '${key.join(', ')}' gave ${features.length} features but earlier sets gave ${this.dim}`, {}, 'with concat methods every image set needs the same number of channels');
    }
    const parts = key.map(csvField);
    for (let i = 0; i < features.length; i++) parts.push(formatFloat32(features[i]));
    await this.write(parts.join(',') + '\n');
    this.rows++;
  }

  private async closeStream(): Promise<void> {
    const st = this.stream;
    if (!st) return;
    await new Promise<void>((res, rej) => st.end((e?: Error | null) => (e ? rej(e) : res())));
  }

  /** Finish: the table appears under its final name only now. */
  async finish(): Promise<void> {
    if (this.dim < 0) throw new UserError('no image set gave features; nothing written', { file: this.path });
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
      await this.closeStream();
    } catch {
      /* already failing */
    }
    await rm(this.csvPath, { force: true });
  }
}
