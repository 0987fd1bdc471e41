// `cytoimagenet labels`: weak-label assignment over a catalog. Thin: the flags are the labels
// options schema (src/labels/options.ts); assignLabels validates them; print the summary.
import type { Command } from 'commander';
import { assignLabels } from '../labels/assign-labels.js';
import { labelsOptionsSchema } from '../labels/options.js';
import { addOptions, optionValues } from './options.js';
import { runAction } from './run-action.js';

export function register(program: Command): void {
  const cmd = program
    .command('labels')
    .description(
      'Assign weak labels: visit (token, category) labels least count first, give each up to --cap unused images by exact stratified sampling, write labels.csv, assignments.csv, labels.json and summaries.',
    )
    .requiredOption('--catalog <file>', 'catalog DuckDB file (from `cytoimagenet ingest`)')
    .requiredOption('--out <dir>', 'labels folder to write');
  addOptions(cmd, labelsOptionsSchema).action(
    runAction(async (raw: Record<string, unknown>) => {
      const report = await assignLabels(String(raw.catalog), String(raw.out), optionValues(raw, labelsOptionsSchema));
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
