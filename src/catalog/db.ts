// Opening a catalog file and making sure its tables exist. One connection per ingest/export/describe.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CATALOG_COLUMNS, CATALOG_TABLE, COLUMN_TYPES, SOURCES_TABLE } from '../sources/schema.js';
import { ident } from '../util/sql.js';

/** Source-specific fields that have no standard column (e.g. BBBC021 concentration), per row. */
export const EXTRAS_TABLE = 'extras';

export interface CatalogHandle {
  instance: DuckDBInstance;
  conn: DuckDBConnection;
}

export async function openCatalog(path: string, opts: { readOnly?: boolean } = {}): Promise<CatalogHandle> {
  const abs = resolve(path);
  if (!opts.readOnly) await mkdir(dirname(abs), { recursive: true });
  const instance = await DuckDBInstance.create(abs, opts.readOnly ? { access_mode: 'READ_ONLY' } : {});
  const conn = await instance.connect();
  // Bounded memory: large stages spill to disk instead of growing the process (≤ 2 GB goal).
  await conn.run(`SET memory_limit='1200MB'`);
  await conn.run('SET preserve_insertion_order=true');
  if (!opts.readOnly) {
    // Dictionary compression only (catalogs made before per-column compression; see
    // ensureCatalogTables): skipping DuckDB's analysis of every other string compression roughly
    // halves the write time of a large ingest.
    await conn.run(`SET force_compression='dictionary'`).catch(() => undefined);
  }
  return { instance, conn };
}

export function closeCatalog(h: CatalogHandle): void {
  h.conn.closeSync();
  h.instance.closeSync();
}

export async function withCatalog<T>(
  path: string,
  fn: (h: CatalogHandle) => Promise<T>,
  opts: { readOnly?: boolean } = {},
): Promise<T> {
  const h = await openCatalog(path, opts);
  try {
    return await fn(h);
  } finally {
    closeCatalog(h);
  }
}

/**
 * Per-column compression of a new catalog: identifiers and file names are (nearly) unique per row,
 * so a dictionary only costs time to build (storing them plain is the cheapest write); every other
 * text column repeats heavily and gets a dictionary. Numbers are left to DuckDB.
 */
const UNIQUE_TEXT = new Set<string>(['idx', 'path', 'filename', 'source_files']);

function columnCompression(c: string): string {
  if (COLUMN_TYPES[c as keyof typeof COLUMN_TYPES] !== 'VARCHAR') return '';
  return UNIQUE_TEXT.has(c) ? ' USING COMPRESSION uncompressed' : ' USING COMPRESSION dictionary';
}

export async function ensureCatalogTables(conn: DuckDBConnection): Promise<void> {
  const cols = CATALOG_COLUMNS.map((c) => `${ident(c)} ${COLUMN_TYPES[c]}${columnCompression(c)}`).join(', ');
  await conn.run(`CREATE TABLE IF NOT EXISTS ${CATALOG_TABLE} (${cols})`);
  await conn.run(
    `CREATE TABLE IF NOT EXISTS ${SOURCES_TABLE} (dir_name VARCHAR, database VARCHAR, name VARCHAR, licence VARCHAR, citation VARCHAR, images_root VARCHAR, config VARCHAR, adapter VARCHAR)`,
  );
  await conn.run(
    `CREATE TABLE IF NOT EXISTS ${EXTRAS_TABLE} (dir_name VARCHAR, idx VARCHAR, key VARCHAR, value VARCHAR)`,
  );
}
