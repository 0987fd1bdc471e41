// Ingest: each config is staged by its adapter, then validated, cleaned (synonyms, lower case,
// gene suffix), checked against the image folder and stored, all in ONE transaction per config,
// so a bad source leaves the catalog exactly as it was. Re-ingesting replaces rows by dir_name.
import type { DuckDBConnection } from '@duckdb/node-api';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import { CATALOG_COLUMNS, CATALOG_TABLE, COLUMN_TYPES, SOURCES_TABLE } from './schema.js';
import { EXTRAS_TABLE, ensureCatalogTables, withCatalog } from './db.js';
import { CLEANED_COLUMNS, cleanValue, type SynonymRule } from './clean.js';
import { loadRuleFiles, loadSynonymRules } from './synonyms.js';
import { ident, sqlString } from './sql.js';
import { readConfigFile, validateConfig } from '../sources/config-file.js';
import { STAGE_TABLE, type Adapter, type CommonConfig, type StageContext } from '../sources/adapter.js';
import { adapterByName, ADAPTER_NAMES } from '../sources/registry.js';
import { listFiles } from '../sources/walk.js';

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
  adapter: Adapter<CommonConfig>;
  config: CommonConfig;
}

/** Reads and validates a config without touching any catalog. */
export function prepareConfig(path: string): PreparedConfig {
  const file = resolve(path);
  const raw = readConfigFile(file);
  const data = raw.data as { adapter?: unknown } | null;
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new UserError('a config must be a mapping of keys to values', { file, line: 1 }, 'e.g. {"adapter": "standard", "table": "t.csv"}');
  }
  if (typeof data.adapter !== 'string') {
    throw new UserError("missing key 'adapter'", { file, line: 1, column: 'adapter' }, `expected one of: ${ADAPTER_NAMES.join(', ')}`);
  }
  const adapter = adapterByName(data.adapter);
  if (!adapter) {
    throw new UserError(`unknown adapter '${data.adapter}'`, { file, line: raw.lineOf(['adapter']), column: 'adapter' }, `expected one of: ${ADAPTER_NAMES.join(', ')}`);
  }
  const config = validateConfig(raw, adapter.schema, `'${adapter.name}'`);
  return { file, adapter, config };
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

function badTypeCond(c: string): string {
  return `${ident(c)} IS NOT NULL AND trim(${ident(c)}) <> '' AND TRY_CAST(trim(${ident(c)}) AS ${COLUMN_TYPES[c as keyof typeof COLUMN_TYPES]}) IS NULL`;
}

async function validateStage(conn: DuckDBConnection, file: string): Promise<void> {
  // One scan counts every kind of problem; only a failing check pays for locating its first row.
  const flags = [
    ...REQUIRED.map((c) => `count(*) FILTER (WHERE ${ident(c)} IS NULL OR trim(${ident(c)}) = '') AS ${ident(`null_${c}`)}`),
    `count(*) FILTER (WHERE NOT regexp_full_match(dir_name, '[A-Za-z0-9_.-]+')) AS bad_dir`,
    ...TYPED.map((c) => `count(*) FILTER (WHERE ${badTypeCond(c)}) AS ${ident(`type_${c}`)}`),
  ];
  const f = (await scalar(conn, `SELECT ${flags.join(', ')} FROM ${STAGE_TABLE}`)) ?? {};
  const first = (cond: string, extra = ''): Promise<Record<string, unknown> | undefined> =>
    scalar(conn, `SELECT ${extra}source_table, coalesce(source_row, rowid + 1) AS source_row FROM ${STAGE_TABLE} WHERE ${cond} ORDER BY coalesce(source_row, rowid + 1) LIMIT 1`);
  for (const c of REQUIRED) {
    if (Number(f[`null_${c}`] ?? 0) === 0) continue;
    const bad = await first(`${ident(c)} IS NULL OR trim(${ident(c)}) = ''`);
    throw new UserError(`row has no '${c}'`, { ...rowLocation(bad ?? {}, file), column: c }, c === 'idx' ? 'every row needs a stable identifier' : `give the column, or '${c}' in the config`);
  }
  if (Number(f.bad_dir ?? 0) > 0) {
    const bad = (await first(`NOT regexp_full_match(dir_name, '[A-Za-z0-9_.-]+')`, 'dir_name, ')) ?? {};
    throw new UserError(`dir_name '${String(bad.dir_name)}' has characters other than letters, digits, '_', '.', '-'`, { ...rowLocation(bad, file), column: 'dir_name' });
  }
  for (const c of TYPED) {
    if (Number(f[`type_${c}`] ?? 0) === 0) continue;
    const bad = (await first(badTypeCond(c), `${ident(c)} AS v, `)) ?? {};
    const t = COLUMN_TYPES[c];
    const expected = t === 'BOOLEAN' ? 'true or false' : t === 'DOUBLE' ? 'a number' : 'an integer';
    throw new UserError(`'${String(bad.v)}' is not ${expected}`, { ...rowLocation(bad, file), column: c });
  }
  const dup = await scalar(conn, `SELECT idx, count(*) AS n FROM ${STAGE_TABLE} GROUP BY idx HAVING count(*) > 1 LIMIT 1`);
  if (dup) {
    const where = await scalar(conn, `SELECT source_table, coalesce(source_row, rowid + 1) AS source_row FROM ${STAGE_TABLE} WHERE idx = ${sqlString(String(dup.idx))} ORDER BY 2 LIMIT 1 OFFSET 1`);
    throw new UserError(`idx '${String(dup.idx)}' occurs ${String(dup.n)} times`, { ...(where ? rowLocation(where, file) : { file }), column: 'idx' }, 'idx must identify one image; build it from the source\'s own identifiers');
  }
}

/**
 * Cleans each distinct raw value once in JS; the result is joined back in SQL. Only values that
 * change are kept, and a column none of whose values change is not joined at all. Returns the
 * columns that need their dictionary.
 */
async function buildDictionaries(conn: DuckDBConnection, rules: readonly SynonymRule[]): Promise<Set<string>> {
  const changed = new Set<string>();
  for (const c of CLEANED_COLUMNS) {
    const t = `dict_${c}`;
    await conn.run(`DROP TABLE IF EXISTS ${t}`);
    await conn.run(`CREATE TEMP TABLE ${t} (raw VARCHAR, clean VARCHAR)`);
    const r = await conn.runAndReadAll(`SELECT DISTINCT ${ident(c)} AS v FROM ${STAGE_TABLE} WHERE ${ident(c)} IS NOT NULL`);
    const values = r.getColumnsJson()[0] ?? [];
    if (!values.length) continue;
    const ap = await conn.createAppender(t, 'main', 'temp');
    for (const v of values) {
      const raw = String(v);
      const clean = cleanValue(c, raw, rules);
      if (clean === raw) continue;
      changed.add(c);
      ap.appendVarchar(raw);
      if (clean === null) ap.appendNull();
      else ap.appendVarchar(clean);
      ap.endRow();
    }
    ap.flushSync();
    ap.closeSync();
  }
  return changed;
}

/** Temp table missing_idx: rows with at least one listed file absent under imagesRoot. */
async function checkFiles(conn: DuckDBConnection, imagesRoot: string): Promise<void> {
  await conn.run('DROP TABLE IF EXISTS present_files');
  await conn.run('DROP TABLE IF EXISTS missing_idx');
  await conn.run('CREATE TEMP TABLE present_files (f VARCHAR)');
  const files = existsSync(imagesRoot) && statSync(imagesRoot).isDirectory() ? await listFiles(imagesRoot) : [];
  if (files.length) {
    const ap = await conn.createAppender('present_files', 'main', 'temp');
    for (const f of files) {
      ap.appendVarchar(f);
      ap.endRow();
    }
    ap.flushSync();
    ap.closeSync();
  }
  // Metadata without its images (the usual case at scale): when not even one row's first file is
  // there, every row is missing, and the file lists need not be exploded.
  const anyFirst = files.length
    ? await scalar(conn, `SELECT 1 AS y FROM ${STAGE_TABLE} s SEMI JOIN present_files p ON split_part(s.source_files, '|', 1) = p.f LIMIT 1`)
    : undefined;
  if (!anyFirst) {
    await conn.run(`CREATE TEMP TABLE missing_idx AS SELECT idx FROM ${STAGE_TABLE} WHERE source_files IS NOT NULL`);
    return;
  }
  await conn.run(
    `CREATE TEMP TABLE missing_idx AS SELECT DISTINCT e.idx FROM ` +
      `(SELECT idx, unnest(string_split(source_files, '|')) AS f FROM ${STAGE_TABLE} WHERE source_files IS NOT NULL) e ` +
      `ANTI JOIN present_files p ON e.f = p.f`,
  );
}

function cleanedSelect(hasRoot: boolean, changed: Set<string>): string {
  const parts = CATALOG_COLUMNS.map((c) => {
    let expr: string;
    if (changed.has(c)) expr = `CASE WHEN d_${c}.raw IS NULL THEN s.${ident(c)} ELSE d_${c}.clean END`;
    else if ((CLEANED_COLUMNS as readonly string[]).includes(c)) expr = `s.${ident(c)}`;
    else if (c === 'files_status') {
      expr = hasRoot ? `CASE WHEN s.source_files IS NULL THEN 'unchecked' WHEN m.idx IS NOT NULL THEN 'missing' ELSE 'present' END` : `'unchecked'`;
    } else if (c === 'source_row') expr = 'coalesce(s.source_row, s.rowid + 1)';
    else if (COLUMN_TYPES[c] === 'VARCHAR') expr = `nullif(trim(s.${ident(c)}), '')`;
    else expr = `CAST(nullif(trim(s.${ident(c)}), '') AS ${COLUMN_TYPES[c]})`;
    return `${expr} AS ${ident(c)}`;
  });
  const joins = CLEANED_COLUMNS.filter((c) => changed.has(c))
    .map((c) => `LEFT JOIN dict_${c} d_${c} ON s.${ident(c)} = d_${c}.raw`)
    .join(' ');
  const miss = hasRoot ? 'LEFT JOIN missing_idx m ON s.idx = m.idx' : '';
  return `SELECT ${parts.join(', ')} FROM ${STAGE_TABLE} s ${joins} ${miss}`;
}

async function dropScratch(conn: DuckDBConnection): Promise<void> {
  const r = await conn.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE temporary`);
  for (const row of r.getRowObjectsJson()) await conn.run(`DROP TABLE IF EXISTS temp.${ident(String(row.table_name))}`);
}

/** CYTOIMAGENET_TIMING=1 prints each ingest step's time to stderr. */
function stepTimer(): (label: string) => void {
  let last = performance.now();
  let cpu = process.cpuUsage();
  return (label) => {
    if (!process.env.CYTOIMAGENET_TIMING) return;
    const now = performance.now();
    const u = process.cpuUsage(cpu);
    process.stderr.write(`  ${label}: ${((now - last) / 1000).toFixed(2)} s (cpu ${((u.user + u.system) / 1e6).toFixed(2)} s)\n`);
    last = now;
    cpu = process.cpuUsage();
  };
}

async function ingestOne(conn: DuckDBConnection, prep: PreparedConfig, baseRules: readonly SynonymRule[]): Promise<SourceIngestReport> {
  const t0 = performance.now();
  const { adapter, config, file } = prep;
  const configDir = dirname(file);
  const userSyn = config.synonyms === undefined ? [] : Array.isArray(config.synonyms) ? config.synonyms : [config.synonyms];
  const rules = userSyn.length ? [...baseRules, ...loadRuleFiles(userSyn.map((s) => resolve(configDir, s)))] : baseRules;
  const tmp = await mkdtemp(join(tmpdir(), 'cytoimagenet-ingest-'));
  const ctx: StageContext = { conn, configFile: file, configDir, tmpDir: tmp, common: config };
  // Staging, validation and cleaning only touch connection-local temp tables; the catalog itself
  // changes inside one transaction below.
  let inTransaction = false;
  try {
    const step = stepTimer();
    const staged = await adapter.stage(config, ctx);
    step('stage');
    await validateStage(conn, file);
    step('validate');
    const changed = await buildDictionaries(conn, rules);
    step('dictionaries');
    const root = staged.imagesRoot;
    if (root) await checkFiles(conn, root);
    step('files');
    const dirRows = (await conn.runAndReadAll(`SELECT DISTINCT dir_name FROM ${STAGE_TABLE} ORDER BY dir_name`)).getRowObjectsJson();
    const dirNames = dirRows.map((r) => String(r.dir_name));
    await conn.run('BEGIN TRANSACTION');
    inTransaction = true;
    // The rows this ingest replaces: the same dir_names, and whatever this config produced before.
    await conn.run(`CREATE TEMP TABLE replaced_dirs AS SELECT DISTINCT dir_name FROM ${STAGE_TABLE} UNION SELECT dir_name FROM ${SOURCES_TABLE} WHERE config = ${sqlString(file)}`);
    const replaced = Number((await scalar(conn, `SELECT count(*) AS n FROM ${CATALOG_TABLE} WHERE dir_name IN (SELECT dir_name FROM replaced_dirs)`))?.n ?? 0);
    await conn.run(`DELETE FROM ${CATALOG_TABLE} WHERE dir_name IN (SELECT dir_name FROM replaced_dirs)`);
    await conn.run(`DELETE FROM ${SOURCES_TABLE} WHERE dir_name IN (SELECT dir_name FROM replaced_dirs)`);
    await conn.run(`DELETE FROM ${EXTRAS_TABLE} WHERE dir_name IN (SELECT dir_name FROM replaced_dirs)`);
    const clash = await scalar(conn, `SELECT c.idx, c.dir_name FROM ${CATALOG_TABLE} c SEMI JOIN ${STAGE_TABLE} s ON c.idx = s.idx LIMIT 1`);
    if (clash) {
      throw new UserError(`idx '${String(clash.idx)}' already belongs to source '${String(clash.dir_name)}'`, { file, column: 'idx' }, 'give this source another dir_name or idx prefix');
    }
    step('replace');
    // Row order in the catalog carries no meaning (source_row does), so the insert may run in parallel.
    await conn.run('SET preserve_insertion_order=false');
    try {
      await conn.run(`INSERT INTO ${CATALOG_TABLE} (${CATALOG_COLUMNS.map(ident).join(', ')}) ${cleanedSelect(root !== null, changed)}`);
    } finally {
      await conn.run('SET preserve_insertion_order=true');
    }
    step('insert');
    const licence = config.licence ?? staged.licence ?? null;
    const citation = config.citation ?? staged.citation ?? null;
    await conn.run(
      `INSERT INTO ${SOURCES_TABLE} SELECT dir_name, arg_min(database, rowid), arg_min(name, rowid), ` +
        `${licence === null ? 'NULL' : sqlString(licence)}, ${citation === null ? 'NULL' : sqlString(citation)}, ` +
        `${root === null ? 'NULL' : sqlString(root)}, ${sqlString(file)}, ${sqlString(adapter.name)} FROM ${STAGE_TABLE} GROUP BY dir_name`,
    );
    const extraCols = (await conn.runAndReadAll(`SELECT column_name FROM duckdb_columns() WHERE table_name = '${STAGE_TABLE}' AND database_name = 'temp' AND starts_with(column_name, 'extra:')`)).getRowObjectsJson();
    for (const r of extraCols) {
      const col = String(r.column_name);
      await conn.run(`INSERT INTO ${EXTRAS_TABLE} SELECT dir_name, idx, ${sqlString(col.slice('extra:'.length))}, ${ident(col)} FROM ${STAGE_TABLE} WHERE ${ident(col)} IS NOT NULL`);
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
    if (inTransaction) await conn.run('ROLLBACK').catch(() => undefined);
    await dropScratch(conn).catch(() => undefined);
    if (e instanceof UserError) throw e;
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new UserError(`ingest failed: ${msg}`, { file }, 'the catalog was left unchanged');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Ingests each config into the catalog (created if absent). All configs are validated before any
 * is ingested; each source is then one transaction.
 */
export async function ingestSources(configPaths: string[], catalogPath: string, options: IngestOptions = {}): Promise<IngestReport> {
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
        sources.push(await ingestOne(conn, p, rules));
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
