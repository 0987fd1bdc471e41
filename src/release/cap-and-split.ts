// Per-label decisions after upsampling: cap the label again (the original's "Cap at 1000"), then split
// it 90/10 into train/val. Both are pure and seeded per label, so they cannot depend on worker
// count or on the order in which images finished.
import type { Rng } from '../util/rng.js';

export interface Groupable {
  /** The source image set the row came from (its crops share it). */
  group: string;
}

/**
 * Indices of rows to remove so that at most `cap` remain. Like the original, one random row is
 * taken from each source image and those are removed first; unlike the original, only images
 * that still have several rows qualify, round after round, so an image loses its last row only
 * when every image is down to one (keeps as many distinct source images as possible).
 */
export function capRows(rows: readonly Groupable[], cap: number, rng: Rng): Set<number> {
  const removed = new Set<number>();
  let excess = rows.length - cap;
  if (excess <= 0) return removed;
  // Rows per group, in the given (stable) order.
  const groups = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const g = groups.get(r.group);
    if (g) g.push(i);
    else groups.set(r.group, [i]);
  });
  const live = [...groups.values()];
  while (excess > 0) {
    const several = live.filter((g) => g.length >= 2);
    if (several.length === 0) {
      const rest = live.flat();
      for (const k of rng.sampleIndices(rest.length, excess)) removed.add(rest[k]);
      return removed;
    }
    // One random row of each image that has several.
    const candidates = several.map((g) => ({ g, at: rng.int(0, g.length - 1) }));
    const take =
      candidates.length >= excess ? rng.sampleIndices(candidates.length, excess) : candidates.map((_, k) => k);
    // Remove from the highest position first so earlier positions stay valid within a group.
    const chosen = take.map((k) => candidates[k]).sort((a, b) => b.at - a.at);
    for (const { g, at } of chosen) {
      removed.add(g[at]);
      g.splice(at, 1);
    }
    excess -= take.length;
  }
  return removed;
}

/**
 * Indices of rows that go to validation: about `fraction` of the label, whole source images at
 * a time, so crops of one image never sit on both sides of the split (the original split crops
 * independently, which leaks).
 */
export function valRows(rows: readonly Groupable[], fraction: number, rng: Rng): Set<number> {
  const target = Math.round(rows.length * fraction);
  const val = new Set<number>();
  if (target <= 0) return val;
  const groups = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const g = groups.get(r.group);
    if (g) g.push(i);
    else groups.set(r.group, [i]);
  });
  const order = rng.shuffle([...groups.values()]);
  let count = 0;
  for (const g of order) {
    if (count >= target) break;
    if (count + g.length > target) continue; // a smaller image may still fit
    for (const i of g) val.add(i);
    count += g.length;
  }
  // Every image larger than the quota: one image still goes to validation, unless it is the only one.
  if (count === 0 && order.length > 1) for (const i of order[0]) val.add(i);
  return val;
}
