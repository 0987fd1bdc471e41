// A catalog's identity: labels and builds record it, so a labels folder or release made from
// another catalog is refused before any work starts. Order-independent (bit_xor of row hashes).
import { createRequire } from 'node:module';
import type { DuckDBConnection } from '@duckdb/node-api';
import type * as DuckDB from '@duckdb/node-api';
import { CATALOG_COLUMNS, CATALOG_TABLE } from '../sources/schema.js';

// Loaded with require: imported as ESM, Node first scans all of the package's ~100 CommonJS files
// for their export names (a tenth of a second of `labels`' start, which reaches DuckDB only here
// and in labels/load-catalog.ts).
const { DuckDBInstance } = createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckDB;

/**
 * The fingerprint of `table` as seen by `conn`: `cat.catalog` where the catalog is attached as
 * `cat` (the labels stage reuses its own DuckDB instance, whose buffers already hold the catalog).
 */
export async function fingerprintOf(conn: DuckDBConnection, table: string = CATALOG_TABLE): Promise<string> {
  // hash() of the typed values as they are: NULL hashes apart from '' and from every value, and a
  // value's column is part of its hash. Casting each to VARCHAR first cost 2.5× the scan.
  const cols = CATALOG_COLUMNS.map((c) => `"${c}"`).join(', ');
  const reader = await conn.runAndReadAll(
    `SELECT count(*)::VARCHAR AS n, coalesce(bit_xor(hash(${cols})), 0)::VARCHAR AS h FROM ${table}`,
  );
  const [row] = reader.getRowObjects();
  return `${row.n}-${row.h}`;
}

export async function catalogFingerprint(catalogPath: string): Promise<string> {
  const instance = await DuckDBInstance.create(catalogPath, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  try {
    return await fingerprintOf(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
