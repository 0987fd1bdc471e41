// The cytoimagenet command line: one thin file per command; each parses its options and calls one
// stage.
import { Command } from 'commander';
import { toolVersion } from '../util/tool-version.js';
import { register as registerDemo } from './demo.js';
import { register as registerIngest } from './ingest.js';
import { register as registerExport } from './export.js';
import { register as registerDescribe } from './describe.js';
import { register as registerLabels } from './labels.js';
import { register as registerStandardize } from './standardize.js';
import { register as registerBuild } from './build.js';
import { register as registerFeatures } from './features.js';
import { register as registerEvaluate } from './evaluate.js';
import { register as registerTrain } from './train.js';

export function makeProgram(): Command {
  const program = new Command();
  program
    .name('cytoimagenet')
    .description('Curate, build, pretrain on and evaluate CytoImageNet-style microscopy datasets.')
    .version(toolVersion())
    .showHelpAfterError();
  registerDemo(program);
  registerIngest(program);
  registerExport(program);
  registerDescribe(program);
  registerLabels(program);
  registerStandardize(program);
  registerBuild(program);
  registerFeatures(program);
  registerEvaluate(program);
  registerTrain(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await makeProgram().parseAsync(argv);
}
