// `cytoimagenet labels`: weak-label assignment over a catalog, or the growth of a labels folder
// (--extend). Thin: the flags are the labels options schema (src/labels/options.ts); assignLabels
// or extendLabels validates them; print the summary. extendLabels (and its CSV reader) is loaded
// only for --extend.
import type { Command } from 'commander';
import { assignLabels } from '../labels/assign-labels.js';
import { dropEarlySession } from '../labels/catalog-session.js';
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
    .requiredOption('--out <dir>', 'labels folder to write')
    .option(
      '--extend <dir>',
      "grow this labels folder from a catalog that gained rows: its labels keep their images, are topped up from new rows only, and new labels come from unused rows (options are the parent's)",
    );
  addOptions(cmd, labelsOptionsSchema).action(
    runAction(async (raw: Record<string, unknown>) => {
      try {
        await labels(raw);
      } finally {
        // A catalog session opened early and never taken (the command failed before reading it).
        await dropEarlySession();
      }
    }),
  );
}

async function labels(raw: Record<string, unknown>): Promise<void> {
  // Only the flags given: --extend takes every option from the parent and refuses one that differs.
  const flags = optionValues(raw, labelsOptionsSchema);
  const extended =
    typeof raw.extend === 'string'
      ? await (await import('../labels/extend-labels.js')).extendLabels(
          String(raw.catalog),
          raw.extend,
          String(raw.out),
          flags,
        )
      : null;
  const report = extended ?? (await assignLabels(String(raw.catalog), String(raw.out), flags));
  if (extended)
    process.stdout.write(
      extended.unchanged
        ? `Nothing new in the catalog for these labels: ${report.outDir} is a copy of the parent.\n`
        : `Extended ${String(raw.extend)} (digest ${extended.parentDigest.slice(0, 12)}): ${extended.grownLabels} labels topped up with ${extended.toppedUp} images, ${extended.newLabels} new labels.\n`,
    );
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
}
