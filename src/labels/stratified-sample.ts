// Exact stratified sampling: largest-remainder quotas, then a seeded uniform draw inside each
// stratum (the original's frac loop with banker's rounding made small strata vanish).
// Rows are table positions, i.e. ranks by idx, so every order below is canonical: it depends on
// the catalog's content only, never on input or ingest order.
import type { Rng } from '../util/rng.js';
import type { EncodedColumn } from './label-table.js';

/** Rows grouped by stratum: stratum g is rows[offsets[g] .. offsets[g+1]), ascending. */
export interface Strata {
  rows: Int32Array;
  offsets: Int32Array;
}

export function strataCount(s: Strata): number {
  return s.offsets.length - 1;
}

/** A 32-bit mix (murmur3 finaliser): cheap, well spread, deterministic. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function ascending(rows: Int32Array): Int32Array {
  for (let i = 1; i < rows.length; i++) if (rows[i] < rows[i - 1]) return Int32Array.from(rows).sort();
  return rows;
}

/**
 * Group rows by the tuple of their key values (value ids of normalised values, so 'a|b' and
 * 'b|a' are one stratum; -1, missing, is a value of its own). Strata come in order of their
 * first row, rows ascending inside: one open-addressing hash pass, one counting sort.
 */
export function groupStrata(input: Int32Array, keys: readonly EncodedColumn[]): Strata {
  const rows = ascending(input);
  const m = rows.length;
  if (keys.length === 0 || m === 0) return { rows, offsets: Int32Array.from(m ? [0, m] : [0]) };
  const codes = keys.map((k) => k.codes);
  const nk = codes.length;
  let size = 1;
  while (size < 2 * m) size <<= 1;
  const mask = size - 1;
  const table = new Int32Array(size).fill(-1);
  const rep = new Int32Array(m);
  const gid = new Int32Array(m);
  let groups = 0;
  for (let i = 0; i < m; i++) {
    const r = rows[i];
    let h = 0x9e3779b9;
    for (let k = 0; k < nk; k++) h = mix32(h ^ (codes[k][r] + 1));
    let slot = h & mask;
    let g = -1;
    for (;;) {
      const t = table[slot];
      if (t < 0) break;
      const q = rep[t];
      let same = true;
      for (let k = 0; k < nk; k++) {
        if (codes[k][q] !== codes[k][r]) {
          same = false;
          break;
        }
      }
      if (same) {
        g = t;
        break;
      }
      slot = (slot + 1) & mask;
    }
    if (g < 0) {
      g = groups++;
      rep[g] = r;
      table[slot] = g;
    }
    gid[i] = g;
  }
  const offsets = new Int32Array(groups + 1);
  for (let i = 0; i < m; i++) offsets[gid[i] + 1]++;
  for (let g = 0; g < groups; g++) offsets[g + 1] += offsets[g];
  const fill = offsets.slice(0, groups);
  const out = new Int32Array(m);
  for (let i = 0; i < m; i++) out[fill[gid[i]]++] = rows[i];
  return { rows: out, offsets };
}

/**
 * Split n over strata of the given sizes: each gets floor(n·s/N) or ceil(n·s/N), the total is
 * exactly n. Largest remainder decides; equal remainders are ordered by `tie` (seeded per-stratum
 * keys, so no stratum is favoured for its position), then by index.
 */
export function allocateQuotas(sizes: ArrayLike<number>, n: number, tie: ArrayLike<number>): Int32Array {
  const g = sizes.length;
  let total = 0;
  for (let i = 0; i < g; i++) total += sizes[i];
  if (!Number.isInteger(n) || n < 0 || n > total) throw new RangeError(`allocateQuotas: cannot take ${n} of ${total}`);
  if (n * total > Number.MAX_SAFE_INTEGER || total > 2 ** 25)
    throw new RangeError('allocateQuotas: too many rows for exact quotas');
  const quotas = new Int32Array(g);
  const rem = new Float64Array(g);
  let given = 0;
  let withRemainder = 0;
  for (let i = 0; i < g; i++) {
    const a = n * sizes[i]; // exact below 2^53
    const r = a % total;
    quotas[i] = (a - r) / total;
    given += quotas[i];
    // Remainder first, then the tie key (28 bits): one number, so a native sort orders both.
    rem[i] = r === 0 ? -1 : r * 2 ** 28 + (0x0fffffff - (tie[i] & 0x0fffffff));
    if (r > 0) withRemainder++;
  }
  let deficit = n - given;
  if (deficit === 0) return quotas;
  const keys = new Float64Array(withRemainder);
  for (let i = 0, j = 0; i < g; i++) if (rem[i] >= 0) keys[j++] = rem[i];
  keys.sort();
  const cut = keys[keys.length - deficit];
  for (let i = 0; i < g; i++) {
    if (rem[i] > cut) {
      quotas[i]++;
      deficit--;
    }
  }
  for (let i = 0; i < g && deficit > 0; i++) {
    if (rem[i] === cut) {
      quotas[i]++;
      deficit--;
    }
  }
  return quotas;
}

/** Exactly n of the rows, stratified by the key columns; the result is ascending. */
export function stratifiedSample(rows: Int32Array, keys: readonly EncodedColumn[], n: number, rng: Rng): Int32Array {
  const strata = groupStrata(rows, keys);
  const g = strataCount(strata);
  const sizes = new Int32Array(g);
  const tie = new Uint32Array(g);
  const salt = rng.int(0, 0x7fffffff);
  for (let i = 0; i < g; i++) {
    sizes[i] = strata.offsets[i + 1] - strata.offsets[i];
    tie[i] = mix32(salt ^ mix32(strata.rows[strata.offsets[i]])); // keyed by the stratum's first row
  }
  const quotas = allocateQuotas(sizes, n, tie);
  const out = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < g; i++) {
    const from = strata.offsets[i];
    if (quotas[i] === sizes[i]) {
      out.set(strata.rows.subarray(from, from + sizes[i]), k);
      k += sizes[i];
    } else if (quotas[i] > 0) {
      for (const j of rng.sampleIndices(sizes[i], quotas[i])) out[k++] = strata.rows[from + j];
    }
  }
  return out.sort();
}
