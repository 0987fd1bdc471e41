// Label standardisation, as data: one pure function per value. Applied to each DISTINCT raw value
// of a column (the catalog then joins the cleaned value back in SQL), so millions of rows never
// pass through JS.
import { parsePythonLiteral } from '../sources/python-literal.js';
import { DESCRIPTIVE_COLUMNS } from '../sources/schema.js';

/** Columns whose values are cleaned: the 7 label categories, plus microscopy and channels. */
export const CLEANED_COLUMNS = DESCRIPTIVE_COLUMNS;
export type CleanedColumn = (typeof CLEANED_COLUMNS)[number];

export type MatchKind = 'exact' | 'contains' | 'replace';

export interface SynonymRule {
  /** A column name, or '*' for every cleaned column. */
  column: string;
  match: MatchKind;
  from: string;
  to: string;
  /** Where the rule came from, for messages. */
  origin?: string;
}

export const GENE_SUFFIX = ' targeted';

/** A Python list literal such as "['f_nucleus', 'f_protein']" becomes its items; else null. */
export function listLiteralItems(raw: string): string[] | null {
  const t = raw.trim();
  if (!(t.startsWith('[') && t.endsWith(']'))) return null;
  let v: unknown;
  try {
    v = parsePythonLiteral(t);
  } catch {
    return null;
  }
  if (!Array.isArray(v)) return null;
  return v.map((x) => (x === null || x === undefined ? '' : String(x)));
}

function applyRules(token: string, rules: readonly SynonymRule[]): string {
  let t = token;
  for (const r of rules) {
    if (r.match === 'replace') {
      if (r.from !== '' && t.includes(r.from)) t = t.split(r.from).join(r.to);
    } else if (r.match === 'exact') {
      if (t === r.from) t = r.to;
    } else if (t.includes(r.from)) {
      t = r.to;
    }
  }
  return t;
}

/**
 * Cleans one raw cell of `column`: list literals → '|'-joined; lower case; whitespace collapsed;
 * '|' tokens trimmed, emptied ('', 'nan') tokens dropped; synonym rules applied to each token in
 * order; ' targeted' appended to EACH gene token lacking it; duplicate tokens dropped (first kept).
 * Returns null for a missing value.
 */
export function cleanValue(
  column: string,
  raw: string | null | undefined,
  rules: readonly SynonymRule[],
): string | null {
  if (raw === null || raw === undefined) return null;
  const items = listLiteralItems(raw);
  const joined = items ? items.join('|') : raw;
  const lower = joined.toLowerCase().replace(/\s+/g, ' ');
  const applicable = rules.filter((r) => r.column === '*' || r.column === column);
  const out: string[] = [];
  for (const tok of lower.split('|')) {
    let t = tok.trim();
    if (t === '' || t === 'nan') continue;
    t = applyRules(t, applicable).replace(/\s+/g, ' ').trim();
    if (t === '') continue;
    if (column === 'gene' && !t.endsWith(GENE_SUFFIX)) t = `${t}${GENE_SUFFIX}`;
    if (!out.includes(t)) out.push(t);
  }
  return out.length ? out.join('|') : null;
}
