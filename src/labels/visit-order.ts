// Candidates (count ≥ threshold), least count first. Ties: category in the spec's order, then
// token in code-unit order, so the same catalog always gives the same order (the original's
// quicksort left ties undefined).
import { CATEGORIES } from '../defaults.js';
import type { LabelKey } from './postings.js';
import { compareStrings } from './tokens.js';

/** Indices into labels of the candidates, in visit order. */
export function visitOrder(labels: readonly LabelKey[], threshold: number): number[] {
  const candidates: number[] = [];
  labels.forEach((l, i) => {
    if (l.count >= threshold) candidates.push(i);
  });
  return candidates.sort((a, b) => {
    const x = labels[a];
    const y = labels[b];
    return (
      x.count - y.count ||
      CATEGORIES.indexOf(x.category) - CATEGORIES.indexOf(y.category) ||
      compareStrings(x.token, y.token)
    );
  });
}
