// `standard`: a CSV or Parquet table already in the standard schema (how large tables and other
// tools' output come in). Its idx values are kept unchanged; source_files are relative to the
// table's folder (or `images`); without source_files, path/filename locate one file.
import { dirname } from 'node:path';
import { z } from 'zod';
import { openTableReader } from './table-reader.js';
import { trimmedSql } from '../util/sql.js';
import { UserError } from '../util/errors.js';
import { isAsciiText } from '../util/ascii.js';
import {
  commonConfigShape,
  buildStageView,
  resolveFromConfig,
  resolveImages,
  tablePathForProvenance,
  ident,
  sqlString,
  STAGE_COLUMNS,
  type Adapter,
  type CommonConfig,
  type StageColumn,
} from './adapter.js';

export interface StandardConfig extends CommonConfig {
  table: string;
  images?: string;
}

const schema = z
  .object({
    ...commonConfigShape,
    adapter: z.literal('standard'),
    table: z.string().min(1),
    images: z.string().optional(),
  })
  .strict();

export const standardAdapter: Adapter<StandardConfig> = {
  name: 'standard',
  summary: 'a CSV or Parquet table in the standard schema (idx kept)',
  schema,
  async stage(config, ctx) {
    const file = resolveFromConfig(ctx, config.table);
    const loaded = await openTableReader(ctx.conn, file, { tmpDir: ctx.tmpDir });
    const has = (c: string): boolean => loaded.columns.includes(c);
    for (const c of ['dir_name', 'database', 'name'] as const) {
      if (!has(c) && !ctx.common[c]) {
        throw new UserError(
          `missing column '${c}'`,
          { file, line: 1, column: c },
          `add the column, or give '${c}' in the config`,
        );
      }
    }
    // Columns pass through raw: the catalog's insert trims them (and cleaning trims the label
    // columns), so each cell is trimmed once. Only values combined here are trimmed here.
    const raw = (c: string): string => ident(c);
    const col = (c: string): string => trimmedSql(ident(c));
    const exprs: Partial<Record<StageColumn, string>> = {};
    for (const c of STAGE_COLUMNS) if (has(c)) exprs[c] = raw(c);
    const dirExpr = ctx.common.dir_name ? sqlString(ctx.common.dir_name) : col('dir_name');
    // Without source_files (or where it is empty), path/filename locate one file.
    if (has('filename')) {
      const one = has('path')
        ? `CASE WHEN ${col('filename')} IS NULL THEN NULL WHEN ${col('path')} IS NULL THEN ${col('filename')} ELSE rtrim(${col('path')}, '/') || '/' || ${col('filename')} END`
        : col('filename');
      exprs.source_files = has('source_files') ? `coalesce(${col('source_files')}, ${one})` : one;
    }
    if (!has('idx')) {
      const files = exprs.source_files ?? 'NULL';
      exprs.idx = `${dirExpr} || '-' || (${files})`;
    }
    if (!has('source_table')) exprs.source_table = sqlString(tablePathForProvenance(ctx, file));
    else exprs.source_table = `coalesce(${col('source_table')}, ${sqlString(tablePathForProvenance(ctx, file))})`;
    // The table is never loaded into a temp table: the checks read it in parallel, the insert
    // reads it once more with each record's number (from a numbered copy written beside the checks
    // where it can be), for the rows without their own source_row.
    const sourceRow = has('source_row') ? `TRY_CAST(${col('source_row')} AS BIGINT)` : 'NULL';
    const numbering = await buildStageView(ctx, exprs, loaded.reader, sourceRow, loaded.numbered);
    return {
      imagesRoot: config.images ? resolveImages(ctx, config.images) : dirname(file),
      streamed: true,
      readingFile: file,
      checked: loaded.checked,
      // The config's own strings are in the rows too (dir_name, defaults, the table's path).
      ascii:
        loaded.ascii &&
        [ctx.common.dir_name, ctx.common.database, ctx.common.name, tablePathForProvenance(ctx, file)]
          .concat(Object.values(ctx.common.defaults ?? {}))
          .every((v) => v === undefined || isAsciiText(v)),
      numbering,
    };
  },
};
