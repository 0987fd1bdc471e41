// The cytoimagenet command line: one thin file per command; each parses its options and calls one
// stage. Only the command being run is loaded (the stages pull in DuckDB, libvips, onnxruntime…),
// so `cytoimagenet build` does not pay for onnxruntime's start-up; help loads them all.
import { Command } from 'commander';
import { toolVersion } from '../util/tool-version.js';

interface CommandModule {
  register(program: Command): void;
}

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  demo: () => import('./demo.js'),
  ingest: () => import('./ingest.js'),
  sources: () => import('./sources.js'),
  export: () => import('./export.js'),
  describe: () => import('./describe.js'),
  labels: () => import('./labels.js'),
  standardize: () => import('./standardize.js'),
  build: () => import('./build.js'),
  worker: () => import('./worker.js'),
  features: () => import('./features.js'),
  evaluate: () => import('./evaluate.js'),
  train: () => import('./train.js'),
  report: () => import('./report.js'),
};

export async function makeProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command();
  program
    .name('cytoimagenet')
    .description('Curate, build, pretrain on and evaluate CytoImageNet-style microscopy datasets.')
    .version(toolVersion())
    .showHelpAfterError();
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  const names = first !== undefined && first in COMMANDS ? [first] : Object.keys(COMMANDS);
  // `labels` opens its catalog in DuckDB while the rest loads (labels/catalog-session.ts).
  if (names.length === 1 && names[0] === 'labels')
    (await import('../labels/catalog-session.js')).openCatalogEarly(argv.slice(2));
  for (const name of names) (await COMMANDS[name]()).register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await (await makeProgram(argv)).parseAsync(argv);
}
