// `cytoimagenet build`: labels → a CytoImageNet release folder (see docs/build.md). Its flags are
// the build's options schema (src/release/options.ts), through src/cli/options.ts.
import type { Command } from 'commander';
import { buildRelease } from '../release/build-release.js';
import { buildOptionsSchema } from '../release/options.js';
import { addOptions, optionValues } from './options.js';
import { runAction } from './run-action.js';

export function register(program: Command): void {
  addOptions(
    program
      .command('build')
      .description('Build a release from a catalog and a labels folder: parallel, resumable, byte-reproducible.'),
    buildOptionsSchema,
  ).action(
    runAction(async (raw: Record<string, unknown>) => {
      await buildRelease({ ...optionValues(raw, buildOptionsSchema), progress: true } as Parameters<
        typeof buildRelease
      >[0]);
    }),
  );
}
