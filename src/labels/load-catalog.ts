// I/O edge: read the catalog's DuckDB `catalog` table into a LabelTable. DuckDB does the heavy
// part (distinct values, joins to value ids, the sort by idx); JS receives only integers and idx.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBIntegerVector, type DuckDBVarCharVector } from '@duckdb/node-api';
import { CATALOG_TABLE, SOURCES_TABLE } from '../catalog/schema.js';
import { UserError } from '../util/errors.js';
import { KEY_COLUMNS, buildDictionary, type EncodedColumn, type KeyColumn, type LabelTable } from './label-table.js';

export interface LoadedCatalog {
  table: LabelTable;
  /** Rows of the catalog before exclusion. */
  totalRows: number;
  /** Rows left out by --exclude-source. */
  excludedRows: number;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

async function strings(conn: DuckDBConnection, sql: string): Promise<(string | null)[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRows().map(([v]) => (v === null || v === undefined ? null : String(v)));
}

export async function loadLabelTable(catalogPath: string, excludeSources: readonly string[]): Promise<LoadedCatalog> {
  const path = resolve(catalogPath);
  if (!existsSync(path)) throw new UserError('catalog not found', { file: path }, 'build one with `cytoimagenet ingest`');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    try {
      await conn.run(`ATTACH ${sqlString(path)} AS cat (READ_ONLY)`);
    } catch (e) {
      throw new UserError(`cannot open the catalog as a DuckDB database: ${(e as Error).message}`, { file: path });
    }
    const columns = new Set(
      await strings(conn, `SELECT column_name FROM information_schema.columns WHERE table_catalog = 'cat' AND table_name = '${CATALOG_TABLE}'`),
    );
    if (columns.size === 0) throw new UserError(`no '${CATALOG_TABLE}' table in the catalog`, { file: path }, 'build it with `cytoimagenet ingest`');
    for (const c of ['idx', 'dir_name', ...KEY_COLUMNS]) {
      if (!columns.has(c)) throw new UserError(`the '${CATALOG_TABLE}' table has no column '${c}'`, { file: path, column: c });
    }

    const known = new Set((await strings(conn, `SELECT DISTINCT dir_name FROM cat.${CATALOG_TABLE} WHERE dir_name IS NOT NULL`)) as string[]);
    const hasSources = (await strings(conn, `SELECT table_name FROM information_schema.tables WHERE table_catalog = 'cat' AND table_name = '${SOURCES_TABLE}'`)).length > 0;
    if (hasSources) for (const s of await strings(conn, `SELECT dir_name FROM cat.${SOURCES_TABLE}`)) if (s !== null) known.add(s);
    const unknown = excludeSources.filter((s) => !known.has(s));
    if (unknown.length) {
      throw new UserError(
        `--exclude-source: no source named ${unknown.map((s) => `'${s}'`).join(', ')} in the catalog`,
        { file: path },
        `known sources (dir_name): ${[...known].sort().join(', ') || '(none)'}`,
      );
    }

    const filter = excludeSources.length ? `WHERE dir_name IS NULL OR dir_name NOT IN (${excludeSources.map(sqlString).join(', ')})` : '';
    await conn.run(`CREATE VIEW base AS SELECT * FROM cat.${CATALOG_TABLE} ${filter}`);
    const [counts] = (
      await conn.runAndReadAll(
        `SELECT (SELECT count(*) FROM cat.${CATALOG_TABLE})::DOUBLE, count(*)::DOUBLE, count(idx)::DOUBLE, count(DISTINCT idx)::DOUBLE FROM base`,
      )
    ).getRows() as number[][];
    const [totalRows, n, nonNull, distinct] = counts.map(Number);
    if (nonNull < n) throw new UserError(`${n - nonNull} catalog rows have no idx`, { file: path, column: 'idx' });
    if (distinct < n) {
      const [dup] = await strings(conn, 'SELECT idx FROM base GROUP BY idx HAVING count(*) > 1 ORDER BY idx LIMIT 1');
      throw new UserError(`idx is not unique (e.g. '${dup}' occurs more than once)`, { file: path, column: 'idx' }, 'rebuild the catalog');
    }

    // One small value → id table per column; the main query joins them and returns ids only.
    const values = {} as Record<KeyColumn, string[]>;
    for (const c of KEY_COLUMNS) {
      const dict = buildDictionary(c, await strings(conn, `SELECT DISTINCT "${c}" FROM base WHERE "${c}" IS NOT NULL`));
      values[c] = dict.values;
      await conn.run(`CREATE TABLE "map_${c}" (raw VARCHAR, id INTEGER)`);
      const appender = await conn.createAppender(`map_${c}`);
      for (const [raw, id] of dict.idOf) {
        appender.appendVarchar(raw);
        appender.appendInteger(id);
        appender.endRow();
      }
      appender.closeSync();
    }
    const select = KEY_COLUMNS.map((c) => `coalesce("m_${c}".id, -1)`).join(', ');
    const joins = KEY_COLUMNS.map((c) => `LEFT JOIN "map_${c}" AS "m_${c}" ON b."${c}" = "m_${c}".raw`).join(' ');
    const result = await conn.stream(`SELECT b.idx, ${select} FROM base AS b ${joins} ORDER BY b.idx`);

    const idx: string[] = new Array(n);
    const codes = KEY_COLUMNS.map(() => new Int32Array(n));
    let r = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const m = chunk.rowCount;
      const idxVector = chunk.getColumnVector(0) as DuckDBVarCharVector;
      for (let i = 0; i < m; i++) idx[r + i] = idxVector.getItem(i) as string;
      KEY_COLUMNS.forEach((_, k) => {
        const v = chunk.getColumnVector(k + 1) as DuckDBIntegerVector;
        const out = codes[k];
        for (let i = 0; i < m; i++) out[r + i] = v.getItem(i) as number;
      });
      r += m;
    }
    if (r !== n) throw new Error(`catalog read ${r} rows, expected ${n}`);
    const encoded = {} as Record<KeyColumn, EncodedColumn>;
    KEY_COLUMNS.forEach((c, k) => {
      encoded[c] = { values: values[c], codes: codes[k] };
    });
    return { table: { n, idx, columns: encoded }, totalRows, excludedRows: totalRows - n };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
