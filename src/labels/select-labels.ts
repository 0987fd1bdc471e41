// The heart of the stage: visit candidates least-first, give each the rows nobody took yet,
// keep all, or draw exactly `cap` by stratified sampling. Pure: (table, options) → outcomes.
import type { Category } from '../defaults.js';
import { Rng } from '../util/rng.js';
import type { LabelTable } from './label-table.js';
import type { LabelsOptions } from './options.js';
import type { Postings } from './postings.js';
import { presampleKeys, sampleKeys } from './strata-keys.js';
import { stratifiedSample } from './stratified-sample.js';
import { visitOrder } from './visit-order.js';

export interface LabelOutcome {
  token: string;
  category: Category;
  /** Visit rank, 1-based, over all candidates. */
  order: number;
  /** Rows holding the token in the whole table. */
  count: number;
  /** Rows holding the token and not taken by an earlier label. */
  candidates: number;
  /** Whether the label was kept (candidates ≥ threshold). */
  kept: boolean;
  /** Whether the pre-sample step ran. */
  presampled: boolean;
  /** Rows kept, ascending; empty when skipped. */
  rows: Int32Array;
}

export interface Selection {
  /** Every candidate in visit order, kept or skipped. */
  outcomes: LabelOutcome[];
  /** Per row: the index among the kept outcomes (outcomes.filter(o => o.kept)) of the label that took it, or -1. */
  keptOf: Int32Array;
}

/** The draw stream of one label: a function of (seed, category, token) only. */
export function labelRng(seed: number, category: Category, token: string): Rng {
  return Rng.derive(seed, 'labels', category, token);
}

/**
 * n of the available rows (more than n), stratified: first pre-sampled to `presample` when more
 * are available, then drawn to n. The labels stage's one sampling rule (docs/labels.md "At a
 * visit"); `labels --extend` tops labels up with it too.
 */
export function drawRows(
  table: LabelTable,
  available: Int32Array,
  n: number,
  category: Category,
  presample: number,
  rng: Rng,
): { rows: Int32Array; presampled: boolean } {
  let rows = available;
  let presampled = false;
  if (rows.length > presample) {
    rows = stratifiedSample(
      rows,
      presampleKeys(category).map((k) => table.columns[k]),
      presample,
      rng,
    );
    presampled = true;
  }
  rows = stratifiedSample(
    rows,
    sampleKeys(category, presampled).map((k) => table.columns[k]),
    n,
    rng,
  );
  return { rows, presampled };
}

export function selectLabels(table: LabelTable, postings: Postings, options: LabelsOptions): Selection {
  const { threshold, cap, presample, seed } = options;
  const keptOf = new Int32Array(table.n).fill(-1);
  let keptCount = 0;
  // The visit's test, one byte per row: a quarter of keptOf's memory traffic.
  const taken = new Uint8Array(table.n);
  const outcomes: LabelOutcome[] = [];
  let longest = 0;
  for (let l = 0; l < postings.labels.length; l++)
    longest = Math.max(longest, postings.offsets[l + 1] - postings.offsets[l]);
  const scratch = new Int32Array(longest);

  for (const l of visitOrder(postings.labels, threshold)) {
    const { category, token, count } = postings.labels[l];
    let m = 0;
    const listed = postings.rows;
    for (let p = postings.offsets[l], end = postings.offsets[l + 1]; p < end; p++) {
      const r = listed[p];
      if (taken[r] === 0) scratch[m++] = r;
    }
    const outcome: LabelOutcome = {
      token,
      category,
      order: outcomes.length + 1,
      count,
      candidates: m,
      kept: m >= threshold,
      presampled: false,
      rows: new Int32Array(0),
    };
    outcomes.push(outcome);
    if (!outcome.kept) continue;

    let rows: Int32Array;
    if (m > cap) {
      const drawn = drawRows(table, scratch.subarray(0, m), cap, category, presample, labelRng(seed, category, token));
      rows = drawn.rows;
      outcome.presampled = drawn.presampled;
    } else rows = scratch.slice(0, m);
    outcome.rows = rows;
    const id = keptCount++;
    for (let i = 0; i < rows.length; i++) {
      keptOf[rows[i]] = id;
      taken[rows[i]] = 1;
    }
  }
  return { outcomes, keptOf };
}
