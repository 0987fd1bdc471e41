// Reading a source config (JSON or YAML; JSON is parsed as YAML so both get line numbers) and
// validating it with zod. Errors name the file, the line and the offending key.
import { readFileSync, existsSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../util/errors.js';

export interface RawConfig {
  file: string;
  data: unknown;
  /** 1-based line of the value at a key path, when known. */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

export function readConfigFile(file: string): RawConfig {
  if (!existsSync(file)) throw new UserError('config file not found', { file });
  const text = readFileSync(file, 'utf8');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line;
    throw new UserError(
      `not valid JSON/YAML: ${e.message.split('\n')[0]}`,
      { file, line },
      'a config is a JSON or YAML mapping such as {"adapter": "standard", "table": "t.csv"}',
    );
  }
  const data: unknown = doc.toJS();
  const lineOf = (path: readonly (string | number)[]): number | undefined => {
    let node: unknown = doc.contents;
    let last: Node | undefined = doc.contents ?? undefined;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
        if (!pair) break;
        last = (pair.key as Node) ?? last;
        node = pair.value;
        if (node) last = node as Node;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
        if (node) last = node as Node;
      } else break;
    }
    const range = last?.range;
    return range ? lc.linePos(range[0]).line : undefined;
  };
  return { file, data, lineOf };
}

/** Validates with zod; the first issue becomes a UserError at its key's line. */
export function validateConfig<T>(raw: RawConfig, schema: z.ZodType<T>, what: string): T {
  const r = schema.safeParse(raw.data);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  let path = issue.path.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number');
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    if (keys.length) path = [...path, keys[0]];
    msg = `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `'${k}'`).join(', ')}`;
  }
  const column = path.length ? path.join('.') : undefined;
  const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more problem(s))` : '';
  throw new UserError(
    `invalid ${what} config: ${msg}${more}`,
    { file: raw.file, line: raw.lineOf(path), column },
    "see docs/catalog.md for every adapter's keys",
  );
}
