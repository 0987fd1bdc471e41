// The catalog as the labels stage sees it: rows sorted by idx, each key column dictionary-encoded
// into value ids, packed as bit fields into a few 31-bit words per row (packed-codes.ts), the
// rows' words side by side in one Int32Array. A row's whole key tuple is then 2–3 adjacent words,
// one cache line: strata read scattered rows, and nine separate columns would cost nine cache
// misses per row (and three times the memory: fresh pages are what costs on some machines).
import { CATEGORIES, type Category } from '../defaults.js';
import { IdxColumn } from './idx-column.js';
import { bitsFor, planPacks } from './packed-codes.js';
import { compareStrings, normalizeValue } from './tokens.js';

/** Columns the stage reads besides idx: the seven categories and the stratification extras. */
export const KEY_COLUMNS = [...CATEGORIES, 'name', 'database'] as const;
export type KeyColumn = (typeof KEY_COLUMNS)[number];

export interface EncodedColumn {
  /** Distinct normalised values in code-unit order; a row's id indexes this list. */
  values: string[];
  /**
   * The table's packed words (shared by all columns), `stride` per row: row r's field is
   * (words[r * stride + word] >>> shift) & mask, 0 where the value is missing, else 1 + its id.
   */
  words: Int32Array;
  stride: number;
  word: number;
  shift: number;
  mask: number;
}

/** Row r's value id in the column, -1 where missing. */
export function valueId(column: EncodedColumn, r: number): number {
  return ((column.words[r * column.stride + column.word] >>> column.shift) & column.mask) - 1;
}

export interface LabelTable {
  /** Row count. */
  n: number;
  /** idx of each row, rows ascending by idx: row order never depends on input or ingest order. */
  idx: IdxColumn;
  columns: Record<KeyColumn, EncodedColumn>;
}

export function isCategory(c: KeyColumn): c is Category {
  return (CATEGORIES as readonly string[]).includes(c);
}

/**
 * How a raw value becomes the value the stage works with: category columns by sorted token set
 * (they are '|'-joined multi-values); name and database are single values, only trimmed.
 */
export function normalizeColumnValue(column: KeyColumn, raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  if (isCategory(column)) return normalizeValue(raw);
  const t = raw.trim();
  return t === '' ? null : t;
}

/** A dictionary from raw values to ids of their normalised forms (sorted, so ids are canonical). */
export function buildDictionary(
  column: KeyColumn,
  raws: Iterable<string | null>,
): { values: string[]; idOf: Map<string, number> } {
  const normOf = new Map<string, string | null>();
  const distinct = new Set<string>();
  for (const raw of raws) {
    if (raw === null || normOf.has(raw)) continue;
    const norm = normalizeColumnValue(column, raw);
    normOf.set(raw, norm);
    if (norm !== null) distinct.add(norm);
  }
  const values = [...distinct].sort(compareStrings);
  const idOfNorm = new Map(values.map((v, i) => [v, i]));
  const idOf = new Map<string, number>();
  for (const [raw, norm] of normOf) if (norm !== null) idOf.set(raw, idOfNorm.get(norm)!);
  return { values, idOf };
}

/**
 * The dictionary of a column from its distinct raw values (as DuckDB lists them), as a field
 * map: fieldOf[0] = 0 (missing), fieldOf[1 + i] = 1 + the id of raws[i]'s normalised value, or 0
 * where it normalises to nothing.
 */
export function dictionaryOf(column: KeyColumn, raws: readonly string[]): { values: string[]; fieldOf: Int32Array } {
  const norms = raws.map((raw) => normalizeColumnValue(column, raw));
  const values = [...new Set(norms.filter((v) => v !== null))].sort(compareStrings);
  const idOf = new Map(values.map((v, i) => [v, i]));
  const fieldOf = new Int32Array(raws.length + 1);
  norms.forEach((v, i) => {
    if (v !== null) fieldOf[i + 1] = (idOf.get(v) as number) + 1;
  });
  return { values, fieldOf };
}

/** A row as plain JS values: what tests and benchmarks build tables from. */
export type PlainRow = { idx: string } & Partial<Record<KeyColumn, string | null>>;

/** idx order: UTF-8 byte order, as DuckDB sorts VARCHAR. */
export function compareIdx(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Encode plain rows (any order) into a LabelTable; the in-memory twin of loadLabelTable. */
export function encodeRows(rows: readonly PlainRow[]): LabelTable {
  const sorted = [...rows].sort((a, b) => compareIdx(a.idx, b.idx));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].idx === sorted[i - 1].idx) throw new Error(`duplicate idx '${sorted[i].idx}'`);
  }
  const n = sorted.length;
  const dicts = KEY_COLUMNS.map((c) =>
    buildDictionary(
      c,
      sorted.map((r) => r[c] ?? null),
    ),
  );
  const columns = {} as Record<KeyColumn, EncodedColumn>;
  const packs = planPacks(dicts.map((d) => bitsFor(d.values.length)));
  const stride = packs.length;
  const words = new Int32Array(n * stride);
  packs.forEach((pack, word) => {
    let shift = 0;
    pack.columns.forEach((k, i) => {
      const c = KEY_COLUMNS[k];
      const { values, idOf } = dicts[k];
      for (let r = 0; r < n; r++) {
        const raw = sorted[r][c];
        const id = raw === null || raw === undefined ? -1 : (idOf.get(raw) ?? -1);
        words[r * stride + word] |= (id + 1) << shift;
      }
      columns[c] = { values, words, stride, word, shift, mask: 2 ** pack.bits[i] - 1 };
      shift += pack.bits[i];
    });
  });
  return { n, idx: IdxColumn.fromStrings(sorted.map((r) => r.idx)), columns };
}
