// export: the catalog as DIR/catalog.csv and DIR/catalog.parquet — the standard columns in the
// spec's order, then the provenance columns; rows ordered by source and source position so two
// exports of the same catalog are byte-identical.
import { mkdir, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { UserError } from '../util/errors.js';
import { resolveInside } from '../util/safe-path.js';
import { tempNameFor } from '../util/fs-atomic.js';
import { CATALOG_COLUMNS, CATALOG_TABLE } from '../sources/schema.js';
import { withCatalog } from './db.js';
import { ident, sqlString } from '../util/sql.js';

export interface ExportReport {
  csv: string;
  parquet: string;
  rows: number;
}

export function requireCatalogFile(catalogPath: string): string {
  const abs = resolve(catalogPath);
  if (!existsSync(abs))
    throw new UserError(
      'catalog not found',
      { file: abs },
      'create it with: cytoimagenet ingest CONFIG... --catalog FILE',
    );
  return abs;
}

export async function exportCatalog(catalogPath: string, outDir: string): Promise<ExportReport> {
  const abs = requireCatalogFile(catalogPath);
  const out = resolve(outDir);
  await mkdir(out, { recursive: true });
  const csv = resolveInside(out, 'catalog.csv');
  const parquet = resolveInside(out, 'catalog.parquet');
  return withCatalog(
    abs,
    async ({ conn }) => {
      const cols = CATALOG_COLUMNS.map(ident).join(', ');
      const query = `SELECT ${cols} FROM ${CATALOG_TABLE} ORDER BY dir_name, source_table, source_row, idx`;
      const tmpCsv = tempNameFor(csv);
      const tmpPq = tempNameFor(parquet);
      try {
        await conn.run(`COPY (${query}) TO ${sqlString(tmpCsv)} (FORMAT CSV, HEADER true)`);
        await conn.run(`COPY (${query}) TO ${sqlString(tmpPq)} (FORMAT PARQUET, COMPRESSION zstd)`);
        await rename(tmpCsv, csv);
        await rename(tmpPq, parquet);
      } catch (e) {
        await rm(tmpCsv, { force: true });
        await rm(tmpPq, { force: true });
        throw e;
      }
      const n = (await conn.runAndReadAll(`SELECT count(*) AS n FROM ${CATALOG_TABLE}`)).getRowObjectsJson()[0].n;
      return { csv, parquet, rows: Number(n) };
    },
    { readOnly: true },
  );
}
