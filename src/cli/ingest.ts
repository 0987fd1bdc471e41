// cytoimagenet ingest CONFIG... --catalog FILE [--synonyms FILE...]
// cytoimagenet ingest --registry NAME...|all --root DIR --catalog FILE: the shipped configs
// (registry/, docs/sources.md), each reading ROOT/<dir_name>/. Its flags are the ingest's options
// schema (src/catalog/options.ts), through src/cli/options.ts.
import type { Command } from 'commander';
import { runAction } from './run-action.js';
import { addOptions, optionValues } from './options.js';
import { ingestSources, type ConfigInput } from '../catalog/ingest.js';
import { ingestOptionsSchema } from '../catalog/options.js';
import { ADAPTER_NAMES } from '../sources/registry.js';
import { registryInputs } from '../sources/dataset-registry.js';
import { UserError } from '../util/errors.js';
import { validateOptions } from '../util/zod-options.js';

export function register(program: Command): void {
  addOptions(program.command('ingest'), ingestOptionsSchema)
    .description(
      `Read sources (JSON/YAML configs; adapters: ${ADAPTER_NAMES.join(', ')}), or datasets of the shipped registry (--registry), into a catalog (DuckDB file). Re-ingesting a source replaces its rows.`,
    )
    .argument('[config...]', 'source configs (JSON or YAML)')
    .action(
      runAction(async (configs: string[], raw: Record<string, unknown>) => {
        const opts = validateOptions(ingestOptionsSchema, optionValues(raw, ingestOptionsSchema), 'ingest');
        const inputs: (string | ConfigInput)[] = [...configs];
        if (opts.registry) {
          if (!opts.root)
            throw new UserError('--registry needs --root DIR (the folder holding ROOT/<dir_name>/ per dataset)');
          const r = registryInputs(opts.registry, opts.root);
          for (const s of r.skipped) process.stdout.write(`${s.dir_name}: skipped, ${s.why}\n`);
          inputs.push(...r.inputs);
          if (!r.inputs.length && !configs.length) {
            process.stdout.write(`no registry dataset is present under ${opts.root}; nothing ingested\n`);
            return;
          }
        } else if (opts.root) throw new UserError('--root is for --registry');
        if (!inputs.length)
          throw new UserError('give configs or --registry NAME...|all', {}, 'cytoimagenet ingest --help');
        const report = await ingestSources(inputs, opts.catalog, { synonyms: opts.synonyms });
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
