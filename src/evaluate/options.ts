// The evaluate stage's options, one schema per protocol: each gives its command's flags and help
// (src/cli/options.ts) and validates runBbbc021 / runCoos7 / runCyclops. Defaults come from
// src/defaults.ts.
import { z } from 'zod';
import { EVALUATE } from '../defaults.js';
import { flag, integer, oneOf, requiredText } from '../util/zod-options.js';

const features = (help: string) =>
  flag(z.array(z.string().min(1)).min(1, '--features needs at least one table'), {
    flag: '--features <files...>',
    help,
    required: true,
  });
const out = () =>
  flag(requiredText('--out needs a folder'), {
    flag: '--out <dir>',
    help: 'output folder',
    required: true,
  });
const k = (dflt: number) =>
  flag(integer('--k', { min: 1 }).default(dflt), { flag: '--k <n>', help: 'neighbours that vote' });
const name = () =>
  flag(z.string().min(1).optional(), {
    flag: '--name <title>',
    help: 'column title in table2.md',
    defaultHelp: 'the features file names',
  });
const threads = () =>
  flag(integer('--threads', { min: 1 }).optional(), {
    flag: '--threads <n>',
    help: 'threads for the distance products',
    defaultHelp: 'all cores',
  });
const progress = () => flag(z.boolean().optional(), { flag: '--no-progress', help: 'no progress line' });

export const bbbc021OptionsSchema = z.object({
  metadata: flag(requiredText('--metadata needs a folder'), {
    flag: '--metadata <dir>',
    help: 'folder with BBBC021_v1_image.csv and BBBC021_v1_moa.csv',
    required: true,
  }),
  features: features('features table(s), CSV or Parquet, keyed by Image_FileName_DAPI; several are fused column-wise'),
  out: out(),
  scaler: flag(oneOf('--scaler', ['standard', 'dmso', 'none']).default('standard'), {
    flag: '--scaler <standard|dmso|none>',
    help: 'standard: mean and population SD over the evaluated images; dmso: over the DMSO images; none',
  }),
  k: k(EVALUATE.bbbc021K),
  name: name(),
});

export const coos7OptionsSchema = z.object({
  features: features(
    'features table(s) keyed by split (train, test1..test4), label [, id]; several are fused column-wise',
  ),
  out: out(),
  scaler: flag(oneOf('--scaler', ['standard', 'none']).default('standard'), {
    flag: '--scaler <standard|none>',
    help: 'standard: mean and population SD of the training split; none',
  }),
  k: k(EVALUATE.coos7K),
  name: name(),
  threads: threads(),
  progress: progress(),
});

export const cyclopsOptionsSchema = z.object({
  features: features('features table(s) keyed by label [, id]; several are fused column-wise'),
  out: out(),
  scaler: flag(oneOf('--scaler', ['standard', 'none']).default('standard'), {
    flag: '--scaler <standard|none>',
    help: 'standard: mean and population SD over all cells; none',
  }),
  k: k(EVALUATE.cyclopsK),
  name: name(),
  threads: threads(),
  progress: progress(),
});
