// The train stage's options: one schema for the `train` command's flags and help
// (src/cli/options.ts) and for train()'s validation. Defaults come from src/defaults.ts.
import { z } from 'zod';
import { TRAIN } from '../defaults.js';
import { flag, integer, oneOf, positiveNumber, requiredText } from '../util/zod-options.js';
import { KERNELS, PRECISIONS } from './engine.js';
import { parseLabelsSubset } from './release.js';

export const trainOptionsSchema = z.object({
  release: flag(requiredText('--release needs a folder'), {
    flag: '--release <dir>',
    help: 'release folder (from `cytoimagenet build`), read through its metadata.csv',
    required: true,
  }),
  out: flag(requiredText('--out needs a folder'), {
    flag: '--out <dir>',
    help: 'run folder: history, checkpoints, backbone',
    required: true,
  }),
  epochs: flag(integer('--epochs', { min: 1, max: 100_000 }).default(TRAIN.epochs), {
    flag: '--epochs <n>',
    help: 'epochs to train (in total, counting resumed ones)',
  }),
  size: flag(integer('--size', { min: 32, max: 1024 }).default(TRAIN.size), {
    flag: '--size <px>',
    help: 'images are resized to size×size',
  }),
  batchSize: flag(integer('--batch-size', { min: 1, max: 4096 }).default(TRAIN.batchSize), {
    flag: '--batch-size <n>',
    help: 'images per step',
  }),
  learningRate: flag(positiveNumber('--lr').default(TRAIN.learningRate), {
    flag: '--lr <x>',
    help: 'Adam learning rate',
  }),
  labelsSubset: flag(
    z
      .union([z.array(z.string()), z.string()])
      .optional()
      .transform((v) => (typeof v === 'string' ? parseLabelsSubset(v) : v)),
    {
      flag: '--labels-subset <file|list>',
      help: 'train on these labels only: a file (one per line, or a CSV with a label column) or a comma list',
    },
  ),
  seed: flag(integer('--seed', { min: 0, max: 2 ** 31 - 1 }).default(TRAIN.seed), {
    flag: '--seed <n>',
    help: 'seed of the init, shuffling, rotations and dropout',
  }),
  resume: flag(z.boolean().optional(), {
    flag: '--resume',
    help: 'continue the run in --out from its last checkpoint',
  }),
  init: flag(z.string().min(1).optional(), {
    flag: '--init <file.h5>',
    help: 'start the backbone from a Keras EfficientNetB0 .h5 (no-top or full); the classifier is new',
  }),
  threads: flag(integer('--threads', { min: 1, max: 1024 }).optional(), {
    flag: '--threads <n>',
    help: 'LibTorch threads',
    defaultHelp: 'all cores',
  }),
  device: flag(
    z
      .string()
      .regex(/^(cpu|cuda(:\d+)?)$/, '--device must be cpu, cuda or cuda:N')
      .default('cpu'),
    { flag: '--device <cpu|cuda[:N]>', help: 'where to train; cuda needs the addon built against a CUDA LibTorch' },
  ),
  kernels: flag(oneOf('--kernels', KERNELS).default('own'), {
    flag: '--kernels <own|libtorch>',
    help: "CPU kernels: own (fused BatchNorm+swish, squeeze-excitation, depthwise weight gradient) or LibTorch's alone",
  }),
  precision: flag(oneOf('--precision', ['auto', ...PRECISIONS] as const).default('auto'), {
    flag: '--precision <auto|float32|mixed_bfloat16>',
    help: 'step arithmetic: mixed_bfloat16 runs the 1×1 and depthwise convolutions in bfloat16 (weights, statistics and evaluation stay float32); auto picks it on CPUs with bfloat16 dot products, and a resumed run keeps its own',
  }),
  prefetch: flag(integer('--prefetch', { min: 0, max: 16 }).default(TRAIN.prefetch), {
    flag: '--prefetch <n>',
    help: 'batches loaded ahead of the step',
  }),
  loaderThreads: flag(integer('--loader-threads', { min: 0, max: 1024 }).optional(), {
    flag: '--loader-threads <n>',
    help: 'threads that decode and rotate images (0: the main thread)',
    defaultHelp: 'one per core',
  }),
  checkpointEvery: flag(integer('--checkpoint-every', { min: 0 }).default(TRAIN.checkpointEvery), {
    flag: '--checkpoint-every <steps>',
    help: 'also checkpoint every this many steps inside an epoch (0: epoch ends only)',
  }),
  keepCheckpoints: flag(integer('--keep-checkpoints', { min: 1, max: 1000 }).default(TRAIN.keepCheckpoints), {
    flag: '--keep-checkpoints <n>',
    help: 'newest checkpoints kept',
  }),
});

export type TrainOptionsInput = z.input<typeof trainOptionsSchema>;
export type ValidTrainOptions = z.output<typeof trainOptionsSchema>;
