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

/** A stratum's seeded key for ordering equal quota remainders: keyed by its first row, never its position. */
export function tieKey(salt: number, firstRow: number): number {
  return mix32(salt ^ mix32(firstRow));
}

function ascending(rows: Int32Array): Int32Array {
  for (let i = 1; i < rows.length; i++) if (rows[i] < rows[i - 1]) return Int32Array.from(rows).sort();
  return rows;
}

// Scratch arrays reused from one label to the next: a big label's draw would otherwise touch
// megabytes of fresh memory each time, and fresh pages are what costs (one fault per 4 KiB).
let gidScratch: Int32Array = new Int32Array(0);
let markScratch: Uint8Array = new Uint8Array(0);
let slotScratch: Int32Array = new Int32Array(0);
let tupleScratch: Int32Array = new Int32Array(0);
let repScratch: Int32Array = new Int32Array(0);
let keyScratch: Int32Array = new Int32Array(0);
let hashScratch: Int32Array = new Int32Array(0);
let tableScratch: Int32Array = new Int32Array(0);

function scratchInt32(current: Int32Array, size: number): Int32Array {
  return current.length >= size ? current : new Int32Array(Math.max(size, current.length * 2));
}

/** Key spaces up to this many tuples are grouped by direct addressing instead of hashing. */
const DIRECT_LIMIT = 1 << 18;

/** A key that is not there: its field is always 0. */
const NO_KEY = { word: 0, shift: 0, mask: 0, values: [] as string[] };

/** The direct-addressing slot of a tuple of more than three columns. */
function directKey(words: Int32Array, at: number, keys: readonly EncodedColumn[]): number {
  let key = 0;
  for (let k = 0, stride = 1; k < keys.length; k++) {
    key += ((words[at + keys[k].word] >>> keys[k].shift) & keys[k].mask) * stride;
    stride *= keys[k].values.length + 1;
  }
  return key;
}

interface Groups {
  /** Stratum of each row (rows[i] is in stratum gid[i]); a shared scratch array, valid until the next call. */
  gid: Int32Array;
  count: number;
  /** First (smallest) row of each stratum. */
  rep: Int32Array;
}

/**
 * Number strata in order of their first row: one pass over the ascending rows, by direct
 * addressing when the key columns' value counts multiply to a small number (the pre-sample keys),
 * else by an open-addressing hash table over the rows' packed words, grown with the strata found.
 */
function groupIds(rows: Int32Array, keys: readonly EncodedColumn[]): Groups {
  const m = rows.length;
  const nk = keys.length;
  let space = 1;
  for (const k of keys) space *= k.values.length + 1;
  // At most min(m, space) strata: sized once, no growth checks in the loops.
  const most = Math.min(m, space);
  gidScratch = scratchInt32(gidScratch, m);
  repScratch = scratchInt32(repScratch, most);
  const gid = gidScratch;
  const rep = repScratch;
  let count = 0;
  if (nk === 0) {
    if (m > 0) {
      gid.fill(0, 0, m);
      rep[0] = rows[0];
      count = 1;
    }
    return { gid, count, rep };
  }

  if (space <= DIRECT_LIMIT) {
    // Tuple → slot: sum of field · stride. Slots hold group + 1 (0: not seen); reset after.
    slotScratch = scratchInt32(slotScratch, space);
    const slot = slotScratch;
    const { words, stride: perRow } = keys[0];
    keyScratch = scratchInt32(keyScratch, most);
    const keyOfGroup = keyScratch;
    // Up to three columns (the pre-sample keys), unrolled: a missing one has mask 0.
    const [k0, k1 = NO_KEY, k2 = NO_KEY] = keys;
    const w0 = k0.word;
    const s0 = k0.shift;
    const m0 = k0.mask;
    const w1 = k1.word;
    const s1 = k1.shift;
    const m1 = k1.mask;
    const w2 = k2.word;
    const s2 = k2.shift;
    const m2 = k2.mask;
    const st1 = k0.values.length + 1;
    const st2 = st1 * (k1.values.length + 1);
    for (let i = 0; i < m; i++) {
      const r = rows[i];
      const at = r * perRow;
      let key =
        ((words[at + w0] >>> s0) & m0) + ((words[at + w1] >>> s1) & m1) * st1 + ((words[at + w2] >>> s2) & m2) * st2;
      if (nk > 3) key = directKey(words, at, keys);
      let g = slot[key] - 1;
      if (g < 0) {
        g = count++;
        rep[g] = r;
        keyOfGroup[g] = key;
        slot[key] = g + 1;
      }
      gid[i] = g;
    }
    for (let g = 0; g < count; g++) slot[keyOfGroup[g]] = 0;
    return { gid, count, rep };
  }

  // A tuple is the key columns' bits of the row's packed words: one mask per word involved.
  const { words, stride: perRow } = keys[0];
  const byWord = new Int32Array(perRow);
  for (const k of keys) byWord[k.word] |= (k.mask << k.shift) | 0;
  const wordAt: number[] = [];
  const maskList: number[] = [];
  byWord.forEach((bits, w) => {
    if (bits !== 0) {
      wordAt.push(w);
      maskList.push(bits);
    }
  });
  const nw = wordAt.length;
  const wordMask = Int32Array.from(maskList);
  let size = 1024;
  while (size < 4 * Math.min(m, 4096)) size <<= 1;
  tableScratch = scratchInt32(tableScratch, size);
  let table = tableScratch;
  table.fill(-1, 0, size);
  hashScratch = scratchInt32(hashScratch, m);
  const hashOf = hashScratch;
  // Each stratum's masked words, side by side: comparing against them reads no other row.
  keyScratch = scratchInt32(keyScratch, m * nw);
  const keyWords = keyScratch;
  // First gather every row's masked words into one compact array (the rows are scattered over the
  // table: one cache miss each, and independent loads the CPU can overlap); the hashing loop that
  // follows, full of branches, then reads only this array.
  tupleScratch = scratchInt32(tupleScratch, m * nw);
  const tuples = tupleScratch;
  for (let i = 0, o = 0; i < m; i++) {
    const at = rows[i] * perRow;
    for (let w = 0; w < nw; w++, o++) tuples[o] = words[at + wordAt[w]] & wordMask[w];
  }
  // Up to three words (every table of up to 93 bits of codes), unrolled: a missing one is 0.
  const n3 = nw <= 3;
  const here = new Int32Array(nw);
  for (let i = 0; i < m; i++) {
    let x0 = 0;
    let x1 = 0;
    let x2 = 0;
    let h: number;
    if (n3) {
      const o = i * nw;
      x0 = tuples[o];
      if (nw > 1) x1 = tuples[o + 1];
      if (nw > 2) x2 = tuples[o + 2];
      h = mix32(mix32(mix32(0x9e3779b9 ^ x0) ^ x1) ^ x2);
    } else {
      h = 0x9e3779b9;
      for (let w = 0; w < nw; w++) {
        here[w] = tuples[i * nw + w];
        h = mix32(h ^ here[w]);
      }
    }
    let mask = size - 1;
    let s = h & mask;
    let g = -1;
    for (;;) {
      const t = table[s];
      if (t < 0) break;
      if (hashOf[t] === (h | 0)) {
        let same = true;
        if (n3) {
          const o = t * nw;
          same = keyWords[o] === x0 && (nw < 2 || keyWords[o + 1] === x1) && (nw < 3 || keyWords[o + 2] === x2);
        } else {
          for (let w = 0; w < nw; w++) {
            if (keyWords[t * nw + w] !== here[w]) {
              same = false;
              break;
            }
          }
        }
        if (same) {
          g = t;
          break;
        }
      }
      s = (s + 1) & mask;
    }
    if (g < 0) {
      g = count++;
      rep[g] = rows[i];
      hashOf[g] = h | 0;
      for (let w = 0; w < nw; w++) keyWords[g * nw + w] = tuples[i * nw + w];
      if (2 * count > size) {
        // Grow and re-insert every stratum by its stored hash.
        size <<= 1;
        mask = size - 1;
        tableScratch = scratchInt32(tableScratch, size);
        table = tableScratch;
        table.fill(-1, 0, size);
        for (let e = 0; e < count; e++) {
          let x = hashOf[e] & mask;
          while (table[x] >= 0) x = (x + 1) & mask;
          table[x] = e;
        }
      } else table[s] = g;
    }
    gid[i] = g;
  }
  return { gid, count, rep };
}

// Rng.sampleIndices' partial Fisher–Yates, drawing the same positions from the same stream (one
// rng.int(i, size - 1) per pick) without a Map per call: most strata are small, and a Map and an
// array per stratum cost more than the draw. Position x's current value is perm[x] when
// stamp[x] is this call's stamp, else x itself.
let permScratch: Int32Array = new Int32Array(0);
let stampScratch: Int32Array = new Int32Array(0);
let stampNow = 0;

/** Marks the `take` positions drawn from [0, size) at mark[base + position]. */
function markDraws(rng: Rng, size: number, take: number, mark: Uint8Array, base: number): void {
  if (permScratch.length < size) {
    permScratch = new Int32Array(Math.max(size, permScratch.length * 2));
    stampScratch = new Int32Array(permScratch.length);
    stampNow = 0;
  }
  const perm = permScratch;
  const stamp = stampScratch;
  if (++stampNow === 0x7fffffff) {
    stamp.fill(0);
    stampNow = 1;
  }
  const now = stampNow;
  for (let i = 0; i < take; i++) {
    const j = rng.int(i, size - 1);
    const vi = stamp[i] === now ? perm[i] : i;
    const vj = stamp[j] === now ? perm[j] : j;
    mark[base + vj] = 1;
    perm[j] = vi;
    stamp[j] = now;
  }
}

/** The k-th smallest of keys (0-based), by quickselect: keys is reordered. */
function kthSmallest(keys: Float64Array, k: number): number {
  let lo = 0;
  let hi = keys.length - 1;
  while (lo < hi) {
    // Median of three as the pivot, then Hoare partition.
    const mid = (lo + hi) >>> 1;
    const a = keys[lo];
    const b = keys[mid];
    const c = keys[hi];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (keys[i] < pivot) i++;
      while (keys[j] > pivot) j--;
      if (i <= j) {
        const t = keys[i];
        keys[i] = keys[j];
        keys[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return keys[k];
  }
  return keys[k];
}

/**
 * Group rows by the tuple of their key values (value ids of normalised values, so 'a|b' and
 * 'b|a' are one stratum; -1, missing, is a value of its own). Strata come in order of their
 * first row, rows ascending inside.
 */
export function groupStrata(input: Int32Array, keys: readonly EncodedColumn[]): Strata {
  const rows = ascending(input);
  const m = rows.length;
  const { gid, count } = groupIds(rows, keys);
  const offsets = new Int32Array(count + 1);
  for (let i = 0; i < m; i++) offsets[gid[i] + 1]++;
  for (let g = 0; g < count; g++) offsets[g + 1] += offsets[g];
  const fill = offsets.slice(0, count);
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
  // The deficit-th largest key: a selection, not a sort (most draws have thousands of strata).
  const cut = kthSmallest(keys, keys.length - deficit);
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

/**
 * Exactly n of the rows, stratified by the key columns; the result is ascending. Inside a
 * stratum, position j is its j-th row in idx order; the draws mark positions, and one pass over
 * the rows in order collects the marked ones (no per-stratum row lists, no final sort).
 */
export function stratifiedSample(rows: Int32Array, keys: readonly EncodedColumn[], n: number, rng: Rng): Int32Array {
  const sorted = ascending(rows);
  const m = sorted.length;
  const { gid, count, rep } = groupIds(sorted, keys);
  const sizes = new Int32Array(count);
  for (let i = 0; i < m; i++) sizes[gid[i]]++;
  const tie = new Uint32Array(count);
  const salt = rng.int(0, 0x7fffffff);
  for (let g = 0; g < count; g++) tie[g] = tieKey(salt, rep[g]);
  const quotas = allocateQuotas(sizes, n, tie);

  if (markScratch.length < m) markScratch = new Uint8Array(Math.max(m, markScratch.length * 2));
  const mark = markScratch;
  mark.fill(0, 0, m);
  const start = new Int32Array(count);
  const full = new Uint8Array(count);
  for (let g = 0, s = 0; g < count; g++) {
    start[g] = s;
    if (quotas[g] === sizes[g]) full[g] = 1;
    else if (quotas[g] > 0) markDraws(rng, sizes[g], quotas[g], mark, s);
    s += sizes[g];
  }
  const out = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < m; i++) {
    const g = gid[i];
    const pos = start[g]++;
    if (full[g] || mark[pos]) out[k++] = sorted[i];
  }
  return out;
}
