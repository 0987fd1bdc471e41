// The build's options, validated once (the CLI and the programmatic API share this schema).
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { integerOption } from '../util/zod-options.js';
import { BUILD } from '../defaults.js';
import { checkQueueUrl } from './queue-link.js';
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
    /** A Redis URL: jobs go to `cytoimagenet worker` processes through it instead of local workers. */
    queue: z
      .string()
      .optional()
      .superRefine((v, ctx) => {
        if (v === undefined) return;
        try {
          checkQueueUrl(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      }),
    shardSize: integerOption('--shard-size', 1).transform((v) => v ?? BUILD.shardSize),
  })
  .strict();

export type BuildOptionsInput = z.input<typeof buildOptionsSchema>;
export type ValidBuildOptions = z.output<typeof buildOptionsSchema>;

export const workerOptionsSchema = z
  .object({
    queue: z
      .string({ error: '--queue URL is required' })
      .min(1, '--queue URL is required')
      .superRefine((v, ctx) => {
        try {
          checkQueueUrl(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      }),
    concurrency: integerOption('--concurrency', 1).transform((v) => v ?? availableParallelism()),
    pathMap: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
  })
  .strict();

export type ValidWorkerOptions = z.output<typeof workerOptionsSchema>;
