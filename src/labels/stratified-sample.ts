// Exact stratified sampling: largest-remainder quotas, then a seeded uniform draw inside each
// stratum (orig §12.5: the original's frac loop with banker's rounding made small strata vanish).
import type { Rng } from '../util/rng.js';
import type { EncodedColumn } from './label-table.js';

/**
 * Split n over strata of the given sizes: each gets floor(n·s/N) or ceil(n·s/N), the total is
 * exactly n. Largest remainder decides; equal remainders are ordered by a seeded shuffle so no
 * stratum is favoured for its position.
 */
export function allocateQuotas(sizes: readonly number[], n: number, rng: Rng): number[] {
  let total = 0;
  for (const s of sizes) total += s;
  if (!Number.isInteger(n) || n < 0 || n > total) throw new RangeError(`allocateQuotas: cannot take ${n} of ${total}`);
  if (n * total > Number.MAX_SAFE_INTEGER) throw new RangeError('allocateQuotas: table too large for exact quotas');
  const quotas = new Array<number>(sizes.length);
  const remainders = new Array<number>(sizes.length);
  let given = 0;
  for (let i = 0; i < sizes.length; i++) {
    const a = n * sizes[i]; // exact: below 2^53
    remainders[i] = a % total;
    quotas[i] = (a - remainders[i]) / total;
    given += quotas[i];
  }
  const order = rng.shuffle(Array.from(sizes, (_, i) => i));
  order.sort((x, y) => remainders[y] - remainders[x]); // stable: ties keep the shuffled order
  for (let k = 0; k < n - given; k++) quotas[order[k]]++;
  return quotas;
}

/**
 * Group rows by the tuple of their key values. Strata come out in key order (value ids are in
 * sorted value order, missing first), rows inside a stratum ascending: both independent of the
 * order the rows were given in.
 */
export function groupStrata(rows: Int32Array, keys: readonly EncodedColumn[]): Int32Array[] {
  const m = rows.length;
  if (keys.length === 0) return m ? [Int32Array.from(rows).sort()] : [];
  let gid = new Int32Array(m);
  let groups = 1;
  for (const key of keys) {
    const base = key.values.length + 1;
    const ids = new Map<number, number>();
    const next = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const k = gid[i] * base + key.codes[rows[i]] + 1;
      let g = ids.get(k);
      if (g === undefined) {
        g = ids.size;
        ids.set(k, g);
      }
      next[i] = g;
    }
    gid = next;
    groups = ids.size;
  }
  const first = new Int32Array(groups).fill(-1);
  const sizes = new Int32Array(groups);
  for (let i = 0; i < m; i++) {
    if (first[gid[i]] < 0) first[gid[i]] = rows[i];
    sizes[gid[i]]++;
  }
  const order = Array.from({ length: groups }, (_, g) => g).sort((a, b) => {
    for (const key of keys) {
      const d = key.codes[first[a]] - key.codes[first[b]];
      if (d !== 0) return d;
    }
    return 0;
  });
  const strata = Array.from({ length: groups }, (_, g) => new Int32Array(sizes[g]));
  const fill = new Int32Array(groups);
  for (let i = 0; i < m; i++) strata[gid[i]][fill[gid[i]]++] = rows[i];
  return order.map((g) => strata[g].sort());
}

/** Exactly n of the rows, stratified by the key columns; the result is ascending. */
export function stratifiedSample(rows: Int32Array, keys: readonly EncodedColumn[], n: number, rng: Rng): Int32Array {
  const strata = groupStrata(rows, keys);
  const quotas = allocateQuotas(
    strata.map((s) => s.length),
    n,
    rng,
  );
  const out = new Int32Array(n);
  let k = 0;
  strata.forEach((stratum, i) => {
    if (quotas[i] === stratum.length) {
      out.set(stratum, k);
      k += stratum.length;
      return;
    }
    for (const j of rng.sampleIndices(stratum.length, quotas[i])) out[k++] = stratum[j];
  });
  return out.sort();
}
