// `cytoimagenet-table`: the original's per-dataset tables in its unified schema
// ({dir_name}_metadata.csv: database,name,organism,cell_type,cell_component,phenotype,channels,
// microscopy,dir_name,path,filename [+ gene/compound/sirna]). cell_component is the old name of
// cell_visible; list literals become '|' lists; the original's absolute /ferrero/stan_data/<dir>/
// prefix is dropped so source_files are relative to the dataset's own folder. Optionally reads
// datasets_info.csv for the source's link (citation) and names.
import { z } from 'zod';
import { loadTable, requireColumns } from './table-reader.js';
import { UserError } from '../util/errors.js';
import { readDatasetsInfo } from './datasets-info.js';
import {
  commonConfigShape,
  buildStage,
  resolveFromConfig,
  resolveImages,
  tablePathForProvenance,
  ident,
  sqlString,
  type Adapter,
  type CommonConfig,
  type StageColumn,
} from './adapter.js';

export interface CytoimagenetTableConfig extends CommonConfig {
  table: string;
  datasets_info?: string;
  images?: string;
}

const schema = z
  .object({
    ...commonConfigShape,
    adapter: z.literal('cytoimagenet-table'),
    table: z.string().min(1),
    datasets_info: z.string().optional(),
    images: z.string().optional(),
  })
  .strict();

const REQUIRED = ['database', 'name', 'dir_name', 'path', 'filename'];

export const cytoimagenetTableAdapter: Adapter<CytoimagenetTableConfig> = {
  name: 'cytoimagenet-table',
  summary: "the original CytoImageNet's *_metadata.csv tables (+ datasets_info.csv)",
  schema,
  async stage(config, ctx) {
    const file = resolveFromConfig(ctx, config.table);
    const t = await loadTable(ctx.conn, file, 'raw_cin', { tmpDir: ctx.tmpDir });
    if (t.columns.includes('download') && t.columns.includes('class_sizes')) {
      throw new UserError(
        'this is the dataset catalogue (datasets_info.csv), not a per-image table',
        { file, column: 'table' },
        "give it as 'datasets_info' and a {dir_name}_metadata.csv as 'table'",
      );
    }
    requireColumns(t, REQUIRED, file);
    const has = (c: string): boolean => t.columns.includes(c);
    const col = (c: string): string => (has(c) ? `nullif(trim(${ident(c)}), '')` : 'NULL');
    // /ferrero/stan_data/<dir_name>/a/b → a/b (the dataset's own folder layout).
    const rel = `nullif(regexp_replace(regexp_replace(coalesce(${col('path')}, ''), '^.*?/stan_data/[^/]+/?', ''), '/+$', ''), '')`;
    const file_ = `CASE WHEN ${rel} IS NULL THEN ${col('filename')} ELSE ${rel} || '/' || ${col('filename')} END`;
    const exprs: Partial<Record<StageColumn, string>> = {
      database: col('database'),
      name: col('name'),
      dir_name: col('dir_name'),
      path: rel,
      filename: col('filename'),
      idx: has('idx') ? col('idx') : `${col('dir_name')} || '-' || ${file_}`,
      organism: col('organism'),
      cell_type: col('cell_type'),
      cell_visible: has('cell_visible') ? col('cell_visible') : col('cell_component'),
      phenotype: col('phenotype'),
      compound: col('compound'),
      sirna: col('sirna'),
      gene: col('gene'),
      microscopy: col('microscopy'),
      channels: col('channels'),
      source_files: file_,
      source_table: sqlString(tablePathForProvenance(ctx, file)),
      source_row: 'rowid + 1',
    };
    if (ctx.common.dir_name)
      exprs.idx = has('idx') ? col('idx') : `${sqlString(ctx.common.dir_name)} || '-' || ${file_}`;
    await buildStage(ctx, exprs, 'raw_cin');
    let citation: string | null = null;
    if (config.datasets_info) {
      const infos = readDatasetsInfo(resolveFromConfig(ctx, config.datasets_info));
      const dirs = (await ctx.conn.runAndReadAll(`SELECT DISTINCT dir_name FROM stage`))
        .getRowObjectsJson()
        .map((r) => String(r.dir_name));
      const links = infos.filter((i) => dirs.includes(i.dir_name) && i.link).map((i) => i.link as string);
      citation = links.length ? links.join(' ') : null;
    }
    return { imagesRoot: config.images ? resolveImages(ctx, config.images) : null, citation };
  },
};
