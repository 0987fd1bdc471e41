// cytoimagenet ingest CONFIG... --catalog FILE [--synonyms FILE...]
import type { Command } from 'commander';
import { z } from 'zod';
import { runAction } from './run-action.js';
import { ingestSources } from '../catalog/ingest.js';
import { ADAPTER_NAMES } from '../sources/registry.js';

const Options = z.object({
  catalog: z.string().min(1),
  synonyms: z.array(z.string().min(1)).optional(),
});

export function register(program: Command): void {
  program
    .command('ingest')
    .description(
      `Read sources (JSON/YAML configs; adapters: ${ADAPTER_NAMES.join(', ')}) into a catalog (DuckDB file). Re-ingesting a source replaces its rows.`,
    )
    .argument('<config...>', 'source configs (JSON or YAML)')
    .requiredOption('--catalog <file>', 'catalog file (DuckDB), created if absent')
    .option('--synonyms <file...>', 'extra synonym tables (CSV: column,match,from,to), applied after the shipped one')
    .action(
      runAction(async (configs: string[], raw: unknown) => {
        const opts = Options.parse(raw);
        const report = await ingestSources(configs, opts.catalog, { synonyms: opts.synonyms });
        for (const s of report.sources) {
          const files =
            s.present + s.missing > 0 ? `, files: ${s.present} present, ${s.missing} missing` : ', files unchecked';
          const rep = s.replaced ? ` (replaced ${s.replaced})` : '';
          const names =
            s.dirNames.length > 4
              ? `${s.dirNames.slice(0, 3).join(', ')} and ${s.dirNames.length - 3} more`
              : s.dirNames.join(', ');
          process.stdout.write(`${names} [${s.adapter}]: ${s.rows} rows${rep}${files}, ${s.seconds.toFixed(1)} s\n`);
        }
        process.stdout.write(`catalog ${report.catalog}: ${report.totalRows} rows\n`);
      }),
    );
}
