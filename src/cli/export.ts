// cytoimagenet export --catalog FILE --out DIR
import type { Command } from 'commander';
import { z } from 'zod';
import { runAction } from './run-action.js';
import { exportCatalog } from '../catalog/export.js';

const Options = z.object({ catalog: z.string().min(1), out: z.string().min(1) });

export function register(program: Command): void {
  program
    .command('export')
    .description(
      'Write the catalog as DIR/catalog.csv and DIR/catalog.parquet (standard columns in order, then provenance).',
    )
    .requiredOption('--catalog <file>', 'catalog file (DuckDB)')
    .requiredOption('--out <dir>', 'output folder')
    .action(
      runAction(async (raw: unknown) => {
        const opts = Options.parse(raw);
        const r = await exportCatalog(opts.catalog, opts.out);
        process.stdout.write(`${r.rows} rows → ${r.csv}, ${r.parquet}\n`);
      }),
    );
}
