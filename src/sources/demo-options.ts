// The demo's options: one schema for the `demo` command's flags and help (src/cli/options.ts) and
// for runDemo()'s validation. It sits beside the demo's corpus (demo-corpus.ts), the demo's only
// code below the CLI; runDemo (src/cli/demo.ts) drives every stage, so it lives on top.
import { z } from 'zod';
import { flag, requiredText, integer, integerOption } from '../util/zod-options.js';

export const demoOptionsSchema = z
  .object({
    out: flag(requiredText('--out DIR is required'), {
      flag: '--out <dir>',
      help: 'output folder',
      required: true,
    }),
    seed: flag(integer('--seed', { min: 0 }).default(0), {
      flag: '--seed <n>',
      help: 'seed for the corpus and every random choice',
    }),
    workers: flag(integerOption('--workers', 1), {
      flag: '--workers <n>',
      help: 'build worker processes',
    }),
    progress: flag(z.boolean({ error: '--no-progress takes no value' }).default(true), {
      flag: '--no-progress',
      help: 'plain log lines instead of a progress bar',
    }),
  })
  .strict();

export type DemoOptionsInput = z.input<typeof demoOptionsSchema>;
