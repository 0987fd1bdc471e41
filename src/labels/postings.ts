// Token → row postings, built in one pass over the table (the original ran one regex scan of the
// whole table per label). A label is a (category, token) pair.
import type { Category } from '../defaults.js';
import type { LabelTable } from './label-table.js';

export interface LabelKey {
  category: Category;
  token: string;
  /** Rows whose column holds the token exactly, over the whole (non-excluded) table. */
  count: number;
}

export interface Postings {
  labels: LabelKey[];
  /**
   * Rows of label i are rows[offsets[i] .. offsets[i+1]), ascending (= idx order); empty for a
   * label below buildPostings' minCount.
   */
  offsets: Int32Array;
  rows: Int32Array;
}

/**
 * @param minCount list rows only for labels with at least this count (the visit's threshold):
 *   the rest are never visited, and skipping them spares a tenth of the rows and most of the
 *   write positions the scatter pass jumps between.
 */
export function buildPostings(table: LabelTable, categories: readonly Category[], minCount = 0): Postings {
  const labels: LabelKey[] = [];
  // Per category, CSR of value id → label ids (a value's tokens), and the per-value row counts.
  const valueStart: Int32Array[] = [];
  const valueLabels: Int32Array[] = [];
  for (const category of categories) {
    const { values } = table.columns[category];
    const idOfToken = new Map<string, number>();
    const start = new Int32Array(values.length + 1);
    const ids: number[] = [];
    values.forEach((v, i) => {
      for (const token of v.split('|')) {
        let id = idOfToken.get(token);
        if (id === undefined) {
          id = labels.length;
          idOfToken.set(token, id);
          labels.push({ category, token, count: 0 });
        }
        ids.push(id);
      }
      start[i + 1] = ids.length;
    });
    valueStart.push(start);
    valueLabels.push(Int32Array.from(ids));
  }

  // Count per value first (one pass per column), then per label: no per-row token work.
  const counts = new Int32Array(labels.length);
  for (let ci = 0; ci < categories.length; ci++) {
    const { words, stride, word, shift, mask, values } = table.columns[categories[ci]];
    // Slot 0 counts missing values; slot 1 + id the value id.
    const perField = new Int32Array(values.length + 1);
    for (let r = 0, w = word; r < table.n; r++, w += stride) perField[(words[w] >>> shift) & mask]++;
    const perValue = perField.subarray(1);
    const start = valueStart[ci];
    const vl = valueLabels[ci];
    for (let v = 0; v < values.length; v++) for (let j = start[v]; j < start[v + 1]; j++) counts[vl[j]] += perValue[v];
  }
  const offsets = new Int32Array(labels.length + 1);
  for (let l = 0; l < labels.length; l++) {
    labels[l].count = counts[l];
    offsets[l + 1] = offsets[l] + (counts[l] >= minCount ? counts[l] : 0);
  }
  // Value → listed labels only.
  for (let ci = 0; ci < categories.length; ci++) {
    const start = valueStart[ci];
    const vl = valueLabels[ci];
    let k = 0;
    for (let v = 0, from = 0; v + 1 < start.length; v++) {
      const to = start[v + 1];
      for (let j = from; j < to; j++) if (counts[vl[j]] >= minCount) vl[k++] = vl[j];
      from = to;
      start[v + 1] = k;
    }
  }

  const rows = new Int32Array(offsets[labels.length]);
  const cursor = offsets.slice(0, labels.length);
  for (let ci = 0; ci < categories.length; ci++) {
    const { words, stride, word, shift, mask } = table.columns[categories[ci]];
    const start = valueStart[ci];
    const vl = valueLabels[ci];
    for (let r = 0, w = word; r < table.n; r++, w += stride) {
      const v = ((words[w] >>> shift) & mask) - 1;
      if (v < 0) continue;
      for (let j = start[v], e = start[v + 1]; j < e; j++) rows[cursor[vl[j]]++] = r;
    }
  }
  return { labels, offsets, rows };
}
