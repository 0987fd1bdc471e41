// The features stage's options: one schema for the `features` command's flags and help
// (src/cli/options.ts) and for runFeatures()'s validation (the fields they share). The CLI's
// input flags become an InputForm here (inputFormOf). Defaults come from src/defaults.ts.
import { z } from 'zod';
import { FEATURES } from '../defaults.js';
import { UserError } from '../util/errors.js';
import { flag, integer, oneOf, requiredText } from '../util/zod-options.js';
import { METHODS } from './preprocess.js';
import type { InputForm } from './run-features.js';

const path = (what: string) => z.string().min(1, what);

export const featuresOptionsSchema = z.object({
  model: flag(requiredText('--model needs a file or random:SEED'), {
    flag: '--model <file|random:SEED>',
    help: 'an .onnx model, a Keras EfficientNetB0 .h5 (no-top or full), or random:SEED',
    required: true,
  }),
  method: flag(oneOf('--method', METHODS), {
    flag: '--method <method>',
    help: `one of ${METHODS.join(', ')}`,
    required: true,
  }),
  out: flag(requiredText('--out needs a file'), {
    flag: '--out <file>',
    help: 'features table to write (.csv or .parquet)',
    required: true,
  }),
  size: flag(z.union([z.literal('native'), integer('--size', { min: 1 })]).default('native'), {
    flag: '--size <native|N>',
    help: 'native size (the evaluation default of the paper) or a square side such as 224 (bilinear)',
  }),
  release: flag(path('--release needs a folder').optional(), {
    flag: '--release <dir>',
    help: 'a release folder (its metadata.csv)',
  }),
  bbbc021: flag(path('--bbbc021 needs a folder').optional(), {
    flag: '--bbbc021 <metadata_dir>',
    help: 'folder with BBBC021_v1_image.csv and BBBC021_v1_moa.csv',
  }),
  images: flag(path('--images needs a folder').optional(), {
    flag: '--images <dir>',
    help: 'with --bbbc021: the folder holding <plate>/<file>',
  }),
  coos7: flag(path('--coos7 needs a folder').optional(), {
    flag: '--coos7 <dir>',
    help: 'a COOS-7 folder (train, test1..test4 / label / id_{protein,nucleus}.tif)',
  }),
  cyclops: flag(path('--cyclops needs a folder').optional(), {
    flag: '--cyclops <dir>',
    help: 'a CyCLOPS folder (label / id_{gfp,rfp}.tif)',
  }),
  files: flag(path('--files needs a file').optional(), {
    flag: '--files <list>',
    help: "a text file: one image set per line, channel files separated by '|' (relative to the list)",
  }),
  batchSize: flag(integer('--batch-size', { min: 1 }).default(FEATURES.batchSize), {
    flag: '--batch-size <n>',
    help: 'images per inference call',
  }),
  outputName: flag(z.string().optional(), {
    flag: '--output-name <name>',
    help: 'model output to read',
    defaultHelp: 'the first',
  }),
  layout: flag(oneOf('--layout', ['nchw', 'nhwc']).optional(), {
    flag: '--layout <nchw|nhwc>',
    help: 'image layout of an ONNX model whose input shape does not tell',
  }),
  threads: flag(integer('--threads', { min: 1 }).optional(), {
    flag: '--threads <n>',
    help: 'onnxruntime threads',
    defaultHelp: 'all cores',
  }),
  skipUnreadable: flag(z.boolean().optional(), {
    flag: '--skip-unreadable',
    help: 'skip image sets whose files cannot be read (listed on stderr) instead of stopping',
  }),
  progress: flag(z.boolean().optional(), { flag: '--no-progress', help: 'no progress bar' }),
});

export type FeaturesOptions = z.output<typeof featuresOptionsSchema>;

/** What runFeatures validates of its own options: the fields it shares with the command. */
export const runFeaturesSchema = featuresOptionsSchema.pick({
  model: true,
  method: true,
  out: true,
  batchSize: true,
  outputName: true,
  threads: true,
  skipUnreadable: true,
});

/** The one input the flags name, or a UserError saying how to give exactly one. */
export function inputFormOf(o: FeaturesOptions): InputForm {
  const given = [
    o.release !== undefined && '--release',
    o.bbbc021 !== undefined && '--bbbc021',
    o.coos7 !== undefined && '--coos7',
    o.cyclops !== undefined && '--cyclops',
    o.files !== undefined && '--files',
  ].filter(Boolean);
  const hint =
    'give exactly one of --release DIR, --bbbc021 METADATA_DIR --images DIR, --coos7 DIR, --cyclops DIR, --files LIST';
  if (given.length !== 1)
    throw new UserError(given.length ? `several inputs given (${given.join(', ')})` : 'no input given', {}, hint);
  if (o.images !== undefined && o.bbbc021 === undefined) throw new UserError('--images goes with --bbbc021', {}, hint);
  if (o.release !== undefined) return { release: o.release };
  if (o.bbbc021 !== undefined) {
    if (o.images === undefined)
      throw new UserError('--bbbc021 needs --images DIR (the folder holding <plate>/<file>)', {}, hint);
    return { bbbc021: o.bbbc021, images: o.images };
  }
  if (o.coos7 !== undefined) return { coos7: o.coos7 };
  if (o.cyclops !== undefined) return { cyclops: o.cyclops };
  return { files: o.files as string };
}
