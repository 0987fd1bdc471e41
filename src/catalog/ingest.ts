// Ingest: each config is staged by its adapter, then validated, cleaned (synonyms, lower case,
// gene suffix), checked against the image folder and stored, all in ONE transaction per config,
// so a bad source leaves the catalog exactly as it was. Re-ingesting replaces rows by dir_name.
import { DuckDBListValue, type DuckDBConnection } from '@duckdb/node-api';
import { existsSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fsUserError, UserError } from '../util/errors.js';
import { CATALOG_COLUMNS, CATALOG_TABLE, COLUMN_TYPES, SOURCES_TABLE } from '../sources/schema.js';
import { registerScratch, removeStaleScratch } from '../util/scratch.js';
import { isInside } from '../util/safe-path.js';
import { EXTRAS_TABLE, ensureCatalogTables, withCatalog } from './db.js';
import { CLEANED_COLUMNS, cleanValue, type SynonymRule } from './clean.js';
import { loadRuleFiles, loadSynonymRules } from './synonyms.js';
import { ident, paddedSql, sqlString, trimmedSql } from '../util/sql.js';
import { isAsciiText } from '../util/ascii.js';
import { csvErrorToUserError } from '../sources/duckdb-errors.js';
import { readConfigFile, validateConfig, type RawConfig } from '../sources/config-file.js';
import {
  STAGE_NUMBERED,
  STAGE_TABLE,
  type Adapter,
  type CommonConfig,
  type StageContext,
  type StageResult,
} from '../sources/adapter.js';
import { adapterByName, ADAPTER_NAMES } from '../sources/registry.js';
import { listFiles } from '../sources/walk.js';
import { isRemote, isZarrEntry, REMOTE_ENTRY_SQL } from '../sources/fetch/entry.js';
import { listRemotePresent } from './remote-files.js';
import { fillZarrChannels } from './zarr-channels.js';

export interface SourceIngestReport {
  config: string;
  adapter: string;
  dirNames: string[];
  rows: number;
  /** Rows of the same source(s) that this ingest replaced. */
  replaced: number;
  present: number;
  missing: number;
  unchecked: number;
  seconds: number;
}

export interface IngestReport {
  catalog: string;
  sources: SourceIngestReport[];
  /** Rows in the catalog afterwards. */
  totalRows: number;
}

export interface IngestOptions {
  /** Extra synonym tables applied to every config (after the shipped table). */
  synonyms?: string[];
}

interface PreparedConfig {
  file: string;
  /** The folder relative paths resolve against: the config's own, unless given. */
  configDir: string;
  adapter: Adapter<CommonConfig>;
  config: CommonConfig;
  /** Where the images folder resolves instead (StageContext.imagesBase). */
  imagesBase?: string;
  /** Ingested instead when not one listed file is found (ConfigInput.fallback). */
  fallback?: PreparedConfig;
}

/**
 * A config already read (e.g. a registry entry's `source`, src/sources/dataset-registry.ts) whose
 * relative paths resolve against `configDir` rather than the file's folder. A registry entry with
 * a `location` gives `imagesBase` (its images folder resolves against that folder or URL), or a
 * `fallback`: the same source reading its images there, ingested instead when not one file the
 * source lists is under configDir.
 */
export interface ConfigInput {
  raw: RawConfig;
  configDir: string;
  imagesBase?: string;
  fallback?: ConfigInput;
}

/** Reads and validates a config without touching any catalog. */
export function prepareConfig(input: string | ConfigInput): PreparedConfig {
  const file = resolve(typeof input === 'string' ? input : input.raw.file);
  const raw = typeof input === 'string' ? readConfigFile(file) : input.raw;
  const configDir = typeof input === 'string' ? dirname(file) : resolve(input.configDir);
  const data = raw.data as { adapter?: unknown } | null;
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new UserError(
      'a config must be a mapping of keys to values',
      { file, line: 1 },
      'e.g. {"adapter": "standard", "table": "t.csv"}',
    );
  }
  if (typeof data.adapter !== 'string') {
    throw new UserError(
      "missing key 'adapter'",
      { file, line: 1, column: 'adapter' },
      `expected one of: ${ADAPTER_NAMES.join(', ')}`,
    );
  }
  const adapter = adapterByName(data.adapter);
  if (!adapter) {
    throw new UserError(
      `unknown adapter '${data.adapter}'`,
      { file, line: raw.lineOf(['adapter']), column: 'adapter' },
      `expected one of: ${ADAPTER_NAMES.join(', ')}`,
    );
  }
  const config = validateConfig(raw, adapter.schema, `'${adapter.name}'`);
  if (typeof input === 'string') return { file, configDir, adapter, config };
  const fallback = input.fallback ? prepareConfig(input.fallback) : undefined;
  return { file, configDir, adapter, config, imagesBase: input.imagesBase, fallback };
}

async function scalar(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown> | undefined> {
  const r = await conn.runAndReadAll(sql);
  return r.getRowObjectsJson()[0] as Record<string, unknown> | undefined;
}

/** Where a staged row came from, for messages. */
function rowLocation(row: Record<string, unknown>, fallbackFile: string): { file: string; line?: number } {
  const table = row.source_table ? resolve(dirname(fallbackFile), String(row.source_table)) : fallbackFile;
  const n = row.source_row === null || row.source_row === undefined ? undefined : Number(row.source_row);
  return { file: table, line: n === undefined ? undefined : n + 1 };
}

const REQUIRED = ['dir_name', 'database', 'name', 'idx'] as const;
const TYPED = CATALOG_COLUMNS.filter((c) => COLUMN_TYPES[c] !== 'VARCHAR' && c !== 'source_row');
const DIR_NAME_RE = /^[A-Za-z0-9_.-]+$/;
/** Up to this many exceptions a column is cleaned by a CASE; beyond, by a join on a small table. */
const MAX_CASE_EXCEPTIONS = 64;
/** Up to this many files in the images folder, the scan compares first files with their names in place. */
const INLINE_PRESENT_MAX = 16;

function badTypeCond(c: string, ascii = false): string {
  const v = trimmedSql(ident(c), ascii);
  return `${v} IS NOT NULL AND TRY_CAST(${v} AS ${COLUMN_TYPES[c as keyof typeof COLUMN_TYPES]}) IS NULL`;
}

/** Where the stage's rows are read from with their final source_row (file order for a streamed stage). */
function numberedRows(streamed: boolean): string {
  return streamed
    ? STAGE_NUMBERED
    : `(SELECT * REPLACE (coalesce(source_row, rowid + 1) AS source_row) FROM ${STAGE_TABLE})`;
}

/** What one scan of the stage tells: its size, problems, distinct values, and whether any file exists. */
interface StageScan {
  rows: number;
  /** Columns with a value that trimming would change (or empty): only these are trimmed per row. */
  needsTrim: Set<string>;
  flags: Record<string, unknown>;
  distinct: Map<string, string[]>;
  /** Some row's first file is in present_files by name. */
  firstListed: boolean;
  /** No first file can be there but by name: none may be a URL or an OME-Zarr node. */
  firstSettled: boolean;
  /** Some listed file is written otherwise than as a plain relative path (checkUnusualPaths). */
  anyUnusual: boolean;
}

/** The stage's source_files entries that checkUnusualPaths resolves: absolute, dotted, backslashed. */
const UNUSUAL_FILES_SQL =
  "starts_with(source_files, '/') OR starts_with(source_files, '.') OR contains(source_files, '|/') " +
  "OR contains(source_files, '|.') OR contains(source_files, '/.') OR contains(source_files, '\\')";

/**
 * ONE scan of the stage (parallel, nothing materialised) collects the distinct values of dir_name
 * and of the cleaned columns, which columns need trimming, and what the file check needs; only a
 * failing check pays for locating its first row.
 */
async function scanStage(
  conn: DuckDBConnection,
  file: string,
  opts: { withFiles: boolean; localFiles: boolean; ascii: boolean },
): Promise<StageScan> {
  const { withFiles, ascii } = opts;
  const listed = ['dir_name', ...CLEANED_COLUMNS];
  // Missing required values and values of the wrong type are not counted here: the insert's casts
  // and a count of its NULLs find them at a fraction of the cost (a FILTER per column was a third
  // of this scan), and findInvalidRows then names the first.
  const parts = [
    'count(*) AS n',
    // dir_name as it will be stored; the cleaned columns raw (cleaning trims them).
    `list(DISTINCT ${trimmedSql('dir_name', ascii)}) AS d_dir_name`,
    // NULL is dropped from the lists below, not by a FILTER (which costs a selection per column).
    ...CLEANED_COLUMNS.map((c) => `list(DISTINCT ${ident(c)}) AS ${ident(`d_${c}`)}`),
  ];
  // Which stored-as-is columns hold a value that trim would change, so that the insert trims only
  // those columns. An all-ASCII table is checked after the insert instead, on the stored rows
  // (checkStoredRows), where it costs less than half as much.
  const trimmable = ascii ? [] : TRIMMABLE;
  for (const c of trimmable) {
    const x = ident(c);
    parts.push(`coalesce(bool_or(${changedByTrimSql(x, false)}), false) AS ${ident(`t_${c}`)}`);
  }
  // Is any row's first file there? Against a few names, compared in place; against more, by a
  // hash join of the first entry on the listing (a list of names in the SQL is compared one by
  // one: 1,000 of them cost 5 s at 2.7 M rows). An entry that may be a URL or an OME-Zarr node is
  // settled after the scan by a query that stops at the first hit (firstFilePresent).
  if (opts.localFiles) parts.push(`coalesce(bool_or(${UNUSUAL_FILES_SQL}), false) AS any_unusual`);
  if (withFiles) {
    const listing = (await conn.runAndReadAll(`SELECT f FROM present_files LIMIT ${INLINE_PRESENT_MAX + 1}`)).getRows();
    const cond =
      listing.length <= INLINE_PRESENT_MAX
        ? listing
            .map(
              ([f]) =>
                `source_files = ${sqlString(String(f))} OR starts_with(source_files, ${sqlString(`${String(f)}|`)})`,
            )
            .join(' OR ')
        : `${FIRST_FILE_SQL} IN (SELECT f FROM present_files)`;
    parts.push(`coalesce(bool_or(${cond}), false) AS first_listed`);
    // Any entry, not only the first, that may be a URL or an OME-Zarr node: then the query decides.
    parts.push(
      `coalesce(bool_or(contains(source_files, '://') OR contains(source_files, '.z') OR contains(source_files, '.Z')), false) AS first_special`,
    );
  }
  let r: Awaited<ReturnType<typeof conn.runAndReadAll>>;
  try {
    await explained(conn, `SELECT ${parts.join(', ')} FROM ${STAGE_TABLE}`);
    r = await conn.runAndReadAll(traced(`SELECT ${parts.join(', ')} FROM ${STAGE_TABLE}`));
  } catch (e) {
    throw csvErrorToUserError(e, file);
  }
  // getRowObjects, not ...Json: the distinct-value lists come back without a JSON round trip.
  const flags = (r.getRowObjects()[0] ?? {}) as Record<string, unknown>;
  const distinct = new Map<string, string[]>();
  for (const c of listed) {
    const v = flags[`d_${c}`];
    const items = v instanceof DuckDBListValue ? v.items : [];
    distinct.set(c, items.filter((x) => x !== null && x !== undefined).map(String));
  }
  const needsTrim = new Set(trimmable.filter((c) => flags[`t_${c}`] === true));
  return {
    rows: Number(flags.n ?? 0),
    needsTrim,
    flags,
    distinct,
    firstListed: flags.first_listed === true,
    firstSettled: withFiles && flags.first_special !== true,
    anyUnusual: flags.any_unusual === true,
  };
}

// split_part(source_files, '|', 1), without the list of all entries split_part builds per row.
const FIRST_FILE_SQL =
  "CASE WHEN strpos(source_files, '|') > 0 THEN left(source_files, strpos(source_files, '|') - 1) ELSE source_files END";

/** Columns stored as read (not cleaned, not computed), so trimmed where a value needs it. */
const TRIMMABLE = CATALOG_COLUMNS.filter(
  (c) => c !== 'files_status' && c !== 'source_row' && !(CLEANED_COLUMNS as readonly string[]).includes(c),
);
/** Of those, the ones an all-ASCII table stores untrimmed and trimStored fixes (the rest are always trimmed). */
const TRIMMED_LATE = TRIMMABLE.filter((c) => c !== 'dir_name' && COLUMN_TYPES[c] === 'VARCHAR');

/** True where trimmedSql(x, ascii) differs from x: empty, or padded (util/sql.ts paddedSql). */
function changedByTrimSql(x: string, ascii: boolean): string {
  return `${x} = '' OR ${paddedSql(x, ascii)}`;
}

/** The rows this ingest stored: its dir_names (or none). */
const NEW_ROWS_SQL = '(dir_name IS NULL OR dir_name IN (SELECT dir_name FROM new_dirs))';

interface StoredRowChecks {
  /** Of TRIMMED_LATE (all-ASCII tables), the columns with a value that trimming changes. */
  trim: string[];
  /** This ingest's rows missing a required value. */
  missing: number;
  /** Whether two rows of the catalog may share an idx: their idx hashes are fewer than their idx values. */
  idxRepeats: boolean;
}

/** The idx test of checkStoredRows, over the rows it reads (no index is kept at insert). */
const IDX_REPEAT_PARTS = ['count(idx) AS idx_n', 'count(DISTINCT hash(idx)) AS idx_h'];

/**
 * One pass over this ingest's stored rows answers what the insert leaves to check: the columns an
 * all-ASCII table still has to trim (a clean table, the usual case, trims nothing), rows missing a
 * required value, and, when these rows are the whole catalog (`alone`), whether an idx may repeat;
 * else that is one more pass over all the catalog's rows, which also finds an idx another source
 * owns. The rows are the transaction's own, read on one thread: separate passes cost one each.
 */
async function checkStoredRows(
  conn: DuckDBConnection,
  opts: { trimFlags: boolean; alone: boolean },
): Promise<StoredRowChecks> {
  const trimmed = opts.trimFlags ? TRIMMED_LATE : [];
  const parts = [
    ...trimmed.map((c) => `coalesce(bool_or(${changedByTrimSql(ident(c), true)}), false) AS ${ident(`t_${c}`)}`),
    `count(*) FILTER (WHERE ${REQUIRED.map((c) => `${ident(c)} IS NULL`).join(' OR ')}) AS missing`,
  ];
  if (opts.alone) parts.push(...IDX_REPEAT_PARTS);
  const r = await scalar(
    conn,
    `SELECT ${parts.join(', ')} FROM ${CATALOG_TABLE}${opts.alone ? '' : ` WHERE ${NEW_ROWS_SQL}`}`,
  );
  const idx = opts.alone ? r : await scalar(conn, `SELECT ${IDX_REPEAT_PARTS.join(', ')} FROM ${CATALOG_TABLE}`);
  return {
    trim: trimmed.filter((c) => r?.[`t_${c}`] === true),
    missing: Number(r?.missing ?? 0),
    idxRepeats: Number(idx?.idx_n ?? 0) !== Number(idx?.idx_h ?? 0),
  };
}

/** Trim the padded values of these columns in this ingest's stored rows (checkStoredRows found them). */
async function trimStored(conn: DuckDBConnection, fix: readonly string[]): Promise<void> {
  await conn.run(
    `UPDATE ${CATALOG_TABLE} SET ${fix.map((c) => `${ident(c)} = ${trimmedSql(ident(c), true)}`).join(', ')} ` +
      `WHERE ${NEW_ROWS_SQL} AND (${fix.map((c) => changedByTrimSql(ident(c), true)).join(' OR ')})`,
  );
}

/** Whether some row's first file counts as there (a URL, or its key in present_files); stops at the first. */
async function firstFilePresent(conn: DuckDBConnection): Promise<boolean> {
  const r = await conn.runAndReadAll(`SELECT 1 FROM ${STAGE_TABLE} WHERE ${firstPresentSql(FIRST_FILE_SQL)} LIMIT 1`);
  return r.getRows().length > 0;
}

/**
 * Where a source's rows break a rule (a required value missing, dir_name with other characters,
 * a value of the wrong type), the first problem in that order, as a UserError naming its file,
 * line and column. Only run once a problem is known: the insert's casts fail, its rows hold a
 * NULL where a value is required, or a distinct dir_name is bad.
 */
async function findInvalidRows(
  conn: DuckDBConnection,
  scan: StageScan,
  where: { file: string; readingFile: string; rows: string; ascii: boolean },
): Promise<void> {
  const { file, readingFile, rows, ascii } = where;
  const parts = [
    ...REQUIRED.map((c) => `count(*) FILTER (WHERE ${trimmedSql(ident(c), ascii)} IS NULL) AS ${ident(`null_${c}`)}`),
    ...TYPED.map((c) => `count(*) FILTER (WHERE ${badTypeCond(c, ascii)}) AS ${ident(`type_${c}`)}`),
  ];
  let flags: Record<string, unknown>;
  try {
    flags = (await conn.runAndReadAll(`SELECT ${parts.join(', ')} FROM ${STAGE_TABLE}`)).getRowObjects()[0] ?? {};
  } catch (e) {
    throw csvErrorToUserError(e, readingFile);
  }
  await validateScan(conn, { ...scan, flags }, file, rows);
}

async function validateScan(conn: DuckDBConnection, scan: StageScan, file: string, rows: string): Promise<void> {
  const f = scan.flags;
  const first = (cond: string, extra = ''): Promise<Record<string, unknown> | undefined> =>
    scalar(conn, `SELECT ${extra}source_table, source_row FROM ${rows} WHERE ${cond} ORDER BY source_row LIMIT 1`);
  for (const c of REQUIRED) {
    if (Number(f[`null_${c}`] ?? 0) === 0) continue;
    const bad = await first(`${trimmedSql(ident(c))} IS NULL`);
    throw new UserError(
      `row has no '${c}'`,
      { ...rowLocation(bad ?? {}, file), column: c },
      c === 'idx' ? 'every row needs a stable identifier' : `give the column, or '${c}' in the config`,
    );
  }
  // dir_name is checked on its few distinct values, not on every row.
  const badDir = (scan.distinct.get('dir_name') ?? []).filter((d) => !DIR_NAME_RE.test(d));
  if (badDir.length) {
    const bad =
      (await first(
        `${trimmedSql('dir_name')} IN (${badDir.map(sqlString).join(', ')})`,
        `${trimmedSql('dir_name')} AS dir_name, `,
      )) ?? {};
    throw new UserError(`dir_name '${String(bad.dir_name)}' has characters other than letters, digits, '_', '.', '-'`, {
      ...rowLocation(bad, file),
      column: 'dir_name',
    });
  }
  for (const c of TYPED) {
    if (Number(f[`type_${c}`] ?? 0) === 0) continue;
    const bad = (await first(badTypeCond(c), `${ident(c)} AS v, `)) ?? {};
    const t = COLUMN_TYPES[c];
    const expected = t === 'BOOLEAN' ? 'true or false' : t === 'DOUBLE' ? 'a number' : 'an integer';
    throw new UserError(`'${String(bad.v)}' is not ${expected}`, { ...rowLocation(bad, file), column: c });
  }
}

/**
 * The cheap SQL most values of a column clean to. Gene: ' targeted' on each '|' token. Values
 * whose JS cleaning differs become exceptions, so this need not be exact, only usually right.
 */
function simpleClean(c: string, x: string): string {
  return c === 'gene'
    ? `rtrim(replace(replace(lower(${x}) || '|', ' targeted|', '|'), '|', ' targeted|'), '|')`
    : `lower(${x})`;
}

/** simpleClean on an ASCII value, as DuckDB computes it (lower() of ASCII; replace() of all occurrences). */
function simpleCleanAscii(c: string, v: string): string {
  const lower = v.toLowerCase();
  if (c !== 'gene') return lower;
  return `${lower}|`.split(' targeted|').join('|').split('|').join(' targeted|').replace(/\|+$/, '');
}

/** How the insert cleans one column: an expression over `s`, and a join when exceptions are many. */
interface ColumnCleaning {
  expr: string;
  join?: string;
}

/**
 * Cleans each distinct raw value once in JS and compares it with the identity and with
 * simpleClean (evaluated by DuckDB on the same distinct values). The insert then applies whichever
 * base needs fewer exceptions, and maps the exceptions with a CASE (few) or a join on a small
 * table (many): per row that is one string function at most, never a join on every column.
 */
async function planCleaning(
  conn: DuckDBConnection,
  distinct: Map<string, string[]>,
  rules: readonly SynonymRule[],
): Promise<Map<string, ColumnCleaning>> {
  // simpleClean of an ASCII value is computed here exactly as DuckDB would; other values (rare)
  // are evaluated by DuckDB itself, so the comparison never depends on two lower-case tables.
  const simpleOf = new Map<string, Map<string, string>>();
  const nonAscii: [string, string][] = [];
  for (const c of CLEANED_COLUMNS) {
    const m = new Map<string, string>();
    simpleOf.set(c, m);
    for (const v of distinct.get(c) ?? []) {
      if (isAsciiText(v)) m.set(v, simpleCleanAscii(c, v));
      else nonAscii.push([c, v]);
    }
  }
  if (nonAscii.length) {
    await conn.run('DROP TABLE IF EXISTS distinct_values');
    await conn.run('CREATE TEMP TABLE distinct_values (col VARCHAR, raw VARCHAR)');
    const ap = await conn.createAppender('distinct_values', 'main', 'temp');
    for (const [c, v] of nonAscii) {
      ap.appendVarchar(c);
      ap.appendVarchar(v);
      ap.endRow();
    }
    ap.flushSync();
    ap.closeSync();
    const simple = `CASE WHEN col = 'gene' THEN ${simpleClean('gene', 'raw')} ELSE ${simpleClean('', 'raw')} END`;
    const r = await conn.runAndReadAll(`SELECT col, raw, ${simple} AS simple FROM distinct_values`);
    for (const [col, raw, simpleV] of r.getRows()) simpleOf.get(String(col))?.set(String(raw), String(simpleV));
  }
  const byCol = new Map<string, { identity: [string, string | null][]; simple: [string, string | null][] }>();
  for (const c of CLEANED_COLUMNS) {
    const applicable = rules.filter((r) => r.column === '*' || r.column === c);
    const e = { identity: [] as [string, string | null][], simple: [] as [string, string | null][] };
    byCol.set(c, e);
    for (const [raw, simpleV] of simpleOf.get(c) ?? []) {
      const clean = cleanValue(c, raw, applicable);
      if (clean !== raw) e.identity.push([raw, clean]);
      if (clean !== simpleV) e.simple.push([raw, clean]);
    }
  }
  const plan = new Map<string, ColumnCleaning>();
  for (const c of CLEANED_COLUMNS) {
    const x = `s.${ident(c)}`;
    const e = byCol.get(c);
    if (!e || e.identity.length === 0) {
      plan.set(c, { expr: x });
      continue;
    }
    const useSimple = e.simple.length < e.identity.length;
    const base = useSimple ? simpleClean(c, x) : x;
    const exceptions = useSimple ? e.simple : e.identity;
    const lit = (v: string | null): string => (v === null ? 'NULL' : sqlString(v));
    if (exceptions.length === 0) plan.set(c, { expr: base });
    else if (exceptions.length <= MAX_CASE_EXCEPTIONS) {
      plan.set(c, {
        expr: `CASE ${x} ${exceptions.map(([a, b]) => `WHEN ${lit(a)} THEN ${lit(b)}`).join(' ')} ELSE ${base} END`,
      });
    } else {
      const t = `clean_${c}`;
      await conn.run(`DROP TABLE IF EXISTS ${t}`);
      await conn.run(`CREATE TEMP TABLE ${t} (raw VARCHAR, clean VARCHAR)`);
      const a = await conn.createAppender(t, 'main', 'temp');
      for (const [raw, clean] of exceptions) {
        a.appendVarchar(raw);
        if (clean === null) a.appendNull();
        else a.appendVarchar(clean);
        a.endRow();
      }
      a.flushSync();
      a.closeSync();
      plan.set(c, {
        expr: `CASE WHEN d_${c}.raw IS NULL THEN ${base} ELSE d_${c}.clean END`,
        join: `LEFT JOIN ${t} d_${c} ON ${x} = d_${c}.raw`,
      });
    }
  }
  return plan;
}

/** Lists the image folder into present_files; returns how many files it holds. */
async function listPresentFiles(conn: DuckDBConnection, imagesRoot: string): Promise<number> {
  await conn.run('DROP TABLE IF EXISTS present_files');
  await conn.run('CREATE TEMP TABLE present_files (f VARCHAR)');
  const listed = existsSync(imagesRoot) && statSync(imagesRoot).isDirectory() ? await listFiles(imagesRoot) : [];
  const files = withZarrFolders(listed);
  if (files.length) {
    const ap = await conn.createAppender('present_files', 'main', 'temp');
    for (const f of files) {
      ap.appendVarchar(f);
      ap.endRow();
    }
    ap.flushSync();
    ap.closeSync();
  }
  return files.length;
}

/**
 * The listing of the images folder only has canonical relative paths; a listed file written
 * otherwise (absolute, with '.' or '..' segments, hidden, or with a backslash) is resolved against
 * the folder here, one rule for all (docs/catalog.md, "Where image files may be"): a path that
 * leaves the folder is refused unless the config allows it; one that names an existing file
 * (symlinks followed, as the build reads it) is added to present_files under its listed text.
 * Returns how many were added.
 */
async function checkUnusualPaths(
  conn: DuckDBConnection,
  rows: string,
  root: string,
  allowOutside: boolean,
  file: string,
): Promise<number> {
  // URLs are read where they are (src/sources/fetch/entry.ts, isRemote): no folder to leave
  const unusual = `(f[1] = '/' OR f[1] = '.' OR contains(f, '/.') OR contains(f, '\\')) AND NOT regexp_matches(f, '${REMOTE_ENTRY_SQL}', 'i')`;
  const r = await conn.runAndReadAll(
    `SELECT DISTINCT f FROM (SELECT unnest(string_split(source_files, '|')) AS f FROM ${STAGE_TABLE} ` +
      `WHERE ${UNUSUAL_FILES_SQL}) WHERE f <> '' AND (${unusual}) ORDER BY f`,
  );
  const present: string[] = [];
  for (const [v] of r.getRows()) {
    const f = String(v);
    // an OME-Zarr entry names its image folder (entryKeySql); selectors aside
    const zarr = isZarrEntry(f);
    const key = zarr ? f.split('#')[0].replace(/\/+$/, '') : f;
    const abs = resolve(root, key);
    if (!allowOutside && !isInside(root, abs)) {
      const bad =
        (await scalar(
          conn,
          `SELECT source_table, source_row FROM ${rows} WHERE list_contains(string_split(source_files, '|'), ${sqlString(f)}) ORDER BY source_row LIMIT 1`,
        )) ?? {};
      throw new UserError(
        `source file '${f}' is outside the images folder ${root}`,
        { ...rowLocation(bad, file), column: 'source_files' },
        "list files relative to the images folder (the config's 'images'), or set allow_outside_root: true in the config to read them where they are",
      );
    }
    try {
      const st = statSync(abs);
      if (zarr ? st.isDirectory() : st.isFile()) present.push(key);
    } catch {
      // absent: missing, like any other listed file
    }
  }
  if (present.length) {
    const ap = await conn.createAppender('present_files', 'main', 'temp');
    for (const f of present) {
      ap.appendVarchar(f);
      ap.endRow();
    }
    ap.flushSync();
    ap.closeSync();
  }
  return present.length;
}

/**
 * The listed files plus the folders of the OME-Zarr nodes among them (an entry names an image
 * group, a folder; listFiles skips the hidden .zattrs, so the groups are inferred from their chunks).
 */
function withZarrFolders(files: string[]): string[] {
  const folders = new Set<string>();
  for (const f of files) {
    const at = f.search(/\.zarr\//i);
    if (at < 0) continue;
    const parts = f.split('/');
    let prefix = '';
    for (let i = 0; i < parts.length - 1; i++) {
      prefix = i === 0 ? parts[0] : `${prefix}/${parts[i]}`;
      if (prefix.length >= at + 5) folders.add(prefix);
    }
  }
  return folders.size ? [...files, ...[...folders].sort()] : files;
}

/**
 * An entry as the file check sees it (src/sources/fetch/entry.ts, isRemote and isZarrEntry): NULL
 * for a URL, which is read where it is and checked when the build reads it; an OME-Zarr entry's
 * image folder, without selectors; any other entry as it is.
 */
function entryKeySql(x: string): string {
  return (
    `CASE WHEN regexp_matches(${x}, '${REMOTE_ENTRY_SQL}', 'i') THEN NULL ` +
    `WHEN regexp_matches(${x}, '\\.zarr(/|#|$)', 'i') THEN rtrim(split_part(${x}, '#', 1), '/') ELSE ${x} END`
  );
}

/** True where entry `x` counts as there: a URL (checked when read), or its key in present_files. */
function firstPresentSql(x: string): string {
  return `${entryKeySql(x)} IS NULL OR ${entryKeySql(x)} IN (SELECT f FROM present_files)`;
}

/** Temp table missing_idx: rows with at least one listed file absent (only when some file exists). */
async function findMissing(conn: DuckDBConnection): Promise<void> {
  await conn.run('DROP TABLE IF EXISTS missing_idx');
  await conn.run(
    `CREATE TEMP TABLE missing_idx AS SELECT DISTINCT e.idx FROM ` +
      `(SELECT idx, ${entryKeySql('f0')} AS f FROM (SELECT idx, unnest(string_split(source_files, '|')) AS f0 FROM ${STAGE_TABLE} WHERE source_files IS NOT NULL)) e ` +
      `ANTI JOIN present_files p ON e.f = p.f WHERE e.f IS NOT NULL`,
  );
}

/** files: 'none' (no image folder), 'all-missing' (not one listed file exists), or 'check' (join missing_idx). */
function cleanedSelect(
  rows: string,
  files: 'none' | 'all-missing' | 'check',
  cleaning: Map<string, ColumnCleaning>,
  needsTrim: Set<string>,
  ascii: boolean,
): string {
  // An all-ASCII table: dir_name (which later steps select by) and typed columns (before their
  // casts) always trimmed, the rest by trimStored after the insert.
  const trimmed = (c: string): boolean =>
    needsTrim.has(c) || (ascii && (c === 'dir_name' || COLUMN_TYPES[c as keyof typeof COLUMN_TYPES] !== 'VARCHAR'));
  const stored = (c: string): string => (trimmed(c) ? trimmedSql(`s.${ident(c)}`, ascii) : `s.${ident(c)}`);
  const parts = CATALOG_COLUMNS.map((c) => {
    let expr: string;
    const plan = cleaning.get(c);
    if (plan) expr = plan.expr;
    else if (c === 'files_status') {
      expr =
        files === 'none'
          ? `'unchecked'`
          : files === 'all-missing'
            ? `CASE WHEN s.source_files IS NULL THEN 'unchecked' ELSE 'missing' END`
            : `CASE WHEN s.source_files IS NULL THEN 'unchecked' WHEN m.idx IS NOT NULL THEN 'missing' ELSE 'present' END`;
    } else if (c === 'source_row') expr = 's.source_row';
    else if (COLUMN_TYPES[c] === 'VARCHAR') expr = stored(c);
    else expr = `CAST(${stored(c)} AS ${COLUMN_TYPES[c]})`;
    return `${expr} AS ${ident(c)}`;
  });
  const joins = [...cleaning.values()].map((p) => p.join ?? '').filter(Boolean);
  if (files === 'check') joins.push('LEFT JOIN missing_idx m ON s.idx = m.idx');
  return `SELECT ${parts.join(', ')} FROM ${rows} s ${joins.join(' ')}`;
}

async function dropScratch(conn: DuckDBConnection): Promise<void> {
  const v = await conn.runAndReadAll(`SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal`);
  for (const row of v.getRowObjectsJson()) await conn.run(`DROP VIEW IF EXISTS temp.${ident(String(row.view_name))}`);
  const r = await conn.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE temporary`);
  for (const row of r.getRowObjectsJson()) await conn.run(`DROP TABLE IF EXISTS temp.${ident(String(row.table_name))}`);
}

/** CYTOIMAGENET_TIMING=sql also prints the SQL of the two passes over the rows. */
function traced(sql: string): string {
  if (process.env.CYTOIMAGENET_TIMING === 'sql') process.stderr.write(`${sql}\n`);
  return sql;
}

/** CYTOIMAGENET_TIMING=explain prints DuckDB's profile of a pass (running it once more). */
async function explained(conn: DuckDBConnection, sql: string): Promise<void> {
  if (process.env.CYTOIMAGENET_TIMING !== 'explain') return;
  const r = await conn.runAndReadAll(`EXPLAIN ANALYZE ${sql}`);
  for (const row of r.getRows()) process.stderr.write(`${String(row[1])}\n`);
}

/** CYTOIMAGENET_TIMING=1 prints each ingest step's time to stderr. */
function stepTimer(): (label: string) => void {
  let last = performance.now();
  let cpu = process.cpuUsage();
  return (label) => {
    if (!process.env.CYTOIMAGENET_TIMING) return;
    const now = performance.now();
    const u = process.cpuUsage(cpu);
    process.stderr.write(
      `  ${label}: ${((now - last) / 1000).toFixed(2)} s (cpu ${((u.user + u.system) / 1e6).toFixed(2)} s)\n`,
    );
    last = now;
    cpu = process.cpuUsage();
  };
}

/** A source, or its fallback when not one file it lists is there (a registry entry's location). */
async function ingestPrepared(
  conn: DuckDBConnection,
  prep: PreparedConfig,
  rules: readonly SynonymRule[],
): Promise<SourceIngestReport> {
  if (!prep.fallback) return (await ingestOne(conn, prep, rules, false)) as SourceIngestReport;
  return (await ingestOne(conn, prep, rules, true)) ?? ingestPrepared(conn, prep.fallback, rules);
}

/** One source in one transaction; null (nothing changed) when `elsewhere` and not one listed file is there. */
async function ingestOne(
  conn: DuckDBConnection,
  prep: PreparedConfig,
  baseRules: readonly SynonymRule[],
  elsewhere: boolean,
): Promise<SourceIngestReport | null> {
  const t0 = performance.now();
  const { adapter, config, file, configDir } = prep;
  const userSyn =
    config.synonyms === undefined ? [] : Array.isArray(config.synonyms) ? config.synonyms : [config.synonyms];
  const rules = userSyn.length
    ? [...baseRules, ...loadRuleFiles(userSyn.map((s) => resolve(configDir, s)))]
    : baseRules;
  // The pid in the name lets the next ingest remove what a killed one left (src/util/scratch.ts).
  removeStaleIngestTemp();
  const tmp = await mkdtemp(join(tmpdir(), `cytoimagenet-ingest-${process.pid}-`));
  const unregisterTmp = registerScratch(tmp);
  const ctx: StageContext = {
    conn,
    configFile: file,
    configDir,
    tmpDir: tmp,
    common: config,
    imagesBase: prep.imagesBase,
  };
  // Staging, validation and cleaning only touch connection-local temp tables; the catalog itself
  // changes inside one transaction below.
  let inTransaction = false;
  let numbering: StageResult['numbering'];
  try {
    const step = stepTimer();
    const staged = await adapter.stage(config, ctx);
    numbering = staged.numbering;
    const streamed = staged.streamed === true;
    const rows = numberedRows(streamed);
    step('stage');
    const root = staged.imagesRoot;
    const readingFile = staged.readingFile ?? file;
    const localFiles = root !== null && !isRemote(root);
    let nFiles =
      root === null
        ? 0
        : localFiles
          ? await listPresentFiles(conn, root)
          : await listRemotePresent(conn, STAGE_TABLE, root, entryKeySql, file);
    step('list files');
    const ascii = staged.ascii === true;
    const invalid = { file, readingFile, rows, ascii };
    /** A problem the insert met: roll back, then name the first bad row as the checks always have. */
    const refuseInvalidRows = async (): Promise<void> => {
      await conn.run('ROLLBACK');
      inTransaction = false;
      await findInvalidRows(conn, scan, invalid);
    };
    const scan = await scanStage(conn, readingFile, { withFiles: nFiles > 0, localFiles, ascii });
    step('scan');
    if (root !== null && scan.anyUnusual)
      nFiles += await checkUnusualPaths(conn, rows, root, config.allow_outside_root === true, readingFile);
    const anyFirstPresent =
      nFiles > 0 && (scan.firstListed || (!(scan.firstSettled && !scan.anyUnusual) && (await firstFilePresent(conn))));
    await staged.checked;
    step('unusual paths, first files, NUL check');
    // dir_name on its distinct values; a bad one is reported after any missing value, as always.
    if ((scan.distinct.get('dir_name') ?? []).some((d) => !DIR_NAME_RE.test(d)))
      await findInvalidRows(conn, scan, invalid);
    step('validate');
    const cleaning = await planCleaning(conn, scan.distinct, rules);
    step('plan cleaning');
    // Metadata without its images (the usual case at scale): when not even one row's first file
    // is there, every listed row is missing and the file lists need not be exploded.
    const files = root === null ? 'none' : anyFirstPresent ? 'check' : 'all-missing';
    if (elsewhere && files === 'all-missing') {
      await numbering?.cancel();
      await dropScratch(conn);
      return null; // the images are not here: the caller reads them from their location
    }
    if (files === 'check') await findMissing(conn);
    step('files');
    // Rows numbered by a column (a numbered copy written beside the scan) are inserted on every
    // thread; numbered by window, on one.
    const parallelNumbering = streamed && numbering ? await numbering.finish() : false;
    numbering = undefined;
    step(parallelNumbering ? 'numbered copy' : 'numbering by window');
    const dirNames = [...(scan.distinct.get('dir_name') ?? [])].sort();
    await conn.run('BEGIN TRANSACTION');
    inTransaction = true;
    // The rows this ingest replaces: the same dir_names, and whatever this config produced before.
    await conn.run('CREATE TEMP TABLE new_dirs (dir_name VARCHAR)');
    if (dirNames.length)
      await conn.run(`INSERT INTO new_dirs VALUES ${dirNames.map((d) => `(${sqlString(d)})`).join(', ')}`);
    await conn.run(
      `CREATE TEMP TABLE replaced_dirs AS SELECT dir_name FROM new_dirs UNION SELECT dir_name FROM ${SOURCES_TABLE} WHERE config = ${sqlString(file)}`,
    );
    const replaced = Number(
      (
        await scalar(
          conn,
          `SELECT count(*) AS n FROM ${CATALOG_TABLE} WHERE dir_name IN (SELECT dir_name FROM replaced_dirs)`,
        )
      )?.n ?? 0,
    );
    await conn.run(`DELETE FROM ${CATALOG_TABLE} WHERE dir_name IN (SELECT dir_name FROM replaced_dirs)`);
    await conn.run(`DELETE FROM ${SOURCES_TABLE} WHERE dir_name IN (SELECT dir_name FROM replaced_dirs)`);
    await conn.run(`DELETE FROM ${EXTRAS_TABLE} WHERE dir_name IN (SELECT dir_name FROM replaced_dirs)`);
    // No other source's rows left (a first ingest, or the only source again): this ingest's rows
    // are the whole catalog, and idx is checked among them in the same pass as the other checks.
    const alone = Number((await scalar(conn, `SELECT count(*) AS n FROM ${CATALOG_TABLE}`))?.n ?? 0) === 0;
    step('replace');
    // Row order in the catalog carries no meaning (source_row does), so the insert may run in
    // parallel. The optimiser cannot size a file it has not read (it guesses a few rows) and would
    // build the hash table of a cleaning join on the whole file: keep the small tables as build side.
    await conn.run('SET preserve_insertion_order=false');
    await conn.run(`SET disabled_optimizers='join_order,build_side_probe_side'`);
    // Numbering rows in file order runs the whole insert on one thread; a second DuckDB thread only
    // spins beside it (as much CPU again, for no time saved), which on a shared machine is time
    // taken from the thread doing the work.
    const oneThread = streamed && !parallelNumbering;
    const threads = oneThread ? (await scalar(conn, `SELECT current_setting('threads') AS t`))?.t : undefined;
    if (oneThread) await conn.run('SET threads=1');
    try {
      await explained(
        conn,
        `CREATE TEMP TABLE explain_insert AS ${cleanedSelect(rows, files, cleaning, scan.needsTrim, ascii)}`,
      );
      await conn.run(
        traced(
          `INSERT INTO ${CATALOG_TABLE} (${CATALOG_COLUMNS.map(ident).join(', ')}) ${cleanedSelect(rows, files, cleaning, scan.needsTrim, ascii)}`,
        ),
      );
    } catch (e) {
      // A value the casts refuse: the transaction is aborted; name the first bad row, as the checks would.
      if (/Conversion Error/.test(e instanceof Error ? e.message : String(e))) await refuseInvalidRows();
      throw csvErrorToUserError(e, readingFile);
    } finally {
      await conn.run('SET preserve_insertion_order=true');
      await conn.run(`RESET disabled_optimizers`);
      if (threads !== undefined) await conn.run(`SET threads=${Number(threads)}`);
    }
    step('insert');
    // An all-ASCII table was stored untrimmed; once trimmed, its values are checked again.
    let stored = await checkStoredRows(conn, { trimFlags: ascii, alone });
    if (stored.trim.length) {
      await trimStored(conn, stored.trim);
      stored = await checkStoredRows(conn, { trimFlags: false, alone });
    }
    step('checks of the stored rows');
    // A required value missing (a NULL where one is needed); before the idx check, which would
    // count NULLs as one repeated idx.
    if (stored.missing > 0) {
      await refuseInvalidRows();
      throw new Error('rows with a missing required value were stored but not found again');
    }
    // idx is unique across the catalog: a repeat within this source or an idx another source
    // owns makes fewer distinct 64-bit hashes than values (grouping hashes is far cheaper than
    // grouping strings); only colliding hashes (a duplicate, or by rare chance two idx values)
    // are compared as strings.
    const dup = stored.idxRepeats
      ? await scalar(
          conn,
          `SELECT idx, count(*) AS n FROM ${CATALOG_TABLE} WHERE hash(idx) IN (SELECT hash(idx) FROM ${CATALOG_TABLE} GROUP BY hash(idx) HAVING count(*) > 1) GROUP BY idx HAVING count(*) > 1 ORDER BY idx LIMIT 1`,
        )
      : undefined;
    if (dup) {
      const idx = sqlString(String(dup.idx));
      const owner = await scalar(
        conn,
        `SELECT dir_name FROM ${CATALOG_TABLE} WHERE idx = ${idx} AND dir_name NOT IN (SELECT dir_name FROM replaced_dirs) LIMIT 1`,
      );
      if (owner) {
        throw new UserError(
          `idx '${String(dup.idx)}' already belongs to source '${String(owner.dir_name)}'`,
          { file, column: 'idx' },
          'give this source another dir_name or idx prefix',
        );
      }
      const where = await scalar(
        conn,
        `SELECT source_table, source_row FROM ${rows} WHERE ${trimmedSql('idx')} = ${idx} ORDER BY source_row LIMIT 1 OFFSET 1`,
      );
      throw new UserError(
        `idx '${String(dup.idx)}' occurs ${String(dup.n)} times`,
        { ...(where ? rowLocation(where, file) : { file }), column: 'idx' },
        "idx must identify one image; build it from the source's own identifiers",
      );
    }
    step('unique');
    // OME-Zarr entries whose table named no channels: the images' own channel names
    await fillZarrChannels(conn, CATALOG_TABLE, 'new_dirs', root, rules);
    step('zarr channels');
    const licence = config.licence ?? staged.licence ?? null;
    const citation = config.citation ?? staged.citation ?? null;
    // database/name of a source: those of its first row (a streamed stage is not read again for it).
    const firstOf = streamed
      ? `SELECT dir_name, arg_min(database, source_row) AS database, arg_min(name, source_row) AS name FROM ${CATALOG_TABLE} WHERE dir_name IN (SELECT dir_name FROM new_dirs) GROUP BY dir_name`
      : `SELECT dir_name, arg_min(database, rowid) AS database, arg_min(name, rowid) AS name FROM ${STAGE_TABLE} GROUP BY dir_name`;
    await conn.run(
      `INSERT INTO ${SOURCES_TABLE} SELECT dir_name, database, name, ` +
        `${licence === null ? 'NULL' : sqlString(licence)}, ${citation === null ? 'NULL' : sqlString(citation)}, ` +
        `${root === null ? 'NULL' : sqlString(root)}, ${sqlString(file)}, ${sqlString(adapter.name)} FROM (${firstOf})`,
    );
    const extraCols = streamed
      ? []
      : (
          await conn.runAndReadAll(
            `SELECT column_name FROM duckdb_columns() WHERE table_name = '${STAGE_TABLE}' AND database_name = 'temp' AND starts_with(column_name, 'extra:')`,
          )
        ).getRowObjectsJson();
    for (const r of extraCols) {
      const col = String(r.column_name);
      await conn.run(
        `INSERT INTO ${EXTRAS_TABLE} SELECT dir_name, idx, ${sqlString(col.slice('extra:'.length))}, ${ident(col)} FROM ${STAGE_TABLE} WHERE ${ident(col)} IS NOT NULL`,
      );
    }
    const counts = await scalar(
      conn,
      `SELECT count(*) AS n, count(*) FILTER (WHERE files_status='present') AS p, count(*) FILTER (WHERE files_status='missing') AS m, count(*) FILTER (WHERE files_status='unchecked') AS u ` +
        `FROM ${CATALOG_TABLE} WHERE dir_name IN (SELECT dir_name FROM replaced_dirs)`,
    );
    step('sources+extras');
    await conn.run('COMMIT');
    inTransaction = false;
    step('commit');
    await dropScratch(conn);
    return {
      config: file,
      adapter: adapter.name,
      dirNames,
      rows: Number(counts?.n ?? 0),
      replaced,
      present: Number(counts?.p ?? 0),
      missing: Number(counts?.m ?? 0),
      unchecked: Number(counts?.u ?? 0),
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (e) {
    await numbering?.cancel().catch(() => undefined); // a copy still writing into tmp
    if (inTransaction) await conn.run('ROLLBACK').catch(() => undefined);
    await dropScratch(conn).catch(() => undefined);
    if (e instanceof UserError) throw e;
    const fs = fsUserError(e);
    if (fs) throw fs;
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new UserError(`ingest failed: ${msg}`, { file }, 'the catalog was left unchanged');
  } finally {
    await rm(tmp, { recursive: true, force: true });
    unregisterTmp();
  }
}

/**
 * Temp folders of ingests that are gone: `cytoimagenet-ingest-<pid>-*` of a dead pid, and empty
 * ones named before the pid was added, once an hour old (an ingest only uses them while it runs).
 */
function removeStaleIngestTemp(): void {
  const dir = tmpdir();
  removeStaleScratch(dir, /^cytoimagenet-ingest-(\d+)-[A-Za-z0-9]{6}$/);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^cytoimagenet-ingest-[A-Za-z0-9]{6}$/.test(n));
  } catch {
    return;
  }
  for (const n of names) {
    const p = join(dir, n);
    try {
      if (Date.now() - statSync(p).mtimeMs > 3_600_000) rmdirSync(p); // fails, and is kept, unless empty
    } catch {
      // not empty, or gone
    }
  }
}

/**
 * Ingests each config into the catalog (created if absent). All configs are validated before any
 * is ingested; each source is then one transaction.
 */
export async function ingestSources(
  configPaths: (string | ConfigInput)[],
  catalogPath: string,
  options: IngestOptions = {},
): Promise<IngestReport> {
  if (!configPaths.length) throw new UserError('no config given', {}, 'cytoimagenet ingest CONFIG... --catalog FILE');
  const prepared = configPaths.map(prepareConfig);
  const rules = loadSynonymRules((options.synonyms ?? []).map((s) => resolve(s)));
  const catalog = resolve(catalogPath);
  const existed = existsSync(catalog);
  let committed = 0;
  try {
    return await withCatalog(catalog, async ({ conn }) => {
      await ensureCatalogTables(conn);
      const sources: SourceIngestReport[] = [];
      for (const p of prepared) {
        sources.push(await ingestPrepared(conn, p, rules));
        committed++;
      }
      const total = await scalar(conn, `SELECT count(*) AS n FROM ${CATALOG_TABLE}`);
      return { catalog, sources, totalRows: Number(total?.n ?? 0) };
    });
  } catch (e) {
    // A catalog this call created and never filled is removed again: "unchanged" means absent.
    if (!existed && committed === 0) {
      for (const f of [catalog, `${catalog}.wal`]) await rm(f, { force: true });
    }
    throw e;
  }
}
