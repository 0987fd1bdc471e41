// `cytoimagenet report`: a release → a static site (index.html, mosaic, UMAP, a page per label)
// that opens from disk. Thin: its flags are the report's options schema (src/report/options.ts;
// runReport validates them); it calls runReport and prints where the index is.
import type { Command } from 'commander';
import { reportOptionsSchema } from '../report/options.js';
import { runReport } from '../report/run-report.js';
import { addOptions, optionValues } from './options.js';
import { runAction } from './run-action.js';

export function register(program: Command): void {
  addOptions(program.command('report'), reportOptionsSchema)
    .description(
      'Write a static site about a release (opens from disk, no server): charts of categories, sources, crops, rejects and the split; a mosaic of one image per label; a 9×9 grid and provenance page per label; a UMAP of 20 labels before and after upsampling.',
    )
    .action(
      runAction(async (raw: Record<string, unknown>) => {
        const o = optionValues(raw, reportOptionsSchema);
        // --no-progress gives false; without it the bar follows whether stderr is a terminal
        const r = await runReport({ ...o, progress: o.progress === false ? false : undefined });
        process.stdout.write(
          `${r.labels} labels, ${r.images} images → report in ${r.seconds.toFixed(1)} s\nopen ${r.index}\n`,
        );
      }),
    );
}
