// `hpa-kaggle-2019`: the Kaggle "Human Protein Atlas Image Classification" (2019) train.csv
// (Id, Target = space-separated class codes). One row per colour channel file, as the original
// did for HPA: blue = nucleus, red = microtubules, yellow = ER, green = the protein's location(s)
// from the 28-class code map.
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

export interface HpaConfig extends CommonConfig {
  table: string;
  images?: string;
  /** Image file extension (Kaggle ships .png). */
  extension?: string;
}

const schema = z
  .object({
    ...commonConfigShape,
    adapter: z.literal('hpa-kaggle-2019'),
    table: z.string().min(1),
    images: z.string().optional(),
    extension: z
      .string()
      .regex(/^\.[A-Za-z0-9]+$/)
      .optional(),
  })
  .strict();

/** The competition's 28 classes (code → location), lower-cased. */
export const HPA_2019_CLASSES: readonly string[] = [
  'nucleoplasm',
  'nuclear membrane',
  'nucleoli',
  'nucleoli fibrillar center',
  'nuclear speckles',
  'nuclear bodies',
  'endoplasmic reticulum',
  'golgi apparatus',
  'peroxisomes',
  'endosomes',
  'lysosomes',
  'intermediate filaments',
  'actin filaments',
  'focal adhesion sites',
  'microtubules',
  'microtubule ends',
  'cytokinetic bridge',
  'mitotic spindle',
  'microtubule organizing center',
  'centrosome',
  'lipid droplets',
  'plasma membrane',
  'cell junctions',
  'mitochondria',
  'aggresome',
  'cytosol',
  'cytoplasmic bodies',
  'rods & rings',
];

/** Channel files of one sample, in the order of the rows they become. */
export const HPA_CHANNELS = [
  { colour: 'blue', stain: 'f_nucleus', visible: 'nucleus' },
  { colour: 'red', stain: 'f_microtubules', visible: 'microtubules' },
  { colour: 'yellow', stain: 'f_er', visible: 'er' },
  { colour: 'green', stain: 'f_protein', visible: null },
] as const;

export const hpaKaggle2019Adapter: Adapter<HpaConfig> = {
  name: 'hpa-kaggle-2019',
  summary: 'Kaggle HPA 2019 train.csv: one row per colour channel, 28-class map',
  schema,
  async stage(config, ctx) {
    const file = resolveFromConfig(ctx, config.table);
    const t = await loadTable(ctx.conn, file, 'raw_hpa', { tmpDir: ctx.tmpDir });
    requireColumns(t, ['Id', 'Target'], file);
    const bad = (
      await ctx.conn.runAndReadAll(
        `SELECT rowid + 1 AS r, Target AS v FROM raw_hpa WHERE NOT regexp_full_match(coalesce(trim(Target), ''), '([0-9]|1[0-9]|2[0-7])( ([0-9]|1[0-9]|2[0-7]))*') ORDER BY rowid LIMIT 1`,
      )
    ).getRowObjectsJson()[0];
    if (bad) {
      throw new UserError(
        `Target '${String(bad.v ?? '')}' is not a list of class codes 0–27`,
        { file, line: Number(bad.r) + 1, column: 'Target' },
        'Target holds space-separated codes such as "16 0"',
      );
    }
    const dirName = dirNameOf(ctx, 'kag_hpa');
    const ext = config.extension ?? '.png';
    const classList = `[${HPA_2019_CLASSES.map(sqlString).join(', ')}]`;
    const green = `array_to_string(list_transform(string_split(trim(h.Target), ' '), x -> ${classList}[CAST(x AS INTEGER) + 1]), '|')`;
    const channels = `(VALUES ${HPA_CHANNELS.map((c, i) => `(${i}, ${sqlString(c.colour)}, ${sqlString(c.stain)}, ${c.visible ? sqlString(c.visible) : 'NULL'})`).join(', ')}) ch(k, colour, stain, visible)`;
    await buildStage(
      ctx,
      {
        database: sqlString('Kaggle'),
        name: sqlString('Human Protein Atlas Image Classification (2019)'),
        dir_name: sqlString(dirName),
        filename: `h.Id || '_' || ch.colour || ${sqlString(ext)}`,
        idx: `${sqlString(dirName + '-')} || h.Id || '_' || ch.colour`,
        organism: sqlString('human'),
        cell_visible: `coalesce(ch.visible, ${green})`,
        microscopy: sqlString('confocal'),
        channels: 'ch.stain',
        source_files: `h.Id || '_' || ch.colour || ${sqlString(ext)}`,
        source_table: sqlString(tablePathForProvenance(ctx, file)),
        source_row: 'h.rowid + 1',
      },
      `raw_hpa h CROSS JOIN ${channels}`,
      { target: 'h.Target' },
    );
    return {
      imagesRoot: config.images ? resolveImages(ctx, config.images) : null,
      licence: 'CC BY-SA 3.0 (Human Protein Atlas)',
      citation: 'Ouyang et al. 2019, Nat Methods 16:1254 (Human Protein Atlas Image Classification, Kaggle 2019)',
    };
  },
};
