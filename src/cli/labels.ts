// `cytoimagenet labels`: weak-label assignment over a catalog. Thin: parse, validate,
// call assignLabels, print the summary.
import type { Command } from 'commander';
import { z } from 'zod';
import { CATEGORIES, LABELS } from '../defaults.js';
import { assignLabels } from '../labels/assign-labels.js';
import { runAction } from './run-action.js';

const cliSchema = z.object({
  catalog: z.string().min(1, '--catalog needs a file'),
  out: z.string().min(1, '--out needs a folder'),
  seed: z.string().optional(),
  threshold: z.string().optional(),
  cap: z.string().optional(),
  presample: z.string().optional(),
  excludeSource: z.array(z.string()).optional(),
  category: z.array(z.string()).optional(),
});

export function register(program: Command): void {
  program
    .command('labels')
    .description(
      'Assign weak labels: visit (token, category) labels least count first, give each up to --cap unused images by exact stratified sampling, write labels.csv, assignments.csv, labels.json and summaries.',
    )
    .requiredOption('--catalog <file>', 'catalog DuckDB file (from `cytoimagenet ingest`)')
    .requiredOption('--out <dir>', 'labels folder to write')
    .option('--seed <n>', 'seed of every random draw', String(LABELS.seed))
    .option('--threshold <n>', 'minimum images for a label', String(LABELS.threshold))
    .option('--cap <n>', 'images kept per label', String(LABELS.cap))
    .option('--presample <n>', 'labels with more images are pre-sampled to this many first', String(LABELS.presample))
    .option(
      '--exclude-source <dir_name...>',
      'keep these sources out of labelling (e.g. bbbc021, held out for evaluation)',
    )
    .option('--category <name...>', `only labels from these categories (${CATEGORIES.join(', ')})`)
    .action(
      runAction(async (raw: Record<string, unknown>) => {
        const o = cliSchema.parse(raw);
        const report = await assignLabels(o.catalog, o.out, {
          seed: o.seed,
          threshold: o.threshold,
          cap: o.cap,
          presample: o.presample,
          excludeSources: o.excludeSource,
          categories: o.category,
        });
        const lines = [
          `${report.labels} labels, ${report.images} images from ${report.rows} catalog rows` +
            (report.excludedRows ? ` (${report.excludedRows} held out)` : '') +
            `; ${report.candidates} candidates, ${report.skipped} skipped.`,
          '',
          'Category        # of labels   # of images',
          ...report.perCategory.map(
            (c) => `${c.category.padEnd(16)}${String(c.labels).padStart(11)}${String(c.images).padStart(14)}`,
          ),
          '',
          `Wrote ${report.outDir}/{labels.csv, assignments.csv, labels.json, summary.md} ` +
            `in ${(report.seconds.load + report.seconds.fingerprint + report.seconds.select + report.seconds.write).toFixed(1)} s.`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
