// Templates in source configs ("{plate}-{well}", "BloodImage_{Image:05}.jpg"): literal text and
// {name} fields, where a name is a table column or a pattern placeholder, spelt exactly as in the
// header (spaces, brackets, parentheses and % included). `{{` and `}}` are literal braces. A field
// may end in a format spec after its last ':' (docs/catalog.md "Templates"). Every field must
// resolve: a name that is neither a column nor a placeholder is an error naming it, never text.

export interface FormatSpec {
  /** The spec as written after ':'. */
  source: string;
  fill: string;
  align: '<' | '>';
  width: number;
}

export type TemplatePart = { text: string } | { name: string; spec: FormatSpec | null; written: string };

/** Thrown for a template that cannot be used; the message names the offending part. */
export class TemplateError extends Error {}

const SPEC = /^(?:(.)?([<>]))?(0)?(\d+)$/u;

/** `05` (zero-pad to 5), `>8` / `<8` (pad left / right with spaces), `_>8` (pad with '_'). */
export function parseFormatSpec(spec: string): FormatSpec | null {
  const m = SPEC.exec(spec);
  if (!m) return null;
  const [, fill, align, zero, width] = m;
  if (zero && align) return null;
  return {
    source: spec,
    fill: zero ? '0' : (fill ?? ' '),
    align: zero ? '>' : ((align as '<' | '>' | undefined) ?? '>'),
    width: Number(width),
  };
}

/** Applies a spec in JS exactly as formatSql does in DuckDB: pads to the width, never truncates. */
export function formatValue(v: string, spec: FormatSpec | null): string {
  if (!spec) return v;
  const n = [...v].length;
  if (n >= spec.width) return v;
  const pad = spec.fill.repeat(spec.width - n);
  return spec.align === '>' ? pad + v : v + pad;
}

/** A spec applied to a SQL expression (VARCHAR). */
export function formatSql(expr: string, spec: FormatSpec | null): string {
  if (!spec) return expr;
  const fill = `'${spec.fill.replace(/'/g, "''")}'`;
  const pad = spec.align === '>' ? 'lpad' : 'rpad';
  // lpad/rpad cut longer values; a longer value is kept whole.
  return `(CASE WHEN length(${expr}) >= ${spec.width} THEN ${expr} ELSE ${pad}(${expr}, ${spec.width}, ${fill}) END)`;
}

/**
 * Splits a template into text and fields. `known(name)` says whether a name exists; the whole text
 * between braces is tried first, so a column named "a:b" needs no escaping; otherwise the part
 * after the last ':' is a format spec.
 */
export function parseTemplate(template: string, known: (name: string) => boolean): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const ch = template[i];
    if (ch === '{' && template[i + 1] === '{') {
      text += '{';
      i += 2;
    } else if (ch === '}' && template[i + 1] === '}') {
      text += '}';
      i += 2;
    } else if (ch === '}') {
      throw new TemplateError(`a lone '}' at character ${i + 1}: write '}}' for a literal brace`);
    } else if (ch === '{') {
      const end = template.indexOf('}', i + 1);
      const inner = end < 0 ? '' : template.slice(i + 1, end);
      if (end < 0 || inner.includes('{'))
        throw new TemplateError(
          `'{' at character ${i + 1} is never closed: write '{{' for a literal brace, or close the field with '}'`,
        );
      const written = `{${inner}}`;
      let name = inner;
      let spec: FormatSpec | null = null;
      if (!known(inner)) {
        const colon = inner.lastIndexOf(':');
        if (colon < 0 || !known(inner.slice(0, colon)))
          throw new TemplateError(`${written} names no column or placeholder`);
        name = inner.slice(0, colon);
        spec = parseFormatSpec(inner.slice(colon + 1));
        if (!spec)
          throw new TemplateError(
            `${written}: '${inner.slice(colon + 1)}' is not a format spec (e.g. 05 pads with zeros to 5 characters)`,
          );
      }
      if (text) parts.push({ text });
      text = '';
      parts.push({ name, spec, written });
      i = end + 1;
    } else {
      text += ch;
      i++;
    }
  }
  if (text) parts.push({ text });
  return parts;
}

/** The field names of a template, given what is known. */
export function templateFields(template: string, known: (name: string) => boolean): string[] {
  return parseTemplate(template, known).flatMap((p) => ('name' in p ? [p.name] : []));
}
