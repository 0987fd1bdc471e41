// Reading a features table (docs/features.md): key columns, then numeric feature columns. CSV (comma or
// tab separated, header row) or Parquet, both read by DuckDB and streamed chunk by chunk.
// Every problem is reported with the file, the line (CSV) or row (Parquet) and the column.
import { open } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { DuckDBInstance, type DuckDBConnection, type DuckDBVector } from '@duckdb/node-api';
import { UserError } from '../util/errors.js';
import { ident, sqlString } from '../util/sql.js';
import type { Matrix } from './matrix.js';

export interface KeySpec {
  /** Key columns that must be present, e.g. ['split', 'label']. */
  required: readonly string[];
  /** Key columns used when present (e.g. 'id'); never read as features. */
  optional?: readonly string[];
}

export interface FeaturesTable {
  file: string;
  format: 'csv' | 'parquet';
  /** Key column names present, in KeySpec order (required first). */
  keyColumns: string[];
  /** keys[c][row]: the value of key column c. */
  keys: string[][];
  featureColumns: string[];
  matrix: Matrix;
  /** Where row r is in the file, for messages: "line N" (CSV) or "row N" (Parquet). */
  lineOf(row: number): number;
}

function formatOf(file: string): 'csv' | 'parquet' {
  const ext = extname(file).toLowerCase();
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') return 'csv';
  throw new UserError(
    `unknown features table format '${ext || '(no extension)'}'`,
    { file },
    'give a .csv, .tsv or .parquet file',
  );
}

async function firstLine(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let text = '';
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return text;
      pos += bytesRead;
      text += buf.subarray(0, bytesRead).toString('utf8');
      const nl = text.indexOf('\n');
      if (nl >= 0)
        return text
          .slice(0, nl)
          .replace(/\r$/, '')
          .replace(/^\uFEFF/, '');
      if (pos > 64 << 20) throw new UserError('the header line is longer than 64 MB', { file, line: 1 });
    }
  } finally {
    await fh.close();
  }
}

/**
 * The column names of a table file, and its FROM clause given which columns are keys. CSV feature
 * columns are parsed as DOUBLE by DuckDB itself (text → number is most of the reading time).
 */
async function source(
  con: DuckDBConnection,
  file: string,
  format: 'csv' | 'parquet',
): Promise<{ from: (keys: readonly string[]) => string; columns: string[] }> {
  if (format === 'parquet') {
    const from = `read_parquet(${sqlString(file)})`;
    const r = await con.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`);
    return { from: () => from, columns: r.getRows().map((row) => String(row[0])) };
  }
  const header = await firstLine(file);
  if (!header.trim()) throw new UserError('the table is empty (no header line)', { file, line: 1 });
  const delim = header.includes('\t') && !header.includes(',') ? '\t' : ',';
  const columns = (parse(header, { delimiter: delim, relax_quotes: true }) as string[][])[0].map((c) => c.trim());
  const seen = new Set<string>();
  columns.forEach((c, i) => {
    if (!c) throw new UserError(`column ${i + 1} has no name`, { file, line: 1 });
    if (seen.has(c)) throw new UserError('column name appears twice', { file, line: 1, column: c });
    seen.add(c);
  });
  // Explicit columns and no sniffing: a ragged line or a bad number then fails with its line.
  const from = (keys: readonly string[]): string => {
    const cols = `{${columns.map((c) => `${sqlString(c)}: ${keys.includes(c) ? "'VARCHAR'" : "'DOUBLE'"}`).join(', ')}}`;
    return `read_csv(${sqlString(file)}, auto_detect=false, header=true, delim=${sqlString(delim)}, quote='"', escape='"', columns=${cols}, strict_mode=true, null_padding=false)`;
  };
  return { from, columns };
}

/** The values of a DOUBLE vector without a call per value (falls back to getItem). */
function doubles(v: DuckDBVector, n: number): Float64Array {
  const items = (v as unknown as { items?: unknown }).items;
  if (items instanceof Float64Array && items.length >= n) return items;
  return Float64Array.from({ length: n }, (_, i) => {
    const x = v.getItem(i);
    return typeof x === 'number' ? x : NaN;
  });
}

function duckError(e: unknown, file: string, columns: readonly string[]): UserError {
  const msg = e instanceof Error ? e.message : String(e);
  const line = /CSV Error on Line: (\d+)/.exec(msg);
  const count = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(msg);
  const conv = /Error when converting column "([^"]*)"\. Could not convert string "([^"]*)"/.exec(msg);
  if (line && conv) {
    return new UserError(
      `feature value is not a number: '${conv[2]}'`,
      { file, line: Number(line[1]), column: conv[1] },
      'every column after the key columns must hold finite numbers',
    );
  }
  if (line && count) {
    const expected = Number(count[1]);
    const found = Number(count[2]);
    const column = found < expected ? columns[found] : columns[expected - 1];
    return new UserError(
      `ragged table: this line has ${found} fields but the header has ${expected}`,
      { file, line: Number(line[1]), column },
      found < expected ? `the line stops before column '${column}'` : `the line runs past the last column '${column}'`,
    );
  }
  return new UserError(`cannot read the table: ${msg.split('\n')[0]}`, {
    file,
    ...(line ? { line: Number(line[1]) } : {}),
  });
}

/** Read a features table; every non-key column must be numeric and finite. */
export async function readFeaturesTable(path: string, spec: KeySpec): Promise<FeaturesTable> {
  const file = resolve(path);
  if (!existsSync(file)) throw new UserError('features table not found', { file });
  const format = formatOf(file);
  const lineOf = (row: number): number => (format === 'csv' ? row + 2 : row + 1);
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    let src: { from: (keys: readonly string[]) => string; columns: string[] };
    try {
      src = await source(con, file, format);
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw duckError(e, file, []);
    }
    for (const k of spec.required) {
      if (!src.columns.includes(k)) {
        throw new UserError(
          `key column missing (the table has: ${src.columns.slice(0, 6).join(', ')}${src.columns.length > 6 ? ', …' : ''})`,
          { file, line: format === 'csv' ? 1 : undefined, column: k },
        );
      }
    }
    const keyColumns = [...spec.required, ...(spec.optional ?? []).filter((k) => src.columns.includes(k))];
    const featureColumns = src.columns.filter((c) => !keyColumns.includes(c));
    if (featureColumns.length === 0)
      throw new UserError('no feature columns after the key columns', {
        file,
        column: keyColumns[keyColumns.length - 1],
      });
    // Missing and non-numeric values arrive as NaN (checked below, then looked up for the message).
    const select = [
      ...keyColumns.map((k) => `CAST(${ident(k)} AS VARCHAR)`),
      ...featureColumns.map((c) => `COALESCE(TRY_CAST(${ident(c)} AS DOUBLE), 'NaN'::DOUBLE)`),
    ].join(', ');
    const from = src.from(keyColumns);
    const nk = keyColumns.length;
    const nf = featureColumns.length;
    const keys: string[][] = keyColumns.map(() => []);
    const parts: Float32Array[] = [];
    let rows = 0;
    let bad: { row: number; col: number } | null = null;
    try {
      const result = await con.stream(`SELECT ${select} FROM ${from}`);
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const n = chunk.rowCount;
        for (let c = 0; c < nk; c++) {
          const v = chunk.getColumnVector(c);
          for (let r = 0; r < n; r++) {
            const x = v.getItem(r);
            if (x === null || x === '')
              throw new UserError('missing key value', { file, line: lineOf(rows + r), column: keyColumns[c] });
            keys[c].push(String(x));
          }
        }
        const block = new Float32Array(n * nf);
        for (let c = 0; c < nf && !bad; c++) {
          const x = doubles(chunk.getColumnVector(nk + c), n);
          for (let r = 0; r < n; r++) {
            const v = x[r];
            // Features are held as float32: a double beyond its range is as unusable as NaN.
            if (!Number.isFinite(Math.fround(v))) {
              bad = { row: rows + r, col: c };
              break;
            }
            block[r * nf + c] = v;
          }
        }
        if (bad) break;
        parts.push(block);
        rows += n;
      }
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw duckError(e, file, src.columns);
    }
    if (bad) {
      const column = featureColumns[bad.col];
      const raw = await con.runAndReadAll(
        `SELECT CAST(${ident(column)} AS VARCHAR) FROM ${from} LIMIT 1 OFFSET ${bad.row}`,
      );
      const value = raw.getRows()[0]?.[0];
      const text = value === null || value === undefined ? '' : String(value);
      const what =
        text.trim() === ''
          ? 'missing feature value'
          : Number.isNaN(Number(text)) && !/^[+-]?(nan|inf(inity)?)$/i.test(text.trim())
            ? `feature value is not a number: '${text}'`
            : `feature value is not finite: '${text}'`;
      throw new UserError(
        what,
        { file, line: lineOf(bad.row), column },
        'every column after the key columns must hold finite numbers',
      );
    }
    if (rows === 0) throw new UserError('the table has no rows', { file });
    const data = new Float32Array(rows * nf);
    let off = 0;
    for (const p of parts) {
      data.set(p, off);
      off += p.length;
    }
    return { file, format, keyColumns, keys, featureColumns, matrix: { rows, cols: nf, data }, lineOf };
  } finally {
    con.closeSync();
    db.closeSync();
  }
}
