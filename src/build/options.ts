// The build's options, validated once (the CLI and the programmatic API share this schema).
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { BUILD } from '../defaults.js';
import type { ReleaseFormat } from './types.js';

function integer(flag: string, min: number) {
  return z
    .union([z.number(), z.string()])
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const n = typeof v === 'number' ? v : /^\s*[-+]?\d+\s*$/.test(v) ? Number(v) : Number.NaN;
      if (!Number.isSafeInteger(n)) {
        ctx.addIssue({ code: 'custom', message: `${flag} must be a whole number, got '${String(v)}'` });
        return z.NEVER;
      }
      if (n < min) {
        ctx.addIssue({ code: 'custom', message: `${flag} must be at least ${min}, got ${n}` });
        return z.NEVER;
      }
      return n;
    });
}

export const buildOptionsSchema = z
  .object({
    catalog: z.string({ error: '--catalog FILE is required' }).min(1, '--catalog FILE is required'),
    labels: z.string({ error: '--labels DIR is required' }).min(1, '--labels DIR is required'),
    out: z.string({ error: '--out DIR is required' }).min(1, '--out DIR is required'),
    workers: integer('--workers', 1).transform((v) => v ?? availableParallelism()),
    seed: integer('--seed', 0),
    minRelease: integer('--min-release', 1).transform((v) => v ?? BUILD.minRelease),
    format: z
      .enum(['folders', 'webdataset'], { error: "--format must be 'folders' or 'webdataset'" })
      .optional()
      .transform((v): ReleaseFormat => v ?? 'folders'),
  })
  .strict();

export type BuildOptionsInput = z.input<typeof buildOptionsSchema>;
export type ValidBuildOptions = z.output<typeof buildOptionsSchema>;
