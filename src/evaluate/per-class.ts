// Accuracy per true label, the per-class table every task reports.
import { compareNatural } from '../util/stable-order.js';
import { accuracy, type Accuracy } from './vote.js';

export interface ClassAccuracy extends Accuracy {
  /** The subset it belongs to: nsc, nscb, test1..test4, loo. */
  subset: string;
  label: string;
}

export function perClass(subset: string, truth: readonly string[], predicted: readonly string[]): ClassAccuracy[] {
  const tally = new Map<string, [number, number]>();
  for (let i = 0; i < truth.length; i++) {
    const t = tally.get(truth[i]) ?? [0, 0];
    t[1]++;
    if (predicted[i] === truth[i]) t[0]++;
    tally.set(truth[i], t);
  }
  return [...tally.keys()].sort(compareNatural).map((label) => {
    const [c, n] = tally.get(label)!;
    return { subset, label, ...accuracy(c, n) };
  });
}
