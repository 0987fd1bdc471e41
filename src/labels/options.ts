// The labels stage's options: one schema for the `labels` command's flags and help
// (src/cli/options.ts) and for assignLabels()'s validation. Defaults are the spec's
// (src/defaults.ts); every number can be changed.
import { z } from 'zod';
import { CATEGORIES, LABELS, type Category } from '../defaults.js';
import { flag, integer, validateOptions } from '../util/zod-options.js';

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

export const labelsOptionsSchema = z
  .object({
    seed: flag(integer('--seed', { min: 0 }).default(LABELS.seed), {
      flag: '--seed <n>',
      help: 'seed of every random draw',
    }),
    threshold: flag(integer('--threshold', { min: 1 }).default(LABELS.threshold), {
      flag: '--threshold <n>',
      help: 'minimum images for a label',
    }),
    cap: flag(integer('--cap', { min: 1 }).default(LABELS.cap), { flag: '--cap <n>', help: 'images kept per label' }),
    presample: flag(integer('--presample', { min: 1 }).default(LABELS.presample), {
      flag: '--presample <n>',
      help: 'labels with more images are pre-sampled to this many first',
    }),
    excludeSources: flag(list(), {
      flag: '--exclude-source <dir_name...>',
      help: 'keep these sources out of labelling (e.g. bbbc021, held out for evaluation)',
    }),
    categories: flag(
      list().transform((v, ctx) => {
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
      { flag: '--category <name...>', help: `only labels from these categories (${CATEGORIES.join(', ')})` },
    ),
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
  return validateOptions(labelsOptionsSchema, input, 'labels');
}
