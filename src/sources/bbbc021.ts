// `bbbc021`: Broad BBBC021v1 (human MCF7, compound profiling). One row per image set of 3 channel
// files (DAPI, Tubulin, Actin); compound kept; MOA (joined on compound + concentration) goes to
// phenotype, DMSO's MOA is empty; concentration, plate, well and replicate are kept as extras.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadTable, requireColumns } from './table-reader.js';
import { UserError } from '../util/errors.js';
import {
  commonConfigShape,
  buildStage,
  dirNameOf,
  resolveFromConfig,
  resolveImages,
  tablePathForProvenance,
  sqlString,
  type Adapter,
  type CommonConfig,
} from './adapter.js';

export interface Bbbc021Config extends CommonConfig {
  metadata: string;
  images?: string;
}

const schema = z
  .object({
    ...commonConfigShape,
    adapter: z.literal('bbbc021'),
    metadata: z.string().min(1),
    images: z.string().optional(),
  })
  .strict();

export const BBBC021_CHANNELS = ['DAPI', 'Tubulin', 'Actin'] as const;
const IMAGE_COLUMNS = [
  'TableNumber',
  'ImageNumber',
  ...BBBC021_CHANNELS.map((c) => `Image_FileName_${c}`),
  'Image_Metadata_Plate_DAPI',
  'Image_Metadata_Well_DAPI',
  'Replicate',
  'Image_Metadata_Compound',
  'Image_Metadata_Concentration',
];

export const bbbc021Adapter: Adapter<Bbbc021Config> = {
  name: 'bbbc021',
  summary: 'BBBC021v1 image/moa/compound tables: one row per 3-channel image set',
  schema,
  async stage(config, ctx) {
    const dir = resolveFromConfig(ctx, config.metadata);
    const f = (n: string): string => join(dir, `BBBC021_v1_${n}.csv`);
    for (const n of ['image', 'moa', 'compound']) {
      if (!existsSync(f(n)))
        throw new UserError(
          `BBBC021_v1_${n}.csv not found in the metadata folder`,
          { file: dir, column: 'metadata' },
          'metadata is the folder holding BBBC021_v1_image.csv, _moa.csv and _compound.csv',
        );
    }
    const image = await loadTable(ctx.conn, f('image'), 'raw_bbbc021_image', { tmpDir: ctx.tmpDir });
    requireColumns(image, IMAGE_COLUMNS, f('image'));
    const moa = await loadTable(ctx.conn, f('moa'), 'raw_bbbc021_moa', { tmpDir: ctx.tmpDir });
    requireColumns(moa, ['compound', 'concentration', 'moa'], f('moa'));
    const compound = await loadTable(ctx.conn, f('compound'), 'raw_bbbc021_compound', { tmpDir: ctx.tmpDir });
    requireColumns(compound, ['compound', 'smiles'], f('compound'));
    const badConc = (
      await ctx.conn.runAndReadAll(
        `SELECT rowid + 1 AS r, Image_Metadata_Concentration AS v FROM raw_bbbc021_image WHERE TRY_CAST(Image_Metadata_Concentration AS DOUBLE) IS NULL AND Image_Metadata_Concentration IS NOT NULL ORDER BY rowid LIMIT 1`,
      )
    ).getRowObjectsJson()[0];
    if (badConc) {
      throw new UserError(`'${String(badConc.v)}' is not a number`, {
        file: f('image'),
        line: Number(badConc.r) + 1,
        column: 'Image_Metadata_Concentration',
      });
    }
    const dirName = dirNameOf(ctx, 'bbbc021');
    const plate = 'i.Image_Metadata_Plate_DAPI';
    const files = BBBC021_CHANNELS.map((c) => `${plate} || '/' || i.Image_FileName_${c}`).join(` || '|' || `);
    // DMSO is the vehicle control: its MOA is not a phenotype.
    const moaExpr = `CASE WHEN lower(i.Image_Metadata_Compound) = 'dmso' OR lower(m.moa) = 'dmso' THEN NULL ELSE m.moa END`;
    await buildStage(
      ctx,
      {
        database: sqlString('Broad Bioimage Benchmark Collection'),
        name: sqlString('Human MCF7 cells – compound-profiling experiment'),
        dir_name: sqlString(dirName),
        path: plate,
        filename: 'i.Image_FileName_DAPI',
        // The source's own image identity: plate folder + DAPI file name (a UUID-bearing name).
        idx: `${sqlString(dirName + '-')} || ${plate} || '/' || regexp_replace(i.Image_FileName_DAPI, '\\.tif$', '')`,
        organism: sqlString('human'),
        cell_type: sqlString('mcf7'),
        compound: 'i.Image_Metadata_Compound',
        phenotype: moaExpr,
        microscopy: sqlString('fluorescence'),
        channels: sqlString('f_nucleus|f_microtubules|f_actin'),
        source_files: files,
        source_table: sqlString(tablePathForProvenance(ctx, f('image'))),
        source_row: 'i.rowid + 1',
      },
      `raw_bbbc021_image i LEFT JOIN raw_bbbc021_moa m ON m.compound = i.Image_Metadata_Compound AND TRY_CAST(m.concentration AS DOUBLE) = TRY_CAST(i.Image_Metadata_Concentration AS DOUBLE)`,
      {
        concentration: 'i.Image_Metadata_Concentration',
        plate,
        well: 'i.Image_Metadata_Well_DAPI',
        replicate: 'i.Replicate',
        moa: 'm.moa',
      },
    );
    return {
      imagesRoot: config.images ? resolveImages(ctx, config.images) : null,
      licence: null,
      citation: 'Caie et al. 2010, Mol Cancer Ther 9(6):1913–26; Ljosa et al. 2012, Nat Methods 9:637 (BBBC)',
    };
  },
};
