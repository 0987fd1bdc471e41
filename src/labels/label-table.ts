// The catalog as the labels stage sees it: rows sorted by idx, each key column dictionary-encoded
// into an Int32Array of value ids. Values are interned once, so 2.7 M rows stay far below 2 GB.
import { CATEGORIES, type Category } from '../defaults.js';
import { IdxColumn } from './idx-column.js';
import { compareStrings, normalizeValue } from './tokens.js';

/** Columns the stage reads besides idx: the seven categories and the stratification extras. */
export const KEY_COLUMNS = [...CATEGORIES, 'name', 'database'] as const;
export type KeyColumn = (typeof KEY_COLUMNS)[number];

export interface EncodedColumn {
  /** Distinct normalised values in code-unit order; a row's id indexes this list. */
  values: string[];
  /** One id per row, -1 where the value is missing. */
  codes: Int32Array;
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
  const columns = {} as Record<KeyColumn, EncodedColumn>;
  for (const c of KEY_COLUMNS) {
    const { values, idOf } = buildDictionary(
      c,
      sorted.map((r) => r[c] ?? null),
    );
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const raw = sorted[i][c];
      codes[i] = raw === null || raw === undefined ? -1 : (idOf.get(raw) ?? -1);
    }
    columns[c] = { values, codes };
  }
  return { n, idx: IdxColumn.fromStrings(sorted.map((r) => r.idx)), columns };
}
