// Commander options and help from a stage's options schema (src/util/zod-options.ts explains the
// schemas). A command does:
//   addOptions(program.command('build'), buildOptionsSchema)              // flags, help, defaults
//     .action(runAction(async (raw) => buildRelease(optionValues(raw, buildOptionsSchema))));
// and the stage's API function validates what it gets with the same schema. To add an option,
// add one field to the stage's schema, wrapped in flag(schema, { flag, help }); its default comes
// from the schema (so from src/defaults.ts), and the help shows it. Commander gives no defaults of
// its own: an absent flag reaches the schema as undefined (a --no-X flag reaches it as true). A
// flag marked repeatable (e.g. the worker's --path-map) reaches it as the array of its values.
import { type Command, Option } from 'commander';
import type { z } from 'zod';
import { flagOf } from '../util/zod-options.js';

type ObjectSchema = z.ZodObject<z.ZodRawShape>;

function fields(schema: ObjectSchema): Array<[string, z.ZodType, NonNullable<ReturnType<typeof flagOf>>]> {
  const out: Array<[string, z.ZodType, NonNullable<ReturnType<typeof flagOf>>]> = [];
  for (const [key, field] of Object.entries(schema.shape)) {
    const meta = flagOf(field as z.ZodType);
    if (meta !== undefined) out.push([key, field as z.ZodType, meta]);
  }
  return out;
}

/** The default the schema fills in for an absent option, as help shows it; undefined when none. */
function defaultText(field: z.ZodType): string | undefined {
  const r = field.safeParse(undefined);
  if (!r.success || r.data === undefined || r.data === null || typeof r.data === 'object') return undefined;
  return typeof r.data === 'boolean' ? undefined : String(r.data);
}

/** Adds every flagged field of `schema` to `cmd`, in schema order. */
export function addOptions(cmd: Command, schema: ObjectSchema): Command {
  for (const [, field, meta] of fields(schema)) {
    const dflt = meta.defaultHelp ?? defaultText(field);
    const help = dflt === undefined ? meta.help : `${meta.help} (default: ${dflt})`;
    if (meta.required) cmd.requiredOption(meta.flag, help);
    else if (meta.repeatable) cmd.option(meta.flag, help, (v: string, prev: string[] = []) => [...prev, v]);
    else cmd.option(meta.flag, help);
  }
  return cmd;
}

/**
 * Commander's parsed options, keyed as the schema keys them (e.g. --lr → learningRate). Typed as the
 * schema's input, unchecked: the stage's API function validates them with the schema.
 */
export function optionValues<S extends ObjectSchema>(raw: Record<string, unknown>, schema: S): z.input<S> {
  const out: Record<string, unknown> = {};
  for (const [key, , meta] of fields(schema)) {
    const v = raw[new Option(meta.flag).attributeName()];
    if (v !== undefined) out[key] = v;
  }
  return out as z.input<S>;
}
