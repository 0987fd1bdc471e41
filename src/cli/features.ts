// `cytoimagenet features`: EfficientNetB0 / any ONNX model → a features table for `evaluate`
// Thin: its flags are the features options schema (src/features/options.ts); it validates them,
// calls runFeatures (which validates the fields they share) and prints the summary.
import type { Command } from 'commander';
import { featuresOptionsSchema, inputFormOf } from '../features/options.js';
import { runFeatures } from '../features/run-features.js';
import { validateOptions } from '../util/zod-options.js';
import { addOptions, optionValues } from './options.js';
import { runAction } from './run-action.js';

export function register(program: Command): void {
  const cmd = program
    .command('features')
    .description(
      'Extract image-set embeddings (EfficientNetB0 global-average-pool features from a Keras .h5, any ONNX model, or random:SEED) with one of the four methods of the paper, into a CSV/Parquet table that `cytoimagenet evaluate` reads.',
    );
  addOptions(cmd, featuresOptionsSchema).action(
    runAction(async (raw: Record<string, unknown>) => {
      const o = validateOptions(featuresOptionsSchema, optionValues(raw, featuresOptionsSchema), 'features');
      const report = await runFeatures({
        model: o.model,
        method: o.method,
        out: o.out,
        input: inputFormOf(o),
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
