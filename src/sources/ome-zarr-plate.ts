// `ome-zarr-plate`: an OME-Zarr HCS plate (NGFF 0.4/0.5; a local folder or a URL), one row per
// field: idx `{dir_name}-{plate}-{row}{column}-{field}`, source_files the field's image group
// (which stands for all its channels, read in place by the build), channels from the first
// field's omero labels (a plate's fields share their channels), plate/well/field in extras.
// Labels come from an optional annotation table joined on plate and well, as the idr adapter
// joins its screens' annotation (same column names, IDR_COLUMN_MAP). Reads: the plate's
// attributes, one per well, and one image's; no pixels.
import { basename, dirname } from 'node:path';
import { z } from 'zod';
import { loadTable } from './table-reader.js';
import { CATALOG_COLUMNS } from './schema.js';
import { UserError } from '../util/errors.js';
import { isRemote, parseEntry } from './fetch/entry.js';
import { FetchError } from './fetch/http.js';
import { IDR_COLUMN_MAP } from './idr.js';
import { EntryStore, groupAttributes, OmeZarrError, openImage } from './ome-zarr.js';
import {
  buildStage,
  commonConfigShape,
  ident,
  resolveFromConfig,
  resolveImages,
  sqlString,
  tablePathForProvenance,
  type Adapter,
  type CommonConfig,
  type StageColumn,
} from './adapter.js';

export interface OmeZarrPlateConfig extends CommonConfig {
  plate: string;
  annotation?: string;
  plate_column?: string;
  well_column?: string;
  columns?: Partial<Record<string, string>>;
}

const schema = z
  .object({
    ...commonConfigShape,
    adapter: z.literal('ome-zarr-plate'),
    plate: z.string().min(1),
    annotation: z.string().min(1).optional(),
    plate_column: z.string().min(1).optional(),
    well_column: z.string().min(1).optional(),
    columns: z.partialRecord(z.enum(CATALOG_COLUMNS as unknown as [string, ...string[]]), z.string().min(1)).optional(),
  })
  .strict();

export interface PlateField {
  plate: string;
  row: string;
  column: string;
  /** Well path inside the plate, e.g. A/01. */
  wellPath: string;
  /** Image path inside the well, e.g. 0. */
  field: string;
}

export interface PlateListing {
  name: string;
  fields: PlateField[];
  /** Channel names of the first field (omero labels). */
  channels: string[];
}

type Json = Record<string, unknown>;

/** Every field of a plate, in the plate's well order, then the well's image order. */
export async function listPlate(location: string): Promise<PlateListing> {
  const p = parseEntry(location);
  const store = new EntryStore(p.resolved, p.remote);
  const { attrs } = await groupAttributes(store, location);
  const plate = attrs.plate as Json | undefined;
  if (!plate) throw new OmeZarrError(location, 'has no plate metadata (not an OME-Zarr HCS plate)');
  const name = String(plate.name ?? basename(p.location).replace(/(\.ome)?\.zarr$/i, ''));
  const rows = ((plate.rows as Json[] | undefined) ?? []).map((r) => String(r.name));
  const cols = ((plate.columns as Json[] | undefined) ?? []).map((c) => String(c.name));
  const wells = (plate.wells as Json[] | undefined) ?? [];
  const perWell = await Promise.all(
    wells.map(async (w) => {
      const wellPath = String(w.path);
      const [rowName, colName] = wellPath.split('/');
      const row = typeof w.rowIndex === 'number' ? (rows[w.rowIndex] ?? rowName) : rowName;
      const column = typeof w.columnIndex === 'number' ? (cols[w.columnIndex] ?? colName) : colName;
      const ws = new EntryStore(`${p.resolved}/${wellPath}`, p.remote);
      const wa = (await groupAttributes(ws, `${location}/${wellPath}`)).attrs.well as Json | undefined;
      const images = ((wa?.images as Json[] | undefined) ?? []).map((i) => String(i.path));
      return images.map((field) => ({ plate: name, row, column, wellPath, field }));
    }),
  );
  const fields = perWell.flat();
  const channels =
    fields.length > 0 ? (await openImage(`${p.location}/${fields[0].wellPath}/${fields[0].field}`)).channels : [];
  return { name, fields, channels };
}

export const omeZarrPlateAdapter: Adapter<OmeZarrPlateConfig> = {
  name: 'ome-zarr-plate',
  summary: 'an OME-Zarr HCS plate, local or a URL (one row per field; labels from an annotation on plate/well)',
  schema: schema as unknown as z.ZodType<OmeZarrPlateConfig>,
  async stage(config, ctx) {
    // A URL in the config is read where it is, its rows unchecked; a path resolves against the
    // source's folder, or its images location (which may be a URL: then the rows are checked there).
    const given = isRemote(config.plate);
    const plateAt = given ? config.plate.replace(/\/+$/, '') : resolveImages(ctx, config.plate);
    const remote = isRemote(plateAt);
    let listing: PlateListing;
    try {
      listing = await listPlate(plateAt);
    } catch (e) {
      const why = e instanceof OmeZarrError || e instanceof FetchError ? e.reason : (e as Error).message;
      throw new UserError(
        `cannot read the plate: ${why}`,
        { file: ctx.configFile, column: 'plate' },
        'plate is the folder or URL of an OME-Zarr HCS plate (…/plate.ome.zarr)',
      );
    }
    if (listing.fields.length === 0)
      throw new UserError('the plate lists no fields', { file: plateAt, column: 'plate' });
    // dir_name defaults to the store's name (plate.ome.zarr → plate)
    const storeName = basename(plateAt).replace(/(\.ome)?\.zarr$/i, '');
    const dirName = ctx.common.dir_name ?? (storeName.replace(/[^A-Za-z0-9_.-]+/g, '_') || 'ome-zarr');
    // Local plates (and plates under a location): entries relative to the plate's folder, so the
    // catalog's file check sees them.
    const base = given ? plateAt : basename(plateAt);
    const t = 'raw_plate_fields';
    await ctx.conn.run(`DROP TABLE IF EXISTS ${t}`);
    await ctx.conn.run(
      `CREATE TEMP TABLE ${t} (n BIGINT, plate VARCHAR, row_name VARCHAR, col_name VARCHAR, well_path VARCHAR, field VARCHAR)`,
    );
    const ap = await ctx.conn.createAppender(t, 'main', 'temp');
    listing.fields.forEach((f, i) => {
      ap.appendBigInt(BigInt(i + 1));
      ap.appendVarchar(f.plate);
      ap.appendVarchar(f.row);
      ap.appendVarchar(f.column);
      ap.appendVarchar(f.wellPath);
      ap.appendVarchar(f.field);
      ap.endRow();
    });
    ap.flushSync();
    ap.closeSync();

    const e: Partial<Record<StageColumn, string>> = {
      database: sqlString('OME-Zarr'),
      name: sqlString(listing.name),
      dir_name: sqlString(dirName),
      idx: `${sqlString(`${dirName}-`)} || f.plate || '-' || f.row_name || f.col_name || '-' || f.field`,
      path: `${sqlString(`${base}/`)} || f.well_path`,
      filename: 'f.field',
      source_files: `${sqlString(`${base}/`)} || f.well_path || '/' || f.field`,
      channels: listing.channels.length ? sqlString(listing.channels.join('|')) : 'NULL',
      source_table: sqlString(remote ? plateAt : tablePathForProvenance(ctx, plateAt)),
      source_row: 'f.n',
    };
    let from = `${t} f`;
    const mapped = new Set<string>();
    if (config.annotation) {
      const file = resolveFromConfig(ctx, config.annotation);
      const loaded = await loadTable(ctx.conn, file, 'raw_plate_annotation', { tmpDir: ctx.tmpDir });
      const has = (c: string): boolean => loaded.columns.includes(c);
      const plateCol = config.plate_column ?? 'Plate';
      const wellCol = config.well_column ?? 'Well';
      for (const [key, what] of [
        [plateCol, 'plate_column'],
        [wellCol, 'well_column'],
      ]) {
        if (!has(key))
          throw new UserError(
            `missing column '${key}'`,
            { file, line: 1, column: key },
            `the annotation is joined on plate and well; name its columns with ${what}`,
          );
      }
      for (const [col, cands] of Object.entries(IDR_COLUMN_MAP)) {
        const c = cands.find(has);
        if (c) e[col as StageColumn] = `a.${ident(c)}`;
      }
      const organisms = loaded.columns.filter((c) => /^Characteristics \[Organism( \d+)?\]$/.test(c));
      if (organisms.length)
        e.organism = `nullif(concat_ws('|', ${organisms.map((c) => `a.${ident(c)}`).join(', ')}), '')`;
      for (const [col, src] of Object.entries(config.columns ?? {})) {
        if (src !== undefined && has(src)) {
          e[col as StageColumn] = `a.${ident(src)}`;
          mapped.add(col);
        }
      }
      // Wells as the annotation writes them (A01, A1, a01) meet the plate's (row A, column 01).
      const wellKey = (x: string): string =>
        `upper(regexp_extract(${x}, '^([A-Za-z]+)', 1)) || '-' || CAST(TRY_CAST(regexp_extract(${x}, '(\\d+)$', 1) AS INTEGER) AS VARCHAR)`;
      // One annotation row per (plate, well): a table with per-field rows keeps its first.
      await ctx.conn.run(
        `CREATE OR REPLACE TEMP TABLE plate_annotation AS SELECT * FROM (SELECT *, ${wellKey(`trim(${ident(wellCol)})`)} AS __well_key, row_number() OVER (PARTITION BY trim(${ident(plateCol)}), ${wellKey(`trim(${ident(wellCol)})`)} ORDER BY rowid) AS __k FROM raw_plate_annotation) WHERE __k = 1`,
      );
      from += ` LEFT JOIN plate_annotation a ON trim(a.${ident(plateCol)}) = f.plate AND a.__well_key = ${wellKey('f.row_name || f.col_name')}`;
    }
    for (const col of Object.keys(config.columns ?? {})) {
      if (!mapped.has(col))
        throw new UserError(`column '${config.columns?.[col]}' (for ${col}) is not in the annotation table`, {
          file: ctx.configFile,
          column: `columns.${col}`,
        });
    }
    await buildStage(ctx, e, from, {
      plate: 'f.plate',
      well: 'f.row_name || f.col_name',
      field: 'f.field',
    });
    return {
      imagesRoot: given ? null : dirname(plateAt),
    };
  },
};
