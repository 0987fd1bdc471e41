// The standard schema: one row per image (an image may be several channel files merged into one).
// Column order is the spec's "Metadata associated with each image", then provenance.
import type { Category } from '../defaults.js';

/**
 * The columns that describe what an image shows: the 7 label categories, plus microscopy and
 * channels. Ingest cleans these values (catalog/clean.ts), and a config's `defaults` may fill them.
 */
export const DESCRIPTIVE_COLUMNS = [
  'organism',
  'cell_type',
  'cell_visible',
  'phenotype',
  'compound',
  'sirna',
  'gene',
  'microscopy',
  'channels',
] as const;

/** The spec's columns, in its order. */
export const STANDARD_COLUMNS = [
  'label',
  'category',
  'database',
  'name',
  'dir_name',
  'path',
  'filename',
  'idx',
  'organism',
  'cell_type',
  'cell_visible',
  'phenotype',
  'compound',
  'sirna',
  'gene',
  'microscopy',
  'channels',
  'crop',
  'scaling',
  'x_min',
  'x_max',
  'y_min',
  'y_max',
] as const;

/**
 * Provenance the original lacked:
 * - source_files: the row's ordered channel files, '|'-separated, relative to the source root;
 * - source_table / source_row: the metadata file and 1-based data line the row came from;
 * - files_status: 'present', 'missing' (some file absent) or 'unchecked' (no image folder given).
 */
export const PROVENANCE_COLUMNS = ['source_files', 'source_table', 'source_row', 'files_status'] as const;

export const CATALOG_COLUMNS = [...STANDARD_COLUMNS, ...PROVENANCE_COLUMNS] as const;
export type CatalogColumn = (typeof CATALOG_COLUMNS)[number];

/** DuckDB types; every other column is VARCHAR (NULL = missing). */
export const COLUMN_TYPES: Record<CatalogColumn, string> = Object.fromEntries(
  CATALOG_COLUMNS.map((c) => [c, 'VARCHAR']),
) as Record<CatalogColumn, string>;
COLUMN_TYPES.crop = 'BOOLEAN';
COLUMN_TYPES.scaling = 'DOUBLE';
COLUMN_TYPES.x_min = 'INTEGER';
COLUMN_TYPES.x_max = 'INTEGER';
COLUMN_TYPES.y_min = 'INTEGER';
COLUMN_TYPES.y_max = 'INTEGER';
COLUMN_TYPES.source_row = 'BIGINT';

/** Name of the catalog table in the DuckDB file, and of the per-source table beside it. */
export const CATALOG_TABLE = 'catalog';
/**
 * One row per ingested source: dir_name (primary key), database, name, licence, citation,
 * images_root (absolute folder the source_files are relative to, or NULL), config (absolute path
 * of the config it came from), adapter.
 */
export const SOURCES_TABLE = 'sources';

export interface CatalogRow {
  label: string | null;
  category: Category | null;
  database: string;
  name: string;
  dir_name: string;
  path: string | null;
  filename: string | null;
  idx: string;
  organism: string | null;
  cell_type: string | null;
  cell_visible: string | null;
  phenotype: string | null;
  compound: string | null;
  sirna: string | null;
  gene: string | null;
  microscopy: string | null;
  channels: string | null;
  crop: boolean | null;
  scaling: number | null;
  x_min: number | null;
  x_max: number | null;
  y_min: number | null;
  y_max: number | null;
  source_files: string | null;
  source_table: string | null;
  source_row: number | null;
  files_status: 'present' | 'missing' | 'unchecked';
}
