// The kNN decision and its reported uncertainty.

/**
 * Majority label of the neighbours, given nearest first. A tie goes to the tied label whose nearest
 * member comes first, i.e. is closest (neighbour lists are ordered by distance, then row index, so
 * this is deterministic even when distances are equal).
 */
export function vote<L>(neighbourLabels: readonly L[]): L {
  if (neighbourLabels.length === 0) throw new RangeError('vote: no neighbours');
  const count = new Map<L, number>();
  for (const l of neighbourLabels) count.set(l, (count.get(l) ?? 0) + 1);
  let best = neighbourLabels[0];
  let bestCount = count.get(best)!;
  // Map iteration follows first appearance, i.e. nearest first: a later label must beat, not tie.
  for (const [l, c] of count) {
    if (c > bestCount) {
      best = l;
      bestCount = c;
    }
  }
  return best;
}

export interface Accuracy {
  correct: number;
  total: number;
  accuracy: number;
  /** Half-width of the normal-approximation 95 % interval, 1.96·√(p(1−p)/n), as the paper. */
  ci95: number;
}

export function accuracy(correct: number, total: number): Accuracy {
  if (total === 0) return { correct: 0, total: 0, accuracy: 0, ci95: 0 };
  const p = correct / total;
  return { correct, total, accuracy: p, ci95: 1.96 * Math.sqrt((p * (1 - p)) / total) };
}
