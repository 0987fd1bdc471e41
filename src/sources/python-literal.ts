// The original stored list-valued cells as Python literals ("['a', 'b']", "[13779, 13779]") and
// read them back with ast.literal_eval. This is a small, strict reader for that subset.

export type PyValue = string | number | boolean | null | PyValue[];

export class PythonLiteralError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Parses a Python literal: list/tuple, str ('…' or "…" with escapes), int/float, None/True/False/nan. */
export function parsePythonLiteral(text: string): PyValue {
  let i = 0;
  const s = text;
  const ws = (): void => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const value = (): PyValue => {
    ws();
    const c = s[i];
    if (c === '[' || c === '(') {
      const close = c === '[' ? ']' : ')';
      i++;
      const items: PyValue[] = [];
      ws();
      if (s[i] === close) {
        i++;
        return items;
      }
      for (;;) {
        items.push(value());
        ws();
        if (s[i] === ',') {
          i++;
          ws();
          if (s[i] === close) {
            i++;
            return items;
          }
          continue;
        }
        if (s[i] === close) {
          i++;
          return items;
        }
        throw new PythonLiteralError(`expected ',' or '${close}'`, i);
      }
    }
    if (c === "'" || c === '"') {
      const q = c;
      i++;
      let out = '';
      while (i < s.length && s[i] !== q) {
        if (s[i] === '\\' && i + 1 < s.length) {
          const n = s[i + 1];
          out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          i += 2;
        } else out += s[i++];
      }
      if (s[i] !== q) throw new PythonLiteralError('unterminated string', i);
      i++;
      return out;
    }
    const m = /^(None|True|False|nan|-?inf|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/.exec(s.slice(i, i + 64));
    if (!m) throw new PythonLiteralError(`unexpected '${c ?? 'end of text'}'`, i);
    i += m[1].length;
    if (m[1] === 'None') return null;
    if (m[1] === 'True') return true;
    if (m[1] === 'False') return false;
    if (m[1] === 'nan') return null;
    return Number(m[1].replace(/inf$/, 'Infinity'));
  };
  const v = value();
  ws();
  if (i !== s.length) throw new PythonLiteralError('unexpected text after the value', i);
  return v;
}

/** A cell that may hold a Python list literal: its items, or the cell itself as one item. */
export function cellItems(cell: string): PyValue[] {
  const t = cell.trim();
  if (t.startsWith('[') && t.endsWith(']')) {
    try {
      const v = parsePythonLiteral(t);
      if (Array.isArray(v)) return v;
    } catch {
      /* not a literal: keep the text */
    }
  }
  return [cell];
}
