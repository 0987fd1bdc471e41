// Option values arrive from the CLI as strings and from the API as numbers; one parser for both,
// with messages that name the flag.
import { z } from 'zod';

/** A whole number ≥ min, given as a number or a string of digits; undefined when absent. */
export function integerOption(flag: string, min: number) {
  return z
    .union([z.number(), z.string()])
    .optional()
    .transform((v, ctx): number | undefined => {
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
