// cytoimagenet describe --catalog FILE --out DIR
import type { Command } from 'commander';
import { z } from 'zod';
import { runAction } from './run-action.js';
import { describeCatalog } from '../catalog/describe.js';
import { LABELS } from '../defaults.js';
import { integer } from '../util/zod-options.js';

const Options = z.object({
  catalog: z.string().min(1),
  out: z.string().min(1),
  threshold: integer('--threshold', { min: 1 }).default(LABELS.threshold),
});

export function register(program: Command): void {
  program
    .command('describe')
    .description(
      'Summarise a catalog: labels and rows per category, rows per database and per source (CSV + SVG/PNG charts).',
    )
    .requiredOption('--catalog <file>', 'catalog file (DuckDB)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--threshold <n>', `count labels with at least n rows separately (default ${LABELS.threshold}, the spec's)`)
    .action(
      runAction(async (raw: unknown) => {
        const opts = Options.parse(raw);
        const d = await describeCatalog(opts.catalog, opts.out, { threshold: opts.threshold });
        process.stdout.write(`${d.rows} rows from ${d.sources.length} sources in ${d.databases.length} databases\n`);
        process.stdout.write(`category        labels  ≥${d.threshold}  rows\n`);
        for (const c of d.categories) {
          process.stdout.write(
            `${c.category.padEnd(14)} ${String(c.labels).padStart(7)} ${String(c.labelsAtThreshold).padStart(5)}  ${c.rows}\n`,
          );
        }
        process.stdout.write(`wrote ${d.files.length} files to ${opts.out}\n`);
      }),
    );
}
