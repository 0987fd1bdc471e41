// The labels stage's options, validated once (CLI flags and the programmatic API share this).
// Defaults are the spec's (src/defaults.ts); every number can be changed.
import { z } from 'zod';
import { integerOption } from '../util/zod-options.js';
import { CATEGORIES, LABELS, type Category } from '../defaults.js';
import { UserError } from '../util/errors.js';

export interface LabelsOptions {
  /** Run-level seed; every draw derives from (seed, category, token). */
  seed: number;
  /** Minimum rows for a label to be a candidate, and to be kept at its visit. */
  threshold: number;
  /** Rows kept per label. */
  cap: number;
  /** Labels with more available rows are first pre-sampled to this many. */
  presample: number;
  /** Source dir_names kept out of labelling (CytoImageNet held BBBC021 out). */
  excludeSources: string[];
  /** Categories labels may come from (all seven by default). */
  categories: Category[];
}

export type LabelsOptionsInput = Partial<{
  seed: number | string;
  threshold: number | string;
  cap: number | string;
  presample: number | string;
  excludeSources: string[] | string;
  categories: Category[] | string[] | string;
}>;

/** A whole number ≥ min (CLI values arrive as strings), or the default when absent. */
function integer(flag: string, min: number, fallback: number) {
  return integerOption(flag, min).transform((v) => v ?? fallback);
}

/** A list option given as an array, or one comma-separated string. */
function list() {
  return z
    .union([z.array(z.string()), z.string()])
    .optional()
    .transform((v) =>
      v === undefined
        ? []
        : (Array.isArray(v) ? v : [v])
            .flatMap((s) => s.split(','))
            .map((s) => s.trim())
            .filter((s) => s !== ''),
    );
}

const schema = z
  .object({
    seed: integer('--seed', 0, LABELS.seed),
    threshold: integer('--threshold', 1, LABELS.threshold),
    cap: integer('--cap', 1, LABELS.cap),
    presample: integer('--presample', 1, LABELS.presample),
    excludeSources: list(),
    categories: list().transform((v, ctx) => {
      if (v.length === 0) return [...CATEGORIES];
      const out: Category[] = [];
      for (const c of v) {
        if (!(CATEGORIES as readonly string[]).includes(c)) {
          ctx.addIssue({
            code: 'custom',
            message: `unknown category '${c}'; expected one of ${CATEGORIES.join(', ')}`,
          });
          return z.NEVER;
        }
        if (!out.includes(c as Category)) out.push(c as Category);
      }
      // Keep the canonical order so the visit's tie-break does not depend on how the list was typed.
      return CATEGORIES.filter((c) => out.includes(c));
    }),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.threshold > o.cap) {
      ctx.addIssue({
        code: 'custom',
        path: ['threshold'],
        message: `--threshold (${o.threshold}) must not exceed --cap (${o.cap}): a kept label has between threshold and cap images`,
      });
    }
    if (o.cap > o.presample) {
      ctx.addIssue({
        code: 'custom',
        path: ['presample'],
        message: `--presample (${o.presample}) must be at least --cap (${o.cap}): the pre-sample is then sampled down to cap`,
      });
    }
  });

/** Validated options with defaults filled in; a UserError listing every problem otherwise. */
export function parseLabelsOptions(input: LabelsOptionsInput = {}): LabelsOptions {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  ${i.message}`);
  throw new UserError(`invalid labels options:\n${lines.join('\n')}`, {}, 'see `cytoimagenet labels --help`');
}
