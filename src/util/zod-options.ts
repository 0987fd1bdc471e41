// A stage's options are one zod object schema, owned by the stage (e.g. src/release/options.ts),
// with its defaults from src/defaults.ts. The same schema validates the stage's API function and,
// through src/cli/options.ts, gives the command its flags and help. Each field carries its flag
// and help text with flag(); values arrive from the CLI as strings and from the API as numbers,
// so the parsers here take both and name the flag in their messages.
import { z } from 'zod';
import { UserError } from './errors.js';

/** What the CLI needs to show one option: its commander flag (e.g. '--min-release <n>') and help. */
export interface FlagMeta {
  flag: string;
  help: string;
  /** Commander requires it (its own "required option" message). */
  required?: boolean;
  /** Help text for a default that is not a constant (e.g. 'the number of cores'). */
  defaultHelp?: string;
  /** The flag may be given more than once; its values arrive as an array, in order. */
  repeatable?: boolean;
}

const flags = z.registry<FlagMeta>();

/** The schema of one option, labelled with its flag and help. Call it last (zod wrappers drop labels). */
export function flag<T extends z.ZodType>(schema: T, meta: FlagMeta): T {
  flags.add(schema, meta);
  return schema;
}

/** The flag of an option schema, if it has one. */
export function flagOf(schema: z.ZodType): FlagMeta | undefined {
  return flags.get(schema);
}

/** The one integer parser: a whole number in [min, max], as a number or a string of digits. */
export function integer(name: string, opts: { min: number; max?: number }) {
  const { min, max = Number.MAX_SAFE_INTEGER } = opts;
  return z.union([z.number(), z.string()]).transform((v, ctx): number => {
    const n = typeof v === 'number' ? v : /^\s*[-+]?\d+\s*$/.test(v) ? Number(v) : Number.NaN;
    let message: string | undefined;
    if (!Number.isSafeInteger(n)) message = `${name} must be a ${min === 1 ? 'positive ' : ''}whole number, got '${v}'`;
    else if (n < min || n > max)
      message =
        max === Number.MAX_SAFE_INTEGER
          ? `${name} must be at least ${min}, got ${n}`
          : `${name} must be between ${min} and ${max}, got ${n}`;
    if (message === undefined) return n;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });
}

/** A required text flag: absent or empty gets the one message, e.g. '--out DIR is required'. */
export function requiredText(message: string) {
  return z.string({ error: message }).min(1, message);
}

/** An optional integer option: undefined when absent. */
export function integerOption(name: string, min: number) {
  return integer(name, { min }).optional();
}

/** A positive finite number, as a number or a numeric string. */
export function positiveNumber(name: string) {
  return z.union([z.number(), z.string()]).transform((v, ctx): number => {
    const n = typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v);
    if (Number.isFinite(n) && n > 0) return n;
    ctx.addIssue({ code: 'custom', message: `${name} must be a positive number, got '${v}'` });
    return z.NEVER;
  });
}

/** One of a fixed list of words. */
export function oneOf<const T extends readonly [string, ...string[]]>(name: string, values: T) {
  const list =
    values.length === 2 ? `${values[0]} or ${values[1]}` : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
  return z.enum(values, { error: `${name} must be ${list}` });
}

/**
 * Validate a stage's options: defaults filled in, or a UserError listing every problem (each
 * names its flag). `command` names the command whose --help explains them.
 */
export function validateOptions<S extends z.ZodType>(schema: S, input: unknown, command: string): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  ${i.message}`);
  throw new UserError(`invalid ${command} options:\n${lines.join('\n')}`, {}, `see \`cytoimagenet ${command} --help\``);
}
