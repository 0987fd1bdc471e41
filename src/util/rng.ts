// Every random choice in cytoimagenet goes through an Rng passed in explicitly (never Math.random).
// Per-item streams are derived from (seed, stable id) by hashing, so results cannot depend on
// worker count, scheduling or input row order.
import { createHash } from 'node:crypto';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/** Four 32-bit words from sha256 of the parts; never all zero (xoroshiro's forbidden state). */
function stateFrom(parts: readonly (string | number)[]): number[] {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(String(p));
    h.update('\u0000');
  }
  const d = h.digest();
  const s = [d.readInt32LE(0), d.readInt32LE(4), d.readInt32LE(8), d.readInt32LE(12)];
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}

export class Rng {
  private readonly gen: RandomGenerator;

  private constructor(gen: RandomGenerator) {
    this.gen = gen;
  }

  /** A generator for a run-level seed. */
  static fromSeed(seed: number | string): Rng {
    return new Rng(xoroshiro128plusFromState(stateFrom(['cytoimagenet', seed])));
  }

  /** An independent stream for one item, a pure function of (seed, ...ids). */
  static derive(seed: number | string, ...ids: readonly (string | number)[]): Rng {
    return new Rng(xoroshiro128plusFromState(stateFrom(['cytoimagenet', seed, ...ids])));
  }

  /** Resume from a saved state (see state()). */
  static fromState(state: readonly number[]): Rng {
    return new Rng(xoroshiro128plusFromState(state));
  }

  state(): number[] {
    return [...this.gen.getState()];
  }

  /** Integer uniform in [from, to], both inclusive (like Python's random.randint). */
  int(from: number, to: number): number {
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < from) {
      throw new RangeError(`Rng.int: invalid range [${from}, ${to}]`);
    }
    return uniformInt(this.gen, from, to);
  }

  /** Float uniform in [0, 1), 53 random bits. */
  float(): number {
    return uniformFloat64(this.gen);
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /** k distinct indices of [0, n), in the order drawn (partial Fisher–Yates; O(k) memory). */
  sampleIndices(n: number, k: number): number[] {
    if (k > n || k < 0) throw new RangeError(`Rng.sampleIndices: cannot take ${k} of ${n}`);
    const swapped = new Map<number, number>();
    const out: number[] = new Array(k);
    for (let i = 0; i < k; i++) {
      const j = this.int(i, n - 1);
      const vi = swapped.get(i) ?? i;
      const vj = swapped.get(j) ?? j;
      out[i] = vj;
      swapped.set(j, vi);
    }
    return out;
  }

  /** One element chosen uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick: empty list');
    return items[this.int(0, items.length - 1)];
  }
}
