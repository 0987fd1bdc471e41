// The ingest's options: one schema for the `ingest` command's flags and help (src/cli/options.ts).
// ingestSources() (ingest.ts) takes the configs and catalog as arguments, so the command validates
// with this schema; the checks that relate two flags (--registry needs --root) stay in the command.
import { z } from 'zod';
import { flag, requiredText } from '../util/zod-options.js';

/** A variadic flag (`--x <v...>`): commander gives the list of its values. */
function names(name: string, what: string) {
  return z.array(z.string().min(1, `${name} needs ${what}, got ''`), { error: `${name} takes ${what}` }).optional();
}

export const ingestOptionsSchema = z
  .object({
    catalog: flag(requiredText('--catalog FILE is required'), {
      flag: '--catalog <file>',
      help: 'catalog file (DuckDB), created if absent',
      required: true,
    }),
    registry: flag(names('--registry', 'dataset names'), {
      flag: '--registry <name...>',
      help: "shipped datasets to ingest by dir_name, or 'all' (see 'cytoimagenet sources list')",
    }),
    root: flag(z.string().min(1, '--root DIR must name a folder').optional(), {
      flag: '--root <dir>',
      help: 'with --registry: the folder holding one sub-folder per dataset (ROOT/<dir_name>/)',
    }),
    synonyms: flag(names('--synonyms', 'CSV files'), {
      flag: '--synonyms <file...>',
      help: 'extra synonym tables (CSV: column,match,from,to), applied after the shipped one',
    }),
  })
  .strict();

export type IngestOptionsInput = z.input<typeof ingestOptionsSchema>;
export type ValidIngestOptions = z.output<typeof ingestOptionsSchema>;
