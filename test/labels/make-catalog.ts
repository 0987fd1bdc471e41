// Test helper: a catalog DuckDB file (docs/catalog.md) built directly from JS rows. Columns left out
// of a row are NULL, except the ones the schema requires (database, name, dir_name, files_status).
import { DuckDBInstance } from '@duckdb/node-api';
import {
  CATALOG_COLUMNS,
  CATALOG_TABLE,
  COLUMN_TYPES,
  SOURCES_TABLE,
  type CatalogRow,
} from '../../src/sources/schema.js';

export type TestRow = { idx: string } & Partial<CatalogRow>;

export async function makeCatalog(path: string, rows: readonly TestRow[]): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  try {
    const cols = CATALOG_COLUMNS.map((c) => `"${c}" ${COLUMN_TYPES[c]}`).join(', ');
    await conn.run(`CREATE TABLE ${CATALOG_TABLE} (${cols})`);
    const appender = await conn.createAppender(CATALOG_TABLE);
    for (const row of rows) {
      const full: Partial<CatalogRow> = {
        database: 'Test DB',
        name: 'test set',
        dir_name: 'test',
        files_status: 'unchecked',
        ...row,
      };
      for (const c of CATALOG_COLUMNS) {
        const v = full[c];
        const type = COLUMN_TYPES[c];
        if (v === null || v === undefined) appender.appendNull();
        else if (type === 'BOOLEAN') appender.appendBoolean(Boolean(v));
        else if (type === 'DOUBLE') appender.appendDouble(Number(v));
        else if (type === 'INTEGER') appender.appendInteger(Number(v));
        else if (type === 'BIGINT') appender.appendBigInt(BigInt(v as number));
        else appender.appendVarchar(String(v));
      }
      appender.endRow();
    }
    appender.closeSync();
    await conn.run(
      `CREATE TABLE ${SOURCES_TABLE} AS SELECT dir_name, any_value(database) AS database, any_value(name) AS name,
         NULL::VARCHAR AS licence, NULL::VARCHAR AS citation, NULL::VARCHAR AS images_root, NULL::VARCHAR AS config,
         'test' AS adapter FROM ${CATALOG_TABLE} GROUP BY dir_name`,
    );
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
