// The labels stage's DuckDB session on a catalog: an in-memory instance with the catalog attached
// read-only as `cat`, and each key column's distinct raw values numbered (temp table dv). The CLI
// opens it as soon as it knows the command is `labels` (openCatalogEarly), so DuckDB's first steps
// run on its own threads while the rest of the command line loads and parses its options, instead
// of after them; loadLabelTable takes it when it is for its catalog and output folder, and opens
// its own otherwise (any failure here is left for loadLabelTable to report in its words).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type * as DuckDB from '@duckdb/node-api';
import { CATALOG_TABLE } from '../sources/schema.js';
import { sqlString } from '../util/sql.js';
import { KEY_COLUMNS } from './label-table.js';

// Loaded with require: imported as ESM, Node first scans all of the package's ~100 CommonJS files
// for their export names, a tenth of a second of every `labels` start.
const { DuckDBInstance } = createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckDB;

export interface DistinctValues {
  /** Per key column, its distinct raw values (non-null), numbered by dv.rid. */
  rawCount: number[];
  /** Per key column, its raw values as a JSON array, in rid order. */
  json: string[];
}

export interface CatalogSession {
  instance: DuckDB.DuckDBInstance;
  conn: DuckDB.DuckDBConnection;
}

/** The spill folder of this process's labels run in `out`: inside the output folder, never the cwd. */
export function spillFolder(out: string): string {
  return join(resolve(out), `.labels-spill.${process.pid}`);
}

/** A session with the catalog attached as `cat` (throws DuckDB's error when it is no database). */
export async function openCatalogSession(path: string, spill: string): Promise<CatalogSession> {
  const instance = await DuckDBInstance.create(':memory:', { temp_directory: spill });
  const conn = await instance.connect();
  try {
    await conn.run(`ATTACH ${sqlString(path)} AS cat (READ_ONLY)`);
  } catch (e) {
    conn.closeSync();
    instance.closeSync();
    throw e;
  }
  return { instance, conn };
}

/**
 * Each key column's distinct raw values over the whole catalog, numbered (temp table dv: k, raw,
 * rid). Over the whole catalog, --exclude-source or not: a value only excluded rows hold is a
 * value no row holds, which changes no label, stratum or summary.
 */
export async function distinctValues(conn: DuckDB.DuckDBConnection): Promise<DistinctValues> {
  await conn.run(
    `CREATE TEMP TABLE dv AS SELECT k, raw, (row_number() OVER (PARTITION BY k) - 1)::INTEGER AS rid FROM (${KEY_COLUMNS.map(
      (c, k) =>
        `SELECT ${k}::INTEGER AS k, "${c}" AS raw FROM (SELECT DISTINCT "${c}" FROM cat.${CATALOG_TABLE} WHERE "${c}" IS NOT NULL)`,
    ).join(' UNION ALL ')})`,
  );
  const rawCount = new Array<number>(KEY_COLUMNS.length).fill(0);
  const json = new Array<string>(KEY_COLUMNS.length).fill('[]');
  for (const [k, count, list] of (
    await conn.runAndReadAll('SELECT k, count(*)::DOUBLE, to_json(list(raw ORDER BY rid))::VARCHAR FROM dv GROUP BY k')
  ).getRows()) {
    rawCount[Number(k)] = Number(count);
    json[Number(k)] = String(list);
  }
  return { rawCount, json };
}

interface Early {
  path: string;
  spill: string;
  started: Promise<CatalogSession & { distinct: DistinctValues }>;
  /** Set once open: what dropEarlySession interrupts. */
  conn?: DuckDB.DuckDBConnection;
}

let early: Early | undefined;

function flag(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name) return argv[i + 1];
    if (argv[i].startsWith(`${name}=`)) return argv[i].slice(name.length + 1);
  }
  return undefined;
}

/** From the raw command line of `cytoimagenet labels`: start the session if --catalog and --out are there. */
export function openCatalogEarly(argv: readonly string[]): void {
  const catalog = flag(argv, '--catalog');
  const out = flag(argv, '--out');
  if (!catalog || !out || argv.includes('--help') || argv.includes('-h')) return;
  const path = resolve(catalog);
  if (!existsSync(path)) return;
  const spill = spillFolder(out);
  const opened = { path, spill } as Early;
  opened.started = (async () => {
    const session = await openCatalogSession(path, spill);
    opened.conn = session.conn;
    try {
      return { ...session, distinct: await distinctValues(session.conn) };
    } catch (e) {
      session.conn.closeSync();
      session.instance.closeSync();
      throw e;
    }
  })();
  opened.started.catch(() => undefined); // loadLabelTable starts over and reports
  early = opened;
}

/** The early session, when it is for this catalog and spill folder and got its distinct values. */
export async function takeEarlySession(
  path: string,
  spill: string,
): Promise<(CatalogSession & { distinct: DistinctValues }) | undefined> {
  const e = early;
  early = undefined;
  if (!e) return undefined;
  try {
    const session = await e.started;
    if (e.path === path && e.spill === spill) return session;
    session.conn.closeSync();
    session.instance.closeSync();
  } catch {
    // loadLabelTable opens its own session and reports what is wrong.
  }
  return undefined;
}

/** Close an early session nobody took (the command failed before loading its catalog). */
export async function dropEarlySession(): Promise<void> {
  const e = early;
  early = undefined;
  if (!e) return;
  e.conn?.interrupt();
  try {
    const session = await e.started;
    session.conn.closeSync();
    session.instance.closeSync();
  } catch {
    // nothing to close
  }
}
