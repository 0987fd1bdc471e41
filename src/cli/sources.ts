// cytoimagenet sources list [--root DIR] | sources show NAME: the shipped registry of CytoImageNet's
// source datasets (registry/<dir_name>.yaml, docs/sources.md).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runAction } from './run-action.js';
import { loadRegistry, presenceUnder, selectEntries, type RegistryEntry } from '../sources/dataset-registry.js';

function size(e: RegistryEntry): string {
  return e.expected_image_sets === null
    ? 'size unknown'
    : `${e.expected_image_sets.toLocaleString('en-US')} image sets`;
}

/** One line per dataset (tab-separated, so it reads in a terminal and parses with cut/awk). */
export function listLines(entries: readonly RegistryEntry[], root?: string): string[] {
  return entries.map((e) => {
    const cells = [
      e.dir_name,
      e.database,
      e.name,
      `licence: ${e.licence}`,
      size(e),
      `labels: ${e.labels}`,
      `cite: ${e.citation}`,
      e.homepage,
    ];
    if (!e.in_cytoimagenet) cells.push('not in CytoImageNet (evaluation only)');
    if (root !== undefined) cells.splice(1, 0, presenceUnder(root, e));
    return cells.join('\t');
  });
}

export function showText(e: RegistryEntry): string {
  const out: string[] = [];
  out.push(`${e.dir_name}: ${e.name} (${e.database})`, '');
  out.push(e.description, '');
  out.push(`homepage:   ${e.homepage}`);
  out.push(`licence:    ${e.licence}`);
  out.push(`citation:   ${e.citation}`);
  out.push(`organism:   ${e.organism}; microscopy: ${e.microscopy}`);
  out.push(`row unit:   ${e.row_unit}`);
  out.push(`labels:     ${e.labels}`);
  out.push(`expected:   ${size(e)}`);
  if (!e.in_cytoimagenet) out.push('note:       not in CytoImageNet (evaluation only); ingested only when named');
  if (e.caveats) out.push(`caveats:    ${e.caveats}`);
  out.push('', 'How to get the files:');
  for (const d of e.get.download) out.push(`  ${d}`);
  out.push(`  ${e.get.how}`, '');
  out.push(`Expected layout under ROOT/${e.dir_name}/ (required: ${e.layout.required.join(', ')}):`);
  for (const x of e.layout.examples) out.push(`  ${e.dir_name}/${x}`);
  out.push('', `Config (${e.file}):`, '');
  out.push(readFileSync(e.file, 'utf8').trimEnd());
  return `${out.join('\n')}\n`;
}

export function register(program: Command): void {
  const cmd = program
    .command('sources')
    .description("The shipped registry of CytoImageNet's source datasets (one config each; docs/sources.md).");
  cmd
    .command('list')
    .description('One line per dataset: dir_name, database, name, licence, expected size, labels, citation, link.')
    .option('--root <dir>', 'also say whether each dataset is present, partly present or missing under DIR/<dir_name>/')
    .action(
      runAction(async (opts: { root?: string }) => {
        const entries = loadRegistry();
        process.stdout.write(`${listLines(entries, opts.root).join('\n')}\n`);
      }),
    );
  cmd
    .command('show')
    .description('A dataset: its config, the expected layout with example file names, and how to get the files.')
    .argument('<name>', 'dir_name, e.g. rec_rxrx1')
    .action(
      runAction(async (name: string) => {
        const [e] = selectEntries([name], loadRegistry());
        process.stdout.write(showText(e));
      }),
    );
}
