// The build's options: one schema for the `build` command's flags and help (src/cli/options.ts)
// and for buildRelease()'s validation; likewise the queue worker's (`cytoimagenet worker`).
// Defaults come from src/defaults.ts.
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { BUILD } from '../defaults.js';
import { flag, requiredText, integer, integerOption, oneOf, positiveNumber } from '../util/zod-options.js';
import { checkQueueUrl } from './queue-link.js';
import type { ReleaseFormat } from './types.js';

export const buildOptionsSchema = z
  .object({
    catalog: flag(requiredText('--catalog FILE is required'), {
      flag: '--catalog <file>',
      help: 'catalog DuckDB file (from `cytoimagenet ingest`)',
      required: true,
    }),
    labels: flag(requiredText('--labels DIR is required'), {
      flag: '--labels <dir>',
      help: 'labels folder (from `cytoimagenet labels`); threshold, cap and presample come from its labels.json',
      required: true,
    }),
    out: flag(requiredText('--out DIR is required'), {
      flag: '--out <dir>',
      help: 'release folder to create, or to resume',
      required: true,
    }),
    workers: flag(
      integer('--workers', { min: 1 }).default(() => availableParallelism()),
      {
        flag: '--workers <n>',
        help: 'worker processes',
        defaultHelp: 'the number of cores',
      },
    ),
    seed: flag(integer('--seed', { min: 0 }).optional(), {
      flag: '--seed <n>',
      help: 'seed for crops, cap and split',
      defaultHelp: "the labels' seed",
    }),
    minRelease: flag(integer('--min-release', { min: 1 }).default(BUILD.minRelease), {
      flag: '--min-release <n>',
      help: 'drop labels left with fewer images',
    }),
    jobTimeout: flag(positiveNumber('--job-timeout').default(BUILD.jobTimeoutSeconds), {
      flag: '--job-timeout <seconds>',
      help: 'stop an image set after this long on a worker (retried once, then rejected: timeout)',
    }),
    format: flag(
      oneOf('--format', ['folders', 'webdataset'] as const satisfies readonly ReleaseFormat[]).default('folders'),
      {
        flag: '--format <format>',
        help: 'folders | webdataset (webdataset also writes tar shards)',
      },
    ),
    queue: flag(
      z
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
      {
        flag: '--queue <url>',
        help: 'run the jobs on `cytoimagenet worker` machines through this Redis (redis://HOST:PORT, rediss:// for TLS); OUT and the sources must be on storage they all mount',
      },
    ),
    shardSize: flag(integer('--shard-size', { min: 1 }).default(BUILD.shardSize), {
      flag: '--shard-size <n>',
      help: 'image sets per queue job (with --queue)',
    }),
    // Remote sources (src/sources/fetch): where fetched bytes are kept, how much, and which
    // endpoint s3:// entries are read through. None of these changes the release's bytes.
    cache: flag(z.string().min(1, '--cache DIR must name a folder').optional(), {
      flag: '--cache <dir>',
      help: 'keep bytes fetched from URL source files here, so a repeated or resumed build reads them from disk',
    }),
    cacheMaxMb: flag(integer('--cache-max-mb', { min: 1 }).optional(), {
      flag: '--cache-max-mb <n>',
      help: 'cap on the --cache folder, least recently used evicted',
      defaultHelp: '20480',
    }),
    s3Endpoint: flag(
      z
        .string()
        .regex(/^https?:\/\/[^/]+/, '--s3-endpoint must be an http(s) URL, e.g. https://s3.amazonaws.com')
        .optional(),
      {
        flag: '--s3-endpoint <url>',
        help: 's3://bucket/key entries are read from URL/bucket/key',
        defaultHelp: 'https://s3.amazonaws.com',
      },
    ),
    /** Also write each channel as a 16-bit PNG beside the merged one (docs/build.md "Keeping the channels"). */
    keepChannels: flag(z.boolean({ error: '--keep-channels takes no value' }).default(false), {
      flag: '--keep-channels',
      help: 'also write each channel as a 16-bit PNG (<dir_label>/channels/<stem>_c<k>.png), normalised per channel over the same window',
    }),
  })
  .strict();

export type BuildOptionsInput = z.input<typeof buildOptionsSchema>;
export type ValidBuildOptions = z.output<typeof buildOptionsSchema>;

// `cytoimagenet worker` (queue-worker.ts): one schema for its flags and help and for
// startQueueWorker()'s validation.
export const workerOptionsSchema = z
  .object({
    queue: flag(
      requiredText('--queue URL is required').superRefine((v, ctx) => {
        try {
          checkQueueUrl(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      }),
      {
        flag: '--queue <url>',
        help: 'the Redis the builds use (redis://HOST:PORT, redis://:PASSWORD@HOST:PORT, rediss://)',
        required: true,
      },
    ),
    concurrency: flag(
      integerOption('--concurrency', 1).transform((v) => v ?? availableParallelism()),
      {
        flag: '--concurrency <n>',
        help: 'worker processes on this machine',
        defaultHelp: 'the number of cores',
      },
    ),
    pathMap: flag(
      z
        .union([z.string(), z.array(z.string())], { error: '--path-map takes FROM=TO, once per mapping' })
        .optional()
        .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
      {
        flag: '--path-map <from=to>',
        help: 'the shared storage the coordinator sees at FROM is mounted at TO here (repeatable)',
        repeatable: true,
      },
    ),
    // This machine's own cache of fetched bytes, in place of the build's --cache (which names a
    // folder as the coordinator sees it).
    cache: flag(z.string().min(1, '--cache DIR must name a folder').optional(), {
      flag: '--cache <dir>',
      help: "keep bytes fetched from URL sources in this machine's folder (instead of the build's --cache)",
    }),
    cacheMaxMb: flag(integerOption('--cache-max-mb', 1), {
      flag: '--cache-max-mb <n>',
      help: 'cap on the --cache folder, least recently used evicted',
      defaultHelp: "the build's",
    }),
  })
  .strict();

export type WorkerOptionsInput = z.input<typeof workerOptionsSchema>;
export type ValidWorkerOptions = z.output<typeof workerOptionsSchema>;
