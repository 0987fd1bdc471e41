// Reading a source config (JSON or YAML; JSON is parsed as YAML so both get line numbers) and
// validating it with zod. Errors name the file, the line and the offending key.
import { readFileSync, existsSync } from 'node:fs';
import {
  LineCounter,
  parseDocument,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  visit,
  type Document,
  type Node,
} from 'yaml';
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
    const opened = unclosedAt(doc, e.pos[0], e.message);
    const line = opened ? lc.linePos(opened.keyPos).line : (e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line);
    const what = opened
      ? `the value of '${opened.key}' is never closed (${e.message.split('\n')[0]})`
      : e.message.split('\n')[0];
    throw new UserError(
      `not valid JSON/YAML: ${what}`,
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
        // The key's line, not its value's: a block value starts on the line after its key.
        last = (pair.key as Node) ?? last;
        node = pair.value;
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

/**
 * YAML reports an unclosed quote, [ or { where the parser gave up (often the next key's line); the
 * mistake is on the line of the key whose value was opened and never closed.
 */
function unclosedAt(doc: Document, pos: number, message: string): { key: string; keyPos: number } | null {
  if (!/closing|end with/i.test(message)) return null;
  let best: { key: string; keyPos: number; start: number } | null = null;
  visit(doc, {
    Pair(_, pair) {
      const k = pair.key as Node | null;
      const v = pair.value as Node | null;
      if (!k?.range || !v?.range) return;
      const opens = (isCollection(v) && v.flow) || (isScalar(v) && /^QUOTE_/.test(String(v.type)));
      if (opens && v.range[0] < pos && pos <= v.range[2] && (!best || v.range[0] > best.start))
        best = { key: String((k as { value?: unknown }).value), keyPos: k.range[0], start: v.range[0] };
    },
  });
  return best;
}

/** Validates with zod; every issue is listed, each at its key's line; the first gives the location. */
export function validateConfig<T>(raw: RawConfig, schema: z.ZodType<T>, what: string): T {
  const r = schema.safeParse(raw.data);
  if (r.success) return r.data;
  const problems = r.error.issues.map((issue) => {
    let path = issue.path.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number');
    let msg = issue.message;
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys?: string[] }).keys ?? [];
      if (keys.length) path = [...path, keys[0]];
      msg = `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `'${k}'`).join(', ')}`;
    }
    if (issue.code === 'invalid_type' && /received undefined/.test(msg)) msg = 'missing key';
    const column = path.length ? path.join('.') : undefined;
    return { line: raw.lineOf(path), column, msg };
  });
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const first = problems[0];
  const msg =
    problems.length === 1
      ? `invalid ${what} config: ${first.msg}`
      : `invalid ${what} config, ${problems.length} problems:\n${problems
          .map((p) => `    line ${p.line ?? '?'}${p.column ? `, '${p.column}'` : ''}: ${p.msg}`)
          .join('\n')}`;
  throw new UserError(
    msg,
    { file: raw.file, line: first.line, column: first.column },
    "see docs/catalog.md for every adapter's keys",
  );
}
