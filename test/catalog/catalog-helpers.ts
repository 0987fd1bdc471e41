// Small helpers for the catalog tests: write a config, query a catalog read-only.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

export async function writeConfig(dir: string, name: string, config: Record<string, unknown>): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, JSON.stringify(config, null, 2));
  return p;
}

export type Row = Record<string, string | number | boolean | null>;

export async function query(catalog: string, sql: string): Promise<Row[]> {
  const instance = await DuckDBInstance.create(catalog, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  try {
    const r = await conn.runAndReadAll(sql);
    return r.getRowObjectsJson() as Row[];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export async function count(catalog: string, where = 'true'): Promise<number> {
  const [r] = await query(catalog, `SELECT count(*) AS n FROM catalog WHERE ${where}`);
  return Number(r.n);
}
