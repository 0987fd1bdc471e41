// What a source adapter is: a zod schema for its config, and a function that stages the source's
// rows in a DuckDB temp table (raw values; the catalog cleans, checks and stores them).
import type { DuckDBConnection } from '@duckdb/node-api';
import { isAbsolute, posix, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { CATALOG_COLUMNS, type CatalogColumn, DESCRIPTIVE_COLUMNS } from './schema.js';
import { ident, sqlString } from '../util/sql.js';
import { runReading, type NumberedReader } from './table-reader.js';
import { isRemote } from './fetch/entry.js';

/** Columns a config's `defaults` may fill. */
export const DEFAULTABLE = DESCRIPTIVE_COLUMNS;

/** Keys every config may carry, whatever its adapter. */
export const commonConfigShape = {
  adapter: z.string(),
  dir_name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
    .optional(),
  database: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  licence: z.string().optional(),
  citation: z.string().optional(),
  /** Extra synonym tables (paths), applied after the shipped one. */
  synonyms: z.union([z.string(), z.array(z.string())]).optional(),
  /** Accept listed files outside the images folder (absolute, or '..' past it); docs/catalog.md. */
  allow_outside_root: z.boolean().optional(),
  /** Constants for descriptive columns, used where the adapter gives no value (e.g. an IDR study's microscopy). */
  defaults: z.partialRecord(z.enum(DEFAULTABLE), z.string().min(1)).optional(),
};

export interface CommonConfig {
  adapter: string;
  dir_name?: string;
  database?: string;
  name?: string;
  licence?: string;
  citation?: string;
  synonyms?: string | string[];
  allow_outside_root?: boolean;
  defaults?: Partial<Record<(typeof DEFAULTABLE)[number], string>>;
}

/** Stage columns: every catalog column except files_status (the catalog decides it). */
export const STAGE_COLUMNS = CATALOG_COLUMNS.filter((c) => c !== 'files_status') as Exclude<
  CatalogColumn,
  'files_status'
>[];
export type StageColumn = (typeof STAGE_COLUMNS)[number];

export const STAGE_TABLE = 'stage';
/**
 * With a streamed stage (see buildStageView), the same rows numbered in file order. Numbering
 * makes DuckDB read the file on one thread, so only the pass that stores rows pays for it.
 */
export const STAGE_NUMBERED = 'stage_numbered';
/** In a streamed stage's source_row expression: the 1-based record number in file order. */
export const ROW_NUMBER = '"__cytoimagenet_row"';

export interface StageContext {
  conn: DuckDBConnection;
  /** Absolute path of the config file. */
  configFile: string;
  configDir: string;
  /** Scratch folder for unpacked archives; removed after ingest. */
  tmpDir: string;
  common: CommonConfig;
  /**
   * Where the source's images are, when not beside its tables: a folder or an http(s)/s3 URL (a
   * registry entry's `location`, src/sources/dataset-registry.ts). The images folder (or plate)
   * resolves against it (resolveImages); every other path still against configDir.
   */
  imagesBase?: string;
}

export interface StageResult {
  /** Absolute folder that source_files are relative to, or null (nothing to check). */
  imagesRoot: string | null;
  licence?: string | null;
  citation?: string | null;
  /** True when the stage is a pair of views over the file (buildStageView), not a table. */
  streamed?: boolean;
  /** The file a streamed stage reads, named in messages about its malformed lines. */
  readingFile?: string;
  /** A streamed stage over a table whose bytes are all ASCII (TableReader.ascii). */
  ascii?: boolean;
  /** A check of the file still running beside the first pass (TableReader.checked). */
  checked?: Promise<void>;
  /**
   * A streamed stage whose rows can be numbered in parallel (buildStageView's `numbered`): call
   * after the first pass; true when `stage_numbered` now reads them so (the insert may use every
   * thread), false when it numbers them by window. `cancel` stops that work on an error path.
   */
  numbering?: { finish(): Promise<boolean>; cancel(): Promise<void> };
}

export interface Adapter<C extends CommonConfig = CommonConfig> {
  name: string;
  /** One line for help text and docs. */
  summary: string;
  schema: z.ZodType<C>;
  stage(config: C, ctx: StageContext): Promise<StageResult>;
}

export function resolveFromConfig(ctx: StageContext, p: string): string {
  return resolve(ctx.configDir, p);
}

/**
 * The source's images folder (or OME-Zarr plate) named by the config: against ctx.imagesBase when
 * set (a URL base gives a URL), else like any path (resolveFromConfig). A URL or absolute path is
 * kept as given.
 */
export function resolveImages(ctx: StageContext, p: string): string {
  const base = ctx.imagesBase;
  if (base === undefined || isRemote(p) || isAbsolute(p)) return isRemote(p) ? p : resolveFromConfig(ctx, p);
  if (!isRemote(base)) return resolve(base, p);
  const rel = posix
    .normalize(p.split(sep).join('/'))
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
  const root = base.replace(/\/+$/, '');
  return rel === '.' || rel === '' ? root : `${root}/${rel}`;
}

/** A path as stored in source_table: relative to the config's folder, '/'-separated. */
export function tablePathForProvenance(ctx: StageContext, abs: string): string {
  const rel = relative(ctx.configDir, abs);
  return (rel.startsWith('..') ? abs : rel).split(sep).join('/');
}

/** dir_name: the config's, else the adapter's default. */
export function dirNameOf(ctx: StageContext, fallback: string): string {
  return ctx.common.dir_name ?? fallback;
}

/**
 * Creates the stage table from a SELECT over `from`: one SQL expression per stage column (missing
 * ones are NULL) plus optional extras (source-specific fields kept in the catalog's extras table).
 * Config-level dir_name/database/name override what the adapter computed.
 */
export async function buildStage(
  ctx: StageContext,
  exprs: Partial<Record<StageColumn, string>>,
  from: string,
  extras: Record<string, string> = {},
  readingFile?: string,
): Promise<void> {
  const cols = stageSelectList(ctx, exprs);
  const extraCols = Object.entries(extras).map(([k, x]) => `CAST(${x} AS VARCHAR) AS ${ident(`extra:${k}`)}`);
  await ctx.conn.run(`DROP TABLE IF EXISTS ${STAGE_TABLE}`);
  const sql = `CREATE TEMP TABLE ${STAGE_TABLE} AS SELECT ${[...cols, ...extraCols].join(', ')} FROM ${from}`;
  if (readingFile) await runReading(ctx.conn, sql, readingFile);
  else await ctx.conn.run(sql);
}

function stageSelectList(ctx: StageContext, exprs: Partial<Record<StageColumn, string>>): string[] {
  const e: Partial<Record<StageColumn, string>> = { ...exprs };
  if (ctx.common.database) e.database = sqlString(ctx.common.database);
  if (ctx.common.name) e.name = sqlString(ctx.common.name);
  if (ctx.common.dir_name) e.dir_name = sqlString(ctx.common.dir_name);
  for (const [c, v] of Object.entries(ctx.common.defaults ?? {})) {
    const x = e[c as StageColumn];
    e[c as StageColumn] = x ? `coalesce(nullif(trim(CAST(${x} AS VARCHAR)), ''), ${sqlString(v)})` : sqlString(v);
  }
  return STAGE_COLUMNS.map((c) => {
    const x = e[c];
    if (c === 'source_row') return `CAST(${x ?? 'NULL'} AS BIGINT) AS source_row`;
    return `CAST(${x ?? 'NULL'} AS VARCHAR) AS ${ident(c)}`;
  });
}

/**
 * A stage that is never copied: `stage` is a view over `from` (read in parallel by the checks),
 * and `stage_numbered` the same rows with source_row defaulting to the record number (read once,
 * by the insert). `sourceRow` is the table's own row number or NULL; for a large table this saves
 * materialising millions of strings in a temp table before storing them again.
 */
export async function buildStageView(
  ctx: StageContext,
  exprs: Partial<Record<StageColumn, string>>,
  from: string,
  sourceRow: string,
  startNumbered?: () => NumberedReader,
): Promise<StageResult['numbering']> {
  await ctx.conn.run(`DROP VIEW IF EXISTS ${STAGE_TABLE}`);
  await ctx.conn.run(`DROP VIEW IF EXISTS ${STAGE_NUMBERED}`);
  const plain = stageSelectList(ctx, { ...exprs, source_row: sourceRow });
  const byWindow = stageSelectList(ctx, { ...exprs, source_row: `coalesce(${sourceRow}, ${ROW_NUMBER})` });
  await ctx.conn.run(`CREATE TEMP VIEW ${STAGE_TABLE} AS SELECT ${plain.join(', ')} FROM ${from}`);
  await ctx.conn.run(
    `CREATE TEMP VIEW ${STAGE_NUMBERED} AS SELECT ${byWindow.join(', ')} FROM (SELECT *, row_number() OVER () AS ${ROW_NUMBER} FROM ${from})`,
  );
  if (!startNumbered) return undefined;
  // Started once the views stand, so nothing is left writing when they fail.
  const numbered = startNumbered();
  return {
    async finish() {
      const r = await numbered.result;
      if (!r) return false;
      const list = stageSelectList(ctx, { ...exprs, source_row: `coalesce(${sourceRow}, ${ident(r.column)})` });
      await ctx.conn.run(`CREATE OR REPLACE TEMP VIEW ${STAGE_NUMBERED} AS SELECT ${list.join(', ')} FROM ${r.reader}`);
      return true;
    },
    async cancel() {
      numbered.cancel();
      await numbered.result;
    },
  };
}

/** Re-exported so adapters import their SQL helpers from one place. */
export { sqlString, ident };
