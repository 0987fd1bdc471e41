// I/O edge: read the catalog's DuckDB `catalog` table into a LabelTable. DuckDB does the heavy
// part (distinct values, joins to value ids, the sort by idx); JS receives only integers and idx bytes.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { CATALOG_TABLE, SOURCES_TABLE } from '../sources/schema.js';
import { UserError } from '../util/errors.js';
import { sqlString } from '../util/sql.js';
import { registerScratch, removeStaleScratch } from '../util/scratch.js';
import { parseEncodedRows, type EncodedRows } from './encoded-rows.js';
import { KEY_COLUMNS, buildDictionary, type EncodedColumn, type KeyColumn, type LabelTable } from './label-table.js';

export interface LoadedCatalog {
  table: LabelTable;
  /** Rows of the catalog before exclusion. */
  totalRows: number;
  /** Rows left out by --exclude-source. */
  excludedRows: number;
}

/** Phase timings on stderr with CYTOIMAGENET_DEBUG=1 (what to look at when a catalog is slow). */
function debugClock(): (what: string) => void {
  let t = performance.now();
  let cpu = process.cpuUsage();
  return (what) => {
    if (!process.env.CYTOIMAGENET_DEBUG) return;
    const now = performance.now();
    const used = process.cpuUsage(cpu);
    process.stderr.write(
      `labels: ${what} ${((now - t) / 1000).toFixed(2)} s (CPU ${((used.user + used.system) / 1e6).toFixed(2)} s)\n`,
    );
    t = now;
    cpu = process.cpuUsage();
  };
}

/** `.labels-rows.<pid>.<ms>.csv`, `.labels-spill.<pid>`, and writeFileAtomic's `.<name>.<pid>.<hex>.tmp`. */
const STALE_SCRATCH = /^\.(?:labels-rows\.(\d+)\.\d+\.csv|labels-spill\.(\d+)|[^/]+\.(\d+)\.[0-9a-f]{8}\.tmp)$/;

async function strings(conn: DuckDBConnection, sql: string): Promise<(string | null)[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRows().map(([v]) => (v === null || v === undefined ? null : String(v)));
}

/**
 * @param scratchDir where a temporary file of encoded rows may be written (and is removed):
 *   the labels folder, so nothing is written outside the output folder.
 * @param hooks.afterDuckDB called once DuckDB's part is done and only JS work remains.
 */
export async function loadLabelTable(
  catalogPath: string,
  excludeSources: readonly string[],
  scratchDir: string,
  hooks: { afterDuckDB?: () => void } = {},
): Promise<LoadedCatalog> {
  const path = resolve(catalogPath);
  if (!existsSync(path))
    throw new UserError('catalog not found', { file: path }, 'build one with `cytoimagenet ingest`');
  const lap = debugClock();
  await mkdir(scratchDir, { recursive: true });
  // Leftovers of a run that was killed: its row CSV, spill folder and half-written outputs.
  removeStaleScratch(scratchDir, STALE_SCRATCH);
  // A sort too big for memory spills here, inside the output folder, never into the cwd.
  const spill = join(scratchDir, `.labels-spill.${process.pid}`);
  const unregisterSpill = registerScratch(spill);
  const instance = await DuckDBInstance.create(':memory:', { temp_directory: spill });
  const conn = await instance.connect();
  try {
    try {
      await conn.run(`ATTACH ${sqlString(path)} AS cat (READ_ONLY)`);
    } catch (e) {
      throw new UserError(`cannot open the catalog as a DuckDB database: ${(e as Error).message}`, { file: path });
    }
    const present = new Set(
      await strings(
        conn,
        `SELECT column_name FROM information_schema.columns WHERE table_catalog = 'cat' AND table_name = '${CATALOG_TABLE}'`,
      ),
    );
    if (present.size === 0)
      throw new UserError(
        `no '${CATALOG_TABLE}' table in the catalog`,
        { file: path },
        'build it with `cytoimagenet ingest`',
      );
    for (const c of ['idx', 'dir_name', ...KEY_COLUMNS]) {
      if (!present.has(c))
        throw new UserError(`the '${CATALOG_TABLE}' table has no column '${c}'`, { file: path, column: c });
    }

    if (excludeSources.length) {
      const known = new Set(
        (await strings(
          conn,
          `SELECT DISTINCT dir_name FROM cat.${CATALOG_TABLE} WHERE dir_name IS NOT NULL`,
        )) as string[],
      );
      const hasSources =
        (
          await strings(
            conn,
            `SELECT table_name FROM information_schema.tables WHERE table_catalog = 'cat' AND table_name = '${SOURCES_TABLE}'`,
          )
        ).length > 0;
      if (hasSources)
        for (const s of await strings(conn, `SELECT dir_name FROM cat.${SOURCES_TABLE}`)) if (s !== null) known.add(s);
      const unknown = excludeSources.filter((s) => !known.has(s));
      if (unknown.length) {
        throw new UserError(
          `--exclude-source: no source named ${unknown.map((s) => `'${s}'`).join(', ')} in the catalog`,
          { file: path },
          `known sources (dir_name): ${[...known].sort().join(', ') || '(none)'}`,
        );
      }
    }

    const filter = excludeSources.length
      ? `WHERE dir_name IS NULL OR dir_name NOT IN (${excludeSources.map(sqlString).join(', ')})`
      : '';
    await conn.run(`CREATE VIEW base AS SELECT * FROM cat.${CATALOG_TABLE} ${filter}`);
    const [counts] = (
      await conn.runAndReadAll(`SELECT (SELECT count(*) FROM cat.${CATALOG_TABLE})::DOUBLE, count(*)::DOUBLE FROM base`)
    ).getRows() as number[][];
    const [totalRows, n] = counts.map(Number);

    // One small value → id table per column; one statement then joins, sorts by idx and writes
    // ids + idx to a scratch CSV that JS parses as bytes (reading 2.7 M × 10 values through the
    // node API one by one costs far more than DuckDB's parallel CSV writer).
    lap('checks');
    // All columns' distinct values in one statement (one scan plan, one round trip).
    const distinct = await conn.runAndReadAll(
      KEY_COLUMNS.map(
        (c, k) =>
          `SELECT ${k}::INTEGER AS k, "${c}" AS v FROM (SELECT DISTINCT "${c}" FROM base WHERE "${c}" IS NOT NULL)`,
      ).join(' UNION ALL '),
    );
    const raws = KEY_COLUMNS.map((): string[] => []);
    for (const [k, v] of distinct.getRows()) raws[Number(k)].push(String(v));
    const values = {} as Record<KeyColumn, string[]>;
    await conn.run('CREATE TABLE map (k INTEGER, raw VARCHAR, id INTEGER)');
    const appender = await conn.createAppender('map');
    KEY_COLUMNS.forEach((c, k) => {
      const dict = buildDictionary(c, raws[k]);
      values[c] = dict.values;
      for (const [raw, id] of dict.idOf) {
        appender.appendInteger(k);
        appender.appendVarchar(raw);
        appender.appendInteger(id);
        appender.endRow();
      }
    });
    appender.closeSync();
    for (const [k, c] of KEY_COLUMNS.entries())
      await conn.run(`CREATE TABLE "map_${c}" AS SELECT raw, id FROM map WHERE k = ${k}`);
    lap('distinct values');
    const select = KEY_COLUMNS.map((c) => `coalesce("m_${c}".id, -1)`).join(', ');
    const joins = KEY_COLUMNS.map((c) => `LEFT JOIN "map_${c}" AS "m_${c}" ON b."${c}" = "m_${c}".raw`).join(' ');
    const scratch = join(scratchDir, `.labels-rows.${process.pid}.${Date.now()}.csv`);
    let encoded: EncodedRows;
    const unregisterScratch = registerScratch(scratch);
    try {
      await conn.run(
        `COPY (SELECT ${select}, b.idx FROM base AS b ${joins} ORDER BY b.idx) TO ${sqlString(scratch)} (FORMAT csv, HEADER false, DELIMITER ',', QUOTE '"', ESCAPE '"')`,
      );
      lap('encode, sort and write rows (DuckDB)');
      // Test hook: be killed (SIGKILL) or stopped (SIGTERM) while the scratch CSV exists.
      const crash = process.env.CYTOIMAGENET_LABELS_CRASH_AT;
      if (crash === 'rows') process.kill(process.pid, 'SIGKILL');
      if (crash === 'rows-term') process.kill(process.pid, 'SIGTERM');
      hooks.afterDuckDB?.();
      encoded = parseEncodedRows(await readFile(scratch), KEY_COLUMNS.length, n);
      lap('parse rows');
    } finally {
      await rm(scratch, { force: true });
      unregisterScratch();
    }
    if (encoded.missingIdx) {
      throw new UserError(
        `${encoded.missingIdx} catalog rows have no idx`,
        { file: path, column: 'idx' },
        'rebuild the catalog',
      );
    }
    for (let r = 1; r < n; r++) {
      if (encoded.idx.same(r, r - 1)) {
        throw new UserError(
          `idx is not unique ('${encoded.idx.get(r)}' occurs more than once)`,
          { file: path, column: 'idx' },
          'rebuild the catalog',
        );
      }
    }
    const columns = {} as Record<KeyColumn, EncodedColumn>;
    KEY_COLUMNS.forEach((c, k) => {
      columns[c] = { values: values[c], codes: encoded.codes[k] };
    });
    return { table: { n, idx: encoded.idx, columns }, totalRows, excludedRows: totalRows - n };
  } finally {
    conn.closeSync();
    instance.closeSync();
    await rm(spill, { recursive: true, force: true });
    unregisterSpill();
  }
}
