// I/O edge: read the catalog's DuckDB `catalog` table into a LabelTable. DuckDB does the heavy
// part (distinct values, joins to value ids, the sort by idx); JS receives only integers and idx bytes.
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type * as DuckDB from '@duckdb/node-api';
import { fingerprintOf } from '../catalog/fingerprint.js';
import { CATALOG_TABLE, SOURCES_TABLE } from '../sources/schema.js';
import { UserError } from '../util/errors.js';
import { sqlString } from '../util/sql.js';
import { registerScratch, removeStaleScratch } from '../util/scratch.js';
import {
  type CatalogSession,
  distinctValues,
  openCatalogSession,
  spillFolder,
  takeEarlySession,
} from './catalog-session.js';
import { debugClock } from './debug-clock.js';
import { readEncodedRows, type EncodedRows } from './encoded-rows.js';
import { bitsFor, planPacks } from './packed-codes.js';
import { KEY_COLUMNS, dictionaryOf, type EncodedColumn, type KeyColumn, type LabelTable } from './label-table.js';

export interface LoadedCatalog {
  table: LabelTable;
  /** Rows of the catalog before exclusion. */
  totalRows: number;
  /** Rows left out by --exclude-source. */
  excludedRows: number;
  /**
   * The catalog's fingerprint (catalog/fingerprint.ts), computed on DuckDB's threads while JS
   * parses and selects; the DuckDB instance is closed once it is done.
   */
  fingerprint: Promise<string>;
}

type DuckDBConnection = DuckDB.DuckDBConnection;

/** `.labels-rows.<pid>.<ms>.csv`, `.labels-spill.<pid>`, and writeFileAtomic's `.<name>.<pid>.<hex>.tmp`. */
const STALE_SCRATCH = /^\.(?:labels-rows\.(\d+)\.\d+\.csv|labels-spill\.(\d+)|[^/]+\.(\d+)\.[0-9a-f]{8}\.tmp)$/;

async function strings(conn: DuckDBConnection, sql: string): Promise<(string | null)[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRows().map(([v]) => (v === null || v === undefined ? null : String(v)));
}

/**
 * @param scratchDir where a temporary file of encoded rows may be written (and is removed):
 *   the labels folder, so nothing is written outside the output folder.
 */
export async function loadLabelTable(
  catalogPath: string,
  excludeSources: readonly string[],
  scratchDir: string,
): Promise<LoadedCatalog> {
  const path = resolve(catalogPath);
  if (!existsSync(path))
    throw new UserError('catalog not found', { file: path }, 'build one with `cytoimagenet ingest`');
  const lap = debugClock();
  await mkdir(scratchDir, { recursive: true });
  // Leftovers of a run that was killed: its row CSV, spill folder and half-written outputs.
  removeStaleScratch(scratchDir, STALE_SCRATCH);
  // A sort too big for memory spills here, inside the output folder, never into the cwd.
  const spill = spillFolder(scratchDir);
  const unregisterSpill = registerScratch(spill);
  // The session the CLI opened while it loaded (catalog-session.ts), or a new one.
  const early = await takeEarlySession(path, spill);
  let session: CatalogSession;
  try {
    session = early ?? (await openCatalogSession(path, spill));
  } catch (e) {
    unregisterSpill();
    throw new UserError(`cannot open the catalog as a DuckDB database: ${(e as Error).message}`, { file: path });
  }
  const { instance, conn } = session;
  let fingerprint: Promise<string> | undefined;
  let fingerprintConn: DuckDBConnection | undefined;
  /**
   * Submits the fingerprint query and returns once DuckDB has it: the select that follows is
   * synchronous, so a query still waiting for an await (a connect, a SET) would not start before
   * the event loop turns again, after it.
   */
  const startFingerprint = async (): Promise<void> => {
    fingerprintConn ??= await instance.connect();
    // One DuckDB thread: the JS work beside it (parse, select, write) is the longer path, and with
    // two DuckDB threads on a 2-core machine it would get two thirds of a core instead of one.
    await fingerprintConn.run('SET threads = 1');
    fingerprint = fingerprintOf(fingerprintConn, `cat.${CATALOG_TABLE}`); // submitted here
    fingerprint.catch(() => undefined); // reported where it is awaited
  };
  const close = async (): Promise<void> => {
    await fingerprint?.catch(() => undefined);
    fingerprintConn?.closeSync();
    conn.closeSync();
    instance.closeSync();
    await rm(spill, { recursive: true, force: true });
    unregisterSpill();
  };
  try {
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

    // Each column's distinct raw values, numbered by DuckDB (rid). One statement joins rids onto
    // the rows, packs them into a few 31-bit numbers (packed-codes.ts), sorts by idx and writes
    // them + idx to a scratch CSV that JS parses as bytes. Strings never cross into JS per row:
    // 2.7 M × 10 values through the node API, or one materialised result of them, cost far more
    // than DuckDB's parallel CSV writer. While DuckDB writes, JS reads the distinct values (once,
    // as JSON) and builds each column's dictionary: normalised values, sorted, and rid → id.
    lap(early ? 'checks (DuckDB opened the catalog while the command loaded)' : 'checks');
    const { rawCount, json } = early?.distinct ?? (await distinctValues(conn));
    const packs = planPacks(rawCount.map(bitsFor));
    const mapSql: string[] = [];
    // Each map holds a raw value's field already shifted into place: a pack is a sum.
    for (const pack of packs) {
      let shift = 0;
      pack.columns.forEach((k, i) => {
        mapSql.push(
          `CREATE TEMP TABLE "map_${KEY_COLUMNS[k]}" AS SELECT raw, ((rid + 1) * ${2 ** shift})::INTEGER AS f FROM dv WHERE k = ${k}`,
        );
        shift += pack.bits[i];
      });
    }
    for (const sql of mapSql) await conn.run(sql);
    lap('distinct values (DuckDB)');
    const select = packs
      .map((p) => `(${p.columns.map((k) => `coalesce("m_${KEY_COLUMNS[k]}".f, 0)`).join(' + ')})`)
      .join(', ');
    const joins = KEY_COLUMNS.map((c) => `LEFT JOIN "map_${c}" AS "m_${c}" ON b."${c}" = "m_${c}".raw`).join(' ');
    const scratch = join(scratchDir, `.labels-rows.${process.pid}.${Date.now()}.csv`);
    let encoded: EncodedRows;
    let dicts: { values: string[]; fieldOf: Int32Array }[];
    const unregisterScratch = registerScratch(scratch);
    try {
      fingerprintConn = await instance.connect();
      const copied = conn.run(
        `COPY (SELECT ${select}, b.idx FROM base AS b ${joins} ORDER BY b.idx) TO ${sqlString(scratch)} (FORMAT csv, HEADER false, DELIMITER ',', QUOTE '"', ESCAPE '"')`,
      );
      copied.catch(() => undefined); // awaited below
      // Once DuckDB's part is done, the fingerprint runs on its thread while JS parses and selects.
      const fingerprintStarted = copied.then(async () => {
        // Test hook: be killed (SIGKILL) or stopped (SIGTERM) while the scratch CSV exists.
        const crash = process.env.CYTOIMAGENET_LABELS_CRASH_AT;
        if (crash === 'rows') process.kill(process.pid, 'SIGKILL');
        if (crash === 'rows-term') process.kill(process.pid, 'SIGTERM');
        await startFingerprint();
      });
      fingerprintStarted.catch(() => undefined); // awaited below
      try {
        dicts = KEY_COLUMNS.map((c, k) => dictionaryOf(c, JSON.parse(json[k]) as string[]));
      } catch (e) {
        await copied.catch(() => undefined);
        throw e;
      }
      lap('dictionaries (JS) beside encode, sort (DuckDB)');
      const fieldOf = dicts.map((d) => d.fieldOf);
      try {
        // While DuckDB writes the file: its sort is done, and the parse keeps pace with the writing.
        encoded = await readEncodedRows(scratch, packs, fieldOf, n, copied);
      } catch {
        // DuckDB's error, or a file read before its bytes landed: read it again once it is whole.
        await copied;
        encoded = await readEncodedRows(scratch, packs, fieldOf, n);
      }
      await fingerprintStarted;
      lap('write and parse rows (DuckDB, JS)');
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
    packs.forEach((pack, f) => {
      let shift = 0;
      pack.columns.forEach((k, i) => {
        const mask = 2 ** pack.bits[i] - 1;
        const { words } = encoded;
        columns[KEY_COLUMNS[k]] = { values: dicts[k].values, words, stride: packs.length, word: f, shift, mask };
        shift += pack.bits[i];
      });
    });
    if (!fingerprint) await startFingerprint();
    const done = fingerprint as Promise<string>;
    const settled = close().then(() => done);
    settled.catch(() => undefined); // reported where it is awaited
    return { table: { n, idx: encoded.idx, columns }, totalRows, excludedRows: totalRows - n, fingerprint: settled };
  } catch (e) {
    // Nothing waits for the fingerprint now: stop it rather than let it hold the process.
    if (fingerprint) fingerprintConn?.interrupt();
    await close();
    throw e;
  }
}
