// Loads one source table (CSV, TSV, gzip, a zip with one table, Parquet) into a DuckDB temp table,
// every column VARCHAR, in file order: the temp table's rowid + 1 is the 1-based data record.
// The header is read here (DuckDB's sniffer guesses too freely); the body is parsed strictly by
// DuckDB so a malformed line is reported with its number.
import type { DuckDBConnection } from '@duckdb/node-api';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { isAscii } from 'node:buffer';
import { createGunzip } from 'node:zlib';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { parse as parseCsv } from 'csv-parse/sync';
import { UserError } from '../util/errors.js';
import { csvErrorToUserError } from './duckdb-errors.js';
import { writeNumberedCopy } from './numbered-copy.js';
import { ident, sqlString } from '../util/sql.js';

export interface LoadedTable {
  /** Column names as in the file (deduplicated). */
  columns: string[];
  rows: number;
}

export interface TableReader {
  columns: string[];
  /** A table function call (read_csv/read_parquet) that yields the rows in file order. */
  reader: string;
  /** Resolves when the file's bytes are checked (no NUL byte); await it before storing rows. */
  checked: Promise<void>;
  /** Every byte of the table is ASCII, so trimming a value only ever removes ASCII spaces. */
  ascii: boolean;
  /**
   * Starts reading the same rows with their record number (a Parquet file's own, or a text
   * table's numbered copy written from here on): call it once the table is known to be wanted.
   */
  numbered(): NumberedReader;
}

/**
 * The rows of a table with their 1-based record number in `column`, readable in parallel (a
 * Parquet file's own row numbers, or a text table's numbered copy, sources/numbered-copy.ts).
 * `result` is null where the table cannot be numbered so (gzip, or a text table the copy does not
 * follow): number the rows with row_number() OVER () instead. `cancel` stops a copy still running.
 */
export interface NumberedReader {
  result: Promise<{ reader: string; column: string } | null>;
  cancel(): void;
}

export interface LoadTableOptions {
  /** Field delimiter; default from the extension (',' or tab). */
  delimiter?: string;
  /** false: the file has no header; `columns` names them. */
  header?: boolean;
  columns?: string[];
  /** Folder for unpacked zip entries. */
  tmpDir: string;
  /** The name used in messages (default: the path). */
  displayName?: string;
}

/** The record-number column of a NumberedReader (a name no table column takes). */
function rowColumnFor(names: string[]): string {
  let c = '__cytoimagenet_record';
  while (names.includes(c)) c = `_${c}`;
  return c;
}

function kindOf(file: string): 'parquet' | 'zip' | 'text' {
  const f = file.toLowerCase();
  if (f.endsWith('.parquet')) return 'parquet';
  if (f.endsWith('.zip')) return 'zip';
  return 'text';
}

function defaultDelimiter(file: string): string {
  const f = file.toLowerCase().replace(/\.(gz|zip)$/, '');
  return f.endsWith('.tsv') || f.endsWith('.txt') || f.endsWith('.tab') ? '\t' : ',';
}

async function firstLine(file: string): Promise<string> {
  const gz = file.toLowerCase().endsWith('.gz');
  const stream = gz ? createReadStream(file).pipe(createGunzip()) : createReadStream(file);
  let buf = '';
  for await (const chunk of stream) {
    buf += (chunk as Buffer).toString('utf8');
    const nl = buf.indexOf('\n');
    if (nl >= 0) {
      stream.destroy();
      return buf.slice(0, nl).replace(/\r$/, '');
    }
    if (buf.length > 16 * 1024 * 1024) break;
  }
  return buf.replace(/\r?\n?$/, '');
}

function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((raw, i) => {
    const n = raw.trim() === '' ? `column${i}` : raw.trim();
    const k = seen.get(n) ?? 0;
    seen.set(n, k + 1);
    return k === 0 ? n : `${n}_${k}`;
  });
}

/** Unpacks the single table inside a zip to tmpDir; returns its path. */
export async function unzipSingleTable(zipPath: string, tmpDir: string, displayName = zipPath): Promise<string> {
  const zip = await new Promise<yauzl.ZipFile>((res, rej) =>
    yauzl.open(zipPath, { lazyEntries: true, autoClose: true }, (err, z) => (err || !z ? rej(err) : res(z))),
  ).catch((e: unknown) => {
    throw new UserError(
      `cannot read the zip archive: ${e instanceof Error ? e.message : String(e)}`,
      { file: displayName },
      'expected a .zip holding one .csv or .tsv table',
    );
  });
  return await new Promise<string>((res, rej) => {
    let done = false;
    zip.on('error', (e: Error) =>
      rej(new UserError(`cannot read the zip archive: ${e.message}`, { file: displayName })),
    );
    zip.on('entry', (entry: yauzl.Entry) => {
      if (done || entry.fileName.endsWith('/') || !/\.(csv|tsv|txt)$/i.test(entry.fileName)) {
        zip.readEntry();
        return;
      }
      done = true;
      zip.openReadStream(entry, (err, rs) => {
        if (err || !rs) {
          rej(
            new UserError(`cannot read ${entry.fileName} in the zip archive: ${err?.message ?? 'no stream'}`, {
              file: displayName,
            }),
          );
          return;
        }
        const out = join(tmpDir, `${Date.now()}-${basename(entry.fileName)}`);
        pipeline(rs, createWriteStream(out)).then(
          () => res(out),
          (e: Error) =>
            rej(
              new UserError(
                `cannot unpack ${entry.fileName}: ${e.message}`,
                { file: displayName },
                'the archive may be truncated or corrupt',
              ),
            ),
        );
      });
    });
    zip.on('end', () => {
      if (!done) rej(new UserError('the zip archive holds no .csv/.tsv table', { file: displayName }));
    });
    zip.readEntry();
  });
}

/**
 * Checks the file and its header and returns a reader expression, without reading the body:
 * callers that need one pass (the standard adapter) select from it directly.
 */
export async function openTableReader(
  conn: DuckDBConnection,
  file: string,
  opts: LoadTableOptions,
): Promise<TableReader> {
  const display = opts.displayName ?? file;
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new UserError('table not found', { file: display }, 'paths in a config are relative to the config file');
  }
  const kind = kindOf(file);
  if (kind === 'parquet') {
    try {
      const desc = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
      const names = desc.getRowObjectsJson().map((r) => String(r.column_name));
      const sel = names.map((n) => `CAST(${ident(n)} AS VARCHAR) AS ${ident(n)}`).join(', ');
      const column = rowColumnFor(names);
      return {
        columns: names,
        reader: `(SELECT ${sel} FROM read_parquet(${sqlString(file)}))`,
        checked: Promise.resolve(),
        ascii: false,
        numbered: () => ({
          result: Promise.resolve({
            reader: `(SELECT ${sel}, file_row_number + 1 AS ${ident(column)} FROM read_parquet(${sqlString(file)}, file_row_number=true))`,
            column,
          }),
          cancel: () => undefined,
        }),
      };
    } catch (e) {
      throw new UserError(
        `cannot read the Parquet table: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`,
        { file: display },
      );
    }
  }
  const textFile = kind === 'zip' ? await unzipSingleTable(file, opts.tmpDir, display) : file;
  const delim = opts.delimiter ?? defaultDelimiter(kind === 'zip' ? file.replace(/\.zip$/i, '') : file);
  let names: string[];
  const header = opts.header ?? true;
  if (header) {
    const line = (await firstLine(textFile)).replace(/^\uFEFF/, '');
    if (line.trim() === '') throw new UserError('the table is empty: no header line', { file: display, line: 1 });
    try {
      const parsed = parseCsv(line, { delimiter: delim, relax_quotes: true }) as string[][];
      names = uniqueNames(parsed[0] ?? []);
    } catch (e) {
      throw new UserError(`cannot parse the header: ${e instanceof Error ? e.message : String(e)}`, {
        file: display,
        line: 1,
      });
    }
  } else {
    if (!opts.columns?.length) throw new Error('loadTable: headerless tables need column names');
    names = opts.columns;
  }
  // A plain file's bytes are read once before DuckDB's first pass (memchr and SIMD speed; it also
  // brings the file into the page cache): a NUL is then located exactly, and an all-ASCII table
  // lets the checks skip counting characters. A gzipped one is scanned beside the first pass.
  const gz = textFile.toLowerCase().endsWith('.gz');
  const bytes = gz ? undefined : await scanBytes(textFile);
  const nulFound = bytes && !bytes.nul ? Promise.resolve(null) : findNul(textFile, delim, names, header);
  // Callers await `checked` before they store anything.
  const checked = nulFound.then((nul) => {
    if (!nul) return;
    throw new UserError(
      `a NUL byte (\\0) at character ${nul.character} of line ${nul.line}${nul.field ? `, inside the value of '${nul.field}'` : ''}: values are never cut, so the table is refused`,
      { file: display, line: nul.line, column: nul.field },
      'remove the NUL bytes (e.g. tr -d "\\000" < in.csv > out.csv) or re-export the table as text',
    );
  });
  // Not yet awaited: a rejection before the caller awaits is not "unhandled".
  checked.catch(() => undefined);
  const csvReader = (path: string, columns: string[], recordColumn?: string): string => {
    const spec = [
      ...(recordColumn ? [`${sqlString(recordColumn)}: 'BIGINT'`] : []),
      ...columns.map((n) => `${sqlString(n)}: 'VARCHAR'`),
    ];
    return (
      `read_csv(${sqlString(path)}, header=${header}, delim=${sqlString(delim)}, quote='"', escape='"', ` +
      `strict_mode=true, auto_detect=false, null_padding=false, columns={${spec.join(', ')}})`
    );
  };
  const reader = csvReader(textFile, names);
  // Written beside the first pass over the table (which reads the original, so its messages name
  // the user's file and columns); a table that is gzipped or not copyable is numbered by window.
  const numbered = (): NumberedReader => {
    let stop = false;
    const column = rowColumnFor(names);
    const copy = join(opts.tmpDir, `numbered-${basename(textFile)}`);
    const result = gz
      ? Promise.resolve(null)
      : writeNumberedCopy(textFile, copy, delim, header ? column : null, () => stop).then(
          (done) => (done ? { reader: csvReader(copy, names, column), column } : null),
          () => null, // a copy that cannot be written (disk full, say) only costs the parallel insert
        );
    return { result, cancel: () => void (stop = true) };
  };
  return { columns: names, reader, checked, numbered, ascii: bytes?.ascii === true };
}

/** Where a NUL byte is in a text table: 1-based line and character, and the header field it falls in. */
interface NulAt {
  line: number;
  character: number;
  field?: string;
}

/**
 * Finds the first NUL byte of a text table. DuckDB keeps NUL inside a value, but C strings (SQL
 * literals built from values, other tools reading the export) stop at it, so a value would be cut
 * silently somewhere downstream: such a table is refused, naming the place. memchr-speed scan.
 */
async function findNul(file: string, delim: string, names: string[], header: boolean): Promise<NulAt | null> {
  const gz = file.toLowerCase().endsWith('.gz');
  const chunks: AsyncIterable<Buffer> = gz ? createReadStream(file).pipe(createGunzip()) : readChunks(file);
  let offset = 0;
  let at = -1;
  const seen: Buffer[] = [];
  for await (const chunk of chunks) {
    const i = chunk.indexOf(0);
    if (i >= 0) {
      at = offset + i;
      seen.push(chunk.subarray(0, i));
      break;
    }
    // Only the text since the last newline is needed to place a later NUL.
    const nl = chunk.lastIndexOf(10);
    if (nl >= 0) seen.length = 0;
    seen.push(Buffer.from(nl >= 0 ? chunk.subarray(nl + 1) : chunk));
    offset += chunk.length;
  }
  if (at < 0) return null;
  // The line: count newlines up to the NUL (a second pass, only when there is one).
  let line = 1;
  let counted = 0;
  for await (const chunk of gz ? createReadStream(file).pipe(createGunzip()) : readChunks(file)) {
    const part = chunk.subarray(0, Math.min(chunk.length, at - counted));
    for (let j = part.indexOf(10); j >= 0; j = part.indexOf(10, j + 1)) line++;
    counted += part.length;
    if (counted >= at) break;
  }
  const prefix = Buffer.concat(seen).toString('utf8');
  const before = prefix.slice(prefix.lastIndexOf('\n') + 1);
  // The field: delimiters outside quotes before the NUL (exact when the record starts on this line).
  let field = 0;
  let quoted = false;
  for (const ch of before) {
    if (ch === '"') quoted = !quoted;
    else if (ch === delim && !quoted) field++;
  }
  const name = header && line === 1 ? undefined : names[field];
  return { line, character: [...before].length + 1, field: name };
}

/** One read of a plain file: does it hold a NUL byte, and is every byte ASCII? */
async function scanBytes(file: string): Promise<{ nul: boolean; ascii: boolean }> {
  let ascii = true;
  for await (const chunk of readChunks(file, 8 << 20)) {
    if (chunk.indexOf(0) >= 0) return { nul: true, ascii: false };
    ascii &&= isAscii(chunk);
  }
  return { nul: false, ascii };
}

async function* readChunks(file: string, size = 4 << 20): AsyncIterable<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(size);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead <= 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** Runs SQL that reads a table, turning reader errors into UserErrors naming the file and line. */
export async function runReading(conn: DuckDBConnection, sql: string, file: string): Promise<void> {
  try {
    await conn.run(sql);
  } catch (e) {
    throw csvErrorToUserError(e, file);
  }
}

/** Loads the whole table into a temp table (rowid + 1 = data record number). */
export async function loadTable(
  conn: DuckDBConnection,
  file: string,
  tempName: string,
  opts: LoadTableOptions,
): Promise<LoadedTable> {
  const display = opts.displayName ?? file;
  const { columns, reader, checked } = await openTableReader(conn, file, opts);
  await checked;
  await conn.run(`DROP TABLE IF EXISTS ${ident(tempName)}`);
  await runReading(conn, `CREATE TEMP TABLE ${ident(tempName)} AS SELECT * FROM ${reader}`, display);
  return { columns, rows: await countRows(conn, tempName) };
}

async function countRows(conn: DuckDBConnection, table: string): Promise<number> {
  const r = await conn.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM ${ident(table)}`);
  return Number(r.getRowObjectsJson()[0].n);
}

/** Throws a UserError naming the first of `required` that the table lacks. */
export function requireColumns(loaded: LoadedTable, required: readonly string[], file: string, what = 'column'): void {
  for (const c of required) {
    if (!loaded.columns.includes(c)) {
      throw new UserError(
        `missing ${what} '${c}'`,
        { file, line: 1, column: c },
        `the header has: ${loaded.columns.slice(0, 30).join(', ')}`,
      );
    }
  }
}
