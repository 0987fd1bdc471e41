// A catalog's identity: labels and builds record it, so a labels folder or release made from
// another catalog is refused before any work starts. Order-independent (bit_xor of row hashes).
import { DuckDBInstance } from '@duckdb/node-api';
import { CATALOG_COLUMNS, CATALOG_TABLE } from '../sources/schema.js';

export async function catalogFingerprint(catalogPath: string): Promise<string> {
  const instance = await DuckDBInstance.create(catalogPath, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  try {
    const cols = CATALOG_COLUMNS.map((c) => `coalesce(CAST("${c}" AS VARCHAR), '\u0001')`).join(', ');
    const reader = await conn.runAndReadAll(
      `SELECT count(*)::VARCHAR AS n, coalesce(bit_xor(hash(${cols})), 0)::VARCHAR AS h FROM ${CATALOG_TABLE}`,
    );
    const [row] = reader.getRowObjects();
    return `${row.n}-${row.h}`;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
