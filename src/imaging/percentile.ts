// Percentiles exactly as numpy.percentile(a, q) with its default 'linear' method: virtual index
// (q/100)·(n−1) between order statistics, interpolated with numpy's _lerp. Integer data goes
// through a histogram (one pass, no sort); floats through selection. NaNs are ignored.
import type { GrayImage } from './types.js';

/** numpy's _lerp: a + (b−a)·t, computed from b's side when t ≥ 0.5 (monotone, exact at t = 1). */
export function lerp(a: number, b: number, t: number): number {
  const d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/** Order-statistic positions for percentile q of n values. */
function rankOf(q: number, n: number): { k: number; t: number } {
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${q}`);
  const v = (q / 100) * (n - 1);
  const k = Math.floor(v);
  return { k, t: v - k };
}

/**
 * Percentiles of integer data with values in [0, maxCode], from a histogram. The result is on the
 * data's own scale (not divided by any divisor).
 */
export function percentilesFromHistogram(hist: Uint32Array | Float64Array, n: number, qs: readonly number[]): number[] {
  if (n === 0) return qs.map(() => NaN);
  const wanted = qs.map((q) => rankOf(q, n));
  // The order statistics we need (k and k+1 of each q), sorted so one cumulative pass finds all.
  const ranks = [...new Set(wanted.flatMap(({ k }) => [k, Math.min(k + 1, n - 1)]))].sort((a, b) => a - b);
  const value = new Map<number, number>();
  let cum = 0;
  let r = 0;
  for (let v = 0; v < hist.length && r < ranks.length; v++) {
    cum += hist[v];
    while (r < ranks.length && ranks[r] < cum) value.set(ranks[r++], v);
  }
  return wanted.map(({ k, t }) => {
    const a = value.get(k)!;
    const b = value.get(Math.min(k + 1, n - 1))!;
    return lerp(a, b, t);
  });
}

// Four interleaved partial tables (fewer stalls when neighbouring pixels share a value), reused
// across calls: allocating and collecting them per image showed up as GC time. The OR of all
// values bounds the codes in use, so merging and clearing touch only that range.
let scratch = new Uint32Array(0);

/** Histogram of integer data with values in [0, maxCode]. */
export function histogram(data: Uint8Array | Uint16Array | Uint32Array, maxCode: number): Uint32Array {
  const size = maxCode + 1;
  if (size > 1 << 18 || data.length < 4096) {
    const h = new Uint32Array(size);
    for (let i = 0; i < data.length; i++) h[data[i]]++;
    return h;
  }
  return withHistogram([data], size, (h) => h.slice(0, size));
}

/** Run fn on the histogram of integer data in [0, maxCode] (the table is valid only during the call). */
export function withIntegerHistogram<T>(
  data: Uint8Array | Uint16Array | Uint32Array,
  maxCode: number,
  fn: (h: Uint32Array) => T,
): T {
  const size = maxCode + 1;
  if (size > 1 << 18 || data.length < 4096) return fn(histogram(data, maxCode));
  return withHistogram([data], size, fn);
}

/**
 * withIntegerHistogram over data that comes in strips (an image read a band of rows at a time,
 * src/imaging/row-source.ts): the same counts as for the strips joined, without joining them.
 */
export function withStripHistogram<T>(
  strips: Iterable<Uint8Array | Uint16Array | Uint32Array>,
  maxCode: number,
  fn: (h: Uint32Array) => T,
): T {
  const size = maxCode + 1;
  if (size <= 1 << 18) return withHistogram(strips, size, fn);
  const h = new Uint32Array(size);
  for (const data of strips) for (let i = 0; i < data.length; i++) h[data[i]]++;
  return fn(h);
}

/** Run fn on the histogram held in the shared scratch (valid only during the call). */
function withHistogram<T>(
  strips: Iterable<Uint8Array | Uint16Array | Uint32Array>,
  size: number,
  fn: (h: Uint32Array) => T,
): T {
  if (scratch.length < 4 * size) scratch = new Uint32Array(4 * Math.max(size, 65536));
  const h = scratch;
  let bits = 0;
  // every code in use is ≤ the next power of two above the OR of all values
  const top = (): number => {
    let t = 1;
    while (t <= bits) t *= 2;
    return Math.min(t, size);
  };
  try {
    // (a strip source may throw between strips: the finally still clears what was counted)
    for (const data of strips)
      bits |=
        data instanceof Uint16Array
          ? count16(data, h, size)
          : data instanceof Uint8Array
            ? count8(data, h, size)
            : countAny(data, h, size);
    const t = top();
    for (let v = 0; v < t; v++) h[v] += h[size + v] + h[2 * size + v] + h[3 * size + v];
    return fn(h.subarray(0, size));
  } finally {
    const t = top();
    for (let k = 0; k < 4; k++) h.fill(0, k * size, k * size + t);
  }
}

// Monomorphic copies of one loop, one per array type; each returns the OR of all values.
function count16(d: Uint16Array, h: Uint32Array, size: number): number {
  const n4 = d.length - (d.length & 3);
  const s1 = size,
    s2 = 2 * size,
    s3 = 3 * size;
  let bits = 0;
  let i = 0;
  for (; i < n4; i += 4) {
    const a = d[i],
      b = d[i + 1],
      c = d[i + 2],
      e = d[i + 3];
    h[a]++;
    h[s1 + b]++;
    h[s2 + c]++;
    h[s3 + e]++;
    bits |= a | b | c | e;
  }
  for (; i < d.length; i++) {
    h[d[i]]++;
    bits |= d[i];
  }
  return bits;
}
function count8(d: Uint8Array, h: Uint32Array, size: number): number {
  const n4 = d.length - (d.length & 3);
  const s1 = size,
    s2 = 2 * size,
    s3 = 3 * size;
  let bits = 0;
  let i = 0;
  for (; i < n4; i += 4) {
    const a = d[i],
      b = d[i + 1],
      c = d[i + 2],
      e = d[i + 3];
    h[a]++;
    h[s1 + b]++;
    h[s2 + c]++;
    h[s3 + e]++;
    bits |= a | b | c | e;
  }
  for (; i < d.length; i++) {
    h[d[i]]++;
    bits |= d[i];
  }
  return bits;
}
function countAny(d: Uint8Array | Uint16Array | Uint32Array, h: Uint32Array, size: number): number {
  const n4 = d.length - (d.length & 3);
  const s1 = size,
    s2 = 2 * size,
    s3 = 3 * size;
  let bits = 0;
  let i = 0;
  for (; i < n4; i += 4) {
    const a = d[i],
      b = d[i + 1],
      c = d[i + 2],
      e = d[i + 3];
    h[a]++;
    h[s1 + b]++;
    h[s2 + c]++;
    h[s3 + e]++;
    bits |= a | b | c | e;
  }
  for (; i < d.length; i++) {
    h[d[i]]++;
    bits |= d[i];
  }
  return bits;
}

/** k-th smallest (0-based) of a[lo..hi] in place (Floyd–Rivest-free quickselect, median of 3). */
export function selectInPlace(a: Float64Array | Float32Array, k: number, lo: number, hi: number): number {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three as pivot
    let x = a[lo],
      y = a[mid],
      z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo,
      j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        x = a[i];
        a[i] = a[j];
        a[j] = x;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** Percentiles of float values by selection (copies; the input is not reordered). */
export function percentilesOfFloats(values: ArrayLike<number>, qs: readonly number[]): number[] {
  let n = 0;
  const work = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === v) work[n++] = v; // skip NaN
  }
  if (n === 0) return qs.map(() => NaN);
  const a = work.subarray(0, n);
  const wanted = qs.map((q) => rankOf(q, n));
  // Select ranks in increasing order so each selection narrows the next one's range.
  const ranks = [...new Set(wanted.flatMap(({ k }) => [k, Math.min(k + 1, n - 1)]))].sort((x, y) => x - y);
  const value = new Map<number, number>();
  let lo = 0;
  for (const r of ranks) {
    value.set(r, selectInPlace(a, r, lo, n - 1));
    lo = r;
  }
  return wanted.map(({ k, t }) => lerp(value.get(k)!, value.get(Math.min(k + 1, n - 1))!, t));
}

/** Percentiles of an arbitrary array of numbers (integers use the histogram when compact). */
export function percentile(values: ArrayLike<number>, q: number): number {
  return percentilesOfFloats(values, [q])[0];
}

/** Percentiles of a gray image, on the gray scale (sums divided by the divisor). */
export function imagePercentiles(gray: GrayImage, qs: readonly number[]): number[] {
  let raw: number[];
  if (gray.integer && Number.isFinite(gray.maxCode)) {
    const data = gray.data as Uint8Array | Uint16Array | Uint32Array;
    const size = gray.maxCode + 1;
    raw =
      size > 1 << 18 || data.length < 4096
        ? percentilesFromHistogram(histogram(data, gray.maxCode), data.length, qs)
        : withHistogram([data], size, (h) => percentilesFromHistogram(h, data.length, qs));
  } else {
    raw = percentilesOfFloats(gray.data, qs);
  }
  return gray.divisor === 1 ? raw : raw.map((v) => v / gray.divisor);
}
