// The build's options, validated once (the CLI and the programmatic API share this schema).
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { integerOption } from '../util/zod-options.js';
import { BUILD } from '../defaults.js';
import type { ReleaseFormat } from './types.js';

export const buildOptionsSchema = z
  .object({
    catalog: z.string({ error: '--catalog FILE is required' }).min(1, '--catalog FILE is required'),
    labels: z.string({ error: '--labels DIR is required' }).min(1, '--labels DIR is required'),
    out: z.string({ error: '--out DIR is required' }).min(1, '--out DIR is required'),
    workers: integerOption('--workers', 1).transform((v) => v ?? availableParallelism()),
    seed: integerOption('--seed', 0),
    minRelease: integerOption('--min-release', 1).transform((v) => v ?? BUILD.minRelease),
    format: z
      .enum(['folders', 'webdataset'], { error: "--format must be 'folders' or 'webdataset'" })
      .optional()
      .transform((v): ReleaseFormat => v ?? 'folders'),
  })
  .strict();

export type BuildOptionsInput = z.input<typeof buildOptionsSchema>;
export type ValidBuildOptions = z.output<typeof buildOptionsSchema>;
