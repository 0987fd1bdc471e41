// `cytoimagenet features`: EfficientNetB0 / any ONNX model → a features table for `evaluate`
// Thin: parse, validate, call runFeatures, print the summary.
import type { Command } from 'commander';
import { z } from 'zod';
import { runFeatures, type InputForm } from '../features/run-features.js';
import { METHODS } from '../features/preprocess.js';
import { UserError } from '../util/errors.js';
import { runAction } from './run-action.js';

const positiveInt = (what: string) =>
  z
    .string()
    .regex(/^\d+$/, `${what} must be a positive whole number`)
    .transform(Number)
    .refine((n) => n > 0, `${what} must be a positive whole number`);

const cliSchema = z.object({
  model: z.string().min(1, '--model needs a file or random:SEED'),
  method: z.enum(METHODS),
  out: z.string().min(1, '--out needs a file'),
  size: z.union([z.literal('native'), positiveInt('--size')]).default('native'),
  release: z.string().optional(),
  bbbc021: z.string().optional(),
  images: z.string().optional(),
  coos7: z.string().optional(),
  cyclops: z.string().optional(),
  files: z.string().optional(),
  batchSize: positiveInt('--batch-size').optional(),
  outputName: z.string().optional(),
  layout: z.enum(['nchw', 'nhwc']).optional(),
  threads: positiveInt('--threads').optional(),
  skipUnreadable: z.boolean().optional(),
  progress: z.boolean().optional(),
});

function inputForm(o: z.infer<typeof cliSchema>): InputForm {
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
  return { files: o.files! };
}

export function register(program: Command): void {
  program
    .command('features')
    .description(
      'Extract image-set embeddings (EfficientNetB0 global-average-pool features from a Keras .h5, any ONNX model, or random:SEED) with one of the four methods of the paper, into a CSV/Parquet table that `cytoimagenet evaluate` reads.',
    )
    .requiredOption(
      '--model <file|random:SEED>',
      'an .onnx model, a Keras EfficientNetB0 .h5 (no-top or full), or random:SEED',
    )
    .requiredOption('--method <method>', `one of ${METHODS.join(', ')}`)
    .requiredOption('--out <file>', 'features table to write (.csv or .parquet)')
    .option(
      '--size <native|N>',
      'native size (the evaluation default of the paper) or a square side such as 224 (bilinear)',
      'native',
    )
    .option('--release <dir>', 'a release folder (its metadata.csv)')
    .option('--bbbc021 <metadata_dir>', 'folder with BBBC021_v1_image.csv and BBBC021_v1_moa.csv')
    .option('--images <dir>', 'with --bbbc021: the folder holding <plate>/<file>')
    .option('--coos7 <dir>', 'a COOS-7 folder (train, test1..test4 / label / id_{protein,nucleus}.tif)')
    .option('--cyclops <dir>', 'a CyCLOPS folder (label / id_{gfp,rfp}.tif)')
    .option(
      '--files <list>',
      "a text file: one image set per line, channel files separated by '|' (relative to the list)",
    )
    .option('--batch-size <n>', 'images per inference call', '16')
    .option('--output-name <name>', 'model output to read (default: the first)')
    .option('--layout <nchw|nhwc>', 'image layout of an ONNX model whose input shape does not tell')
    .option('--threads <n>', 'onnxruntime threads (default: all cores)')
    .option('--skip-unreadable', 'skip image sets whose files cannot be read (listed on stderr) instead of stopping')
    .option('--no-progress', 'no progress bar')
    .action(
      runAction(async (raw: Record<string, unknown>) => {
        const o = cliSchema.parse(raw);
        const report = await runFeatures({
          model: o.model,
          method: o.method,
          out: o.out,
          input: inputForm(o),
          size: o.size === 'native' ? undefined : o.size,
          batchSize: o.batchSize,
          outputName: o.outputName,
          layout: o.layout === 'nchw' ? 'NCHW' : o.layout === 'nhwc' ? 'NHWC' : undefined,
          threads: o.threads,
          skipUnreadable: o.skipUnreadable,
          progress: o.progress === false ? false : undefined,
        });
        const extraction = report.seconds - report.modelSeconds;
        const rate = extraction > 0 ? report.images / extraction : 0;
        process.stdout.write(
          `${report.sets} image sets (${report.images} images) → ${report.featureDim} features each` +
            (report.skipped ? `, ${report.skipped} skipped` : '') +
            `\nmodel: ${report.model}\nwrote ${report.out} (${report.keyColumns.join(', ')}, f0..f${report.featureDim - 1}) in ${report.seconds.toFixed(1)} s (model ready in ${report.modelSeconds.toFixed(1)} s, then ${rate.toFixed(1)} images/s)\n`,
        );
      }),
    );
}
