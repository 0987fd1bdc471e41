// `cytoimagenet report`: a release → a static site (index.html, mosaic, UMAP, a page per label)
// that opens from disk. Thin: parse, validate, call runReport, print where the index is.
import type { Command } from 'commander';
import { z } from 'zod';
import { integer } from '../util/zod-options.js';
import { runReport } from '../report/run-report.js';
import { runAction } from './run-action.js';

const cliSchema = z.object({
  release: z.string().min(1, '--release needs the release folder'),
  out: z.string().min(1, '--out needs a folder'),
  model: z.string().min(1, '--model needs a file or random:SEED').optional(),
  seed: integer('--seed', { min: 0 }).default(0),
  catalog: z.string().optional(),
  umap: z.boolean().default(true),
  progress: z.boolean().optional(),
});

export function register(program: Command): void {
  program
    .command('report')
    .description(
      'Write a static site about a release (opens from disk, no server): charts of categories, sources, crops, rejects and the split; a mosaic of one image per label; a 9×9 grid and provenance page per label; a UMAP of 20 labels before and after upsampling.',
    )
    .requiredOption('--release <dir>', 'a release folder written by cytoimagenet build')
    .requiredOption('--out <dir>', 'folder for the site (new, empty, or an earlier report)')
    .option(
      '--model <file|random:SEED>',
      'model for the UMAP features: .onnx, Keras .h5, or random:SEED (default random:<seed>)',
    )
    .option('--seed <n>', 'seed for every sampled image and the UMAP', '0')
    .option(
      '--catalog <file>',
      "the catalog the release was built from: finds relative source files (thumbnails, UMAP whole images) and each reject's source",
    )
    .option('--no-umap', 'leave out the UMAP (no model is run)')
    .option('--no-progress', 'no progress bar')
    .action(
      runAction(async (raw: Record<string, unknown>) => {
        const o = cliSchema.parse(raw);
        const r = await runReport({
          release: o.release,
          out: o.out,
          model: o.model,
          seed: o.seed,
          catalog: o.catalog,
          umap: o.umap,
          progress: o.progress === false ? false : undefined,
        });
        process.stdout.write(
          `${r.labels} labels, ${r.images} images → report in ${r.seconds.toFixed(1)} s\nopen ${r.index}\n`,
        );
      }),
    );
}
