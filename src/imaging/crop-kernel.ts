// One crop window, start to finish, in three passes instead of the library's seven: merged values
// of the window (with the crop-QC sum and zero count on the way), the 0.1/99.9 percentiles by a
// histogram-guided selection, then re-normalisation and quantisation straight into 8-bit output.
// Every value is formed with the library's arithmetic in the library's order, so the bytes are
// those of extractCrop → cropQc → normalizeValues → quantize (test/imaging/image-set.test.ts).
// Crop QC is the same rule list (qc.ts CROP_RULES or the caller's) over the same CropFacts.
//
// Rows come from a RowSource (row-source.ts). A window that fits in one band (always, for an image
// in memory) has its merged values computed once and kept; a taller one (an image read from spill
// files) has them computed band by band on each pass, so what it holds is one band's values, the
// selection pools (at most src.maxValues values: a bin with more is split by another pass) and the
// 8-bit output.
import { IMAGING } from '../defaults.js';
import { roundHalfUp } from './encode.js';
import { lerp, selectInPlace } from './percentile.js';
import { runCropRules, type CropRule } from './qc.js';
import { bandsOf, type RowSource, valueRows } from './row-source.js';
import type { CropWindow } from './types.js';

export type CropOutcome = { keep: true; output: Uint8Array } | { keep: false };

// Reused across crops and images: a fresh 2.6 MB float array per crop showed up as GC time.
let scratch = new Float64Array(0);
// Values lie in [0, 1]; bin = ⌊v·BINS⌋ is monotone (×BINS is exact), so the k-th smallest value
// is found among the values of one bin.
const BINS = 4096;
const counts = new Uint32Array(BINS + 1);
// What a repeated pass counts into (its counts are not needed).
const discard = new Uint32Array(BINS + 1);

/**
 * Merged values of the window's rows [y0, y1) into out, exactly as mergedAt/extractCrop give
 * them; `sum` goes on from the value passed in (the same additions, in the same order, as one
 * pass over the window), zeros and bin counts are added to.
 */
function windowPass(
  src: RowSource,
  luts: readonly Float64Array[],
  w: CropWindow,
  y0: number,
  y1: number,
  out: Float64Array,
  bins: Uint32Array,
  sum0: number,
): { sum: number; zeros: number } {
  const bands = luts.map((_, c) => src.rows(c, y0, y1, w.x_min, w.x_max));
  const data = bands.map((b) => b.data);
  // every channel's band has the same layout (one source, the same rows and columns)
  const { stride, left } = bands[0];
  let sum = sum0;
  let zeros = 0;
  let o = 0;
  if (data.length === 3 && data.every((d) => d instanceof Uint16Array)) {
    const da = data[0] as Uint16Array,
      db = data[1] as Uint16Array,
      dc = data[2] as Uint16Array;
    const la = luts[0],
      lb = luts[1],
      lc = luts[2];
    for (let y = y0; y < y1; y++) {
      const end = (y - y0) * stride + w.x_max - left;
      for (let i = (y - y0) * stride + w.x_min - left; i < end; i++) {
        const m = (la[da[i]] + lb[db[i]] + lc[dc[i]]) / 3;
        out[o++] = m;
        sum += m;
        zeros += m === 0 ? 1 : 0;
        bins[binOf(m)]++;
      }
    }
    return { sum, zeros };
  }
  const k = data.length;
  if (k === 1 && data[0] instanceof Uint16Array)
    return oneChannel16(data[0], luts[0], y0, y1, stride, w.x_min - left, w.x_max - left, out, bins, sum);
  if (k === 1 && data[0] instanceof Uint8Array)
    return oneChannel8(data[0], luts[0], y0, y1, stride, w.x_min - left, w.x_max - left, out, bins, sum);
  for (let y = y0; y < y1; y++) {
    const end = (y - y0) * stride + w.x_max - left;
    for (let i = (y - y0) * stride + w.x_min - left; i < end; i++) {
      let m: number;
      if (k === 1) m = luts[0][data[0][i]];
      else {
        let s = 0;
        for (let c = 0; c < k; c++) s += luts[c][data[c][i]];
        m = s / k;
      }
      out[o++] = m;
      sum += m;
      zeros += m === 0 ? 1 : 0;
      bins[binOf(m)]++;
    }
  }
  return { sum, zeros };
}

// windowPass for one channel of 16-bit or 8-bit codes (a gray file, or an 8-bit RGB file's sums):
// one monomorphic loop per array type, as in merge-kernel.ts.
function oneChannel16(
  d: Uint16Array,
  lut: Float64Array,
  y0: number,
  y1: number,
  stride: number,
  from: number,
  to: number,
  out: Float64Array,
  bins: Uint32Array,
  sum0: number,
): { sum: number; zeros: number } {
  let sum = sum0;
  let zeros = 0;
  let o = 0;
  for (let y = y0; y < y1; y++) {
    const end = (y - y0) * stride + to;
    for (let i = (y - y0) * stride + from; i < end; i++) {
      const m = lut[d[i]];
      out[o++] = m;
      sum += m;
      zeros += m === 0 ? 1 : 0;
      bins[binOf(m)]++;
    }
  }
  return { sum, zeros };
}
function oneChannel8(
  d: Uint8Array,
  lut: Float64Array,
  y0: number,
  y1: number,
  stride: number,
  from: number,
  to: number,
  out: Float64Array,
  bins: Uint32Array,
  sum0: number,
): { sum: number; zeros: number } {
  let sum = sum0;
  let zeros = 0;
  let o = 0;
  for (let y = y0; y < y1; y++) {
    const end = (y - y0) * stride + to;
    for (let i = (y - y0) * stride + from; i < end; i++) {
      const m = lut[d[i]];
      out[o++] = m;
      sum += m;
      zeros += m === 0 ? 1 : 0;
      bins[binOf(m)]++;
    }
  }
  return { sum, zeros };
}

function binOf(v: number): number {
  const b = (v * BINS) | 0;
  return b > BINS ? BINS : b;
}

/** The window's merged values in row-major order, a band at a time (one band, when kept). */
type ValueBands = () => Iterable<[values: Float64Array, length: number]>;

/**
 * The values v with ⌊v·scale⌋ = prefix (scale a power of two, so the test is exact and monotone):
 * `before` values of the window lie below them, `count` among them, and the wanted ranks inside.
 */
interface Slice {
  scale: number;
  prefix: number;
  before: number;
  count: number;
  ranks: number[];
}

// A slice too large to gather is split into SUB parts by one more pass; after three splits a slice
// is 2^-48 wide and is gathered whatever its size (it then holds ties, or values within a few
// ulps of each other).
const SUB = 4096;
const MAX_SCALE = 2 ** 48;

/** Slices split so far, and of those, found to be one tied value (a test's check that splitting ran). */
export const selectionSplits = { split: 0, tied: 0 };

/** The slices of `bins` (counts of the parts of a slice, or of [0, 1] at the top) that hold the ranks. */
function slicesOf(bins: Uint32Array, scale: number, base: number, before: number, ranks: readonly number[]): Slice[] {
  const out: Slice[] = [];
  let cum = before;
  let r = 0;
  for (let b = 0; b < bins.length && r < ranks.length; b++) {
    const next = cum + bins[b];
    let slice: Slice | null = null;
    while (r < ranks.length && ranks[r] < next) {
      slice ??= { scale, prefix: base + b, before: cum, count: bins[b], ranks: [] };
      slice.ranks.push(ranks[r++]);
    }
    if (slice !== null) out.push(slice);
    cum = next;
  }
  return out;
}

interface Parts {
  bins: Uint32Array;
  min: number;
  max: number;
}

// The passes' loops, as plain functions of their arrays (a loop over captured variables ran
// several times slower here).

/** Count the values of slice s into its SUB parts, with their least and greatest. */
function splitPass(values: Float64Array, length: number, s: Slice, p: Parts): void {
  const { scale, prefix } = s;
  const base = prefix * SUB;
  const bins = p.bins;
  let min = p.min;
  let max = p.max;
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (Math.floor(v * scale) !== prefix) continue;
    bins[Math.floor(v * scale * SUB) - base]++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  p.min = min;
  p.max = max;
}

/** Gather the values of top-level bins: pool[fill[bin]] for the bins that hold ranks. */
function gatherBins(
  values: Float64Array,
  length: number,
  fill: Int32Array,
  pools: Float64Array[],
  used: Int32Array,
): void {
  for (let i = 0; i < length; i++) {
    const v = values[i];
    const p = fill[binOf(v)];
    if (p >= 0) pools[p][used[p]++] = v;
  }
}

/** Gather the values of slices at any level. */
function gatherSlices(
  values: Float64Array,
  length: number,
  slices: readonly Slice[],
  pools: Float64Array[],
  used: Int32Array,
): void {
  for (let i = 0; i < length; i++) {
    const v = values[i];
    for (let j = 0; j < slices.length; j++) {
      if (Math.floor(v * slices[j].scale) === slices[j].prefix) pools[j][used[j]++] = v;
    }
  }
}

/** Order statistics at the given ranks (0-based) of the window's values, guided by the bin counts of the first pass. */
function orderStatistics(bands: ValueBands, ranks: readonly number[], poolValues: number): Map<number, number> {
  const result = new Map<number, number>();
  let slices = slicesOf(
    counts,
    BINS,
    0,
    0,
    [...new Set(ranks)].sort((a, b) => a - b),
  );
  // Split slices too large to gather, one pass per level (an image in memory never needs this).
  for (;;) {
    const big = slices.filter((s) => s.count > poolValues && s.scale < MAX_SCALE);
    if (big.length === 0) break;
    const parts: Parts[] = big.map(() => ({ bins: new Uint32Array(SUB), min: Number.POSITIVE_INFINITY, max: -1 }));
    for (const [values, length] of bands())
      for (let j = 0; j < big.length; j++) splitPass(values, length, big[j], parts[j]);
    slices = slices.filter((s) => !big.includes(s));
    big.forEach((s, j) => {
      const p = parts[j];
      selectionSplits.split++;
      if (p.min === p.max) {
        selectionSplits.tied++;
        for (const r of s.ranks) result.set(r, p.min); // all tied
      } else slices.push(...slicesOf(p.bins, s.scale * SUB, s.prefix * SUB, s.before, s.ranks));
    });
  }
  if (slices.length === 0) return result;
  // Gather the values of each slice (one pass), then select within each.
  const pools = slices.map((s) => new Float64Array(s.count));
  const used = new Int32Array(slices.length);
  if (slices.every((s) => s.scale === BINS)) {
    const fill = new Int32Array(BINS + 1).fill(-1);
    slices.forEach((s, i) => (fill[s.prefix] = i));
    for (const [values, length] of bands()) gatherBins(values, length, fill, pools, used);
  } else for (const [values, length] of bands()) gatherSlices(values, length, slices, pools, used);
  slices.forEach((s, i) => {
    for (const rank of s.ranks) result.set(rank, selectInPlace(pools[i], rank - s.before, 0, pools[i].length - 1));
  });
  return result;
}

/** Percentiles q of the n values as numpy computes them (rank (q/100)·(n−1), numpy's lerp). */
function percentiles(bands: ValueBands, n: number, qs: readonly number[], poolValues: number): number[] {
  const wanted = qs.map((q) => {
    const v = (q / 100) * (n - 1);
    const k = Math.floor(v);
    return { k, k1: Math.min(k + 1, n - 1), t: v - k };
  });
  const stats = orderStatistics(
    bands,
    wanted.flatMap((w) => [w.k, w.k1]),
    poolValues,
  );
  return wanted.map((w) => lerp(stats.get(w.k)!, stats.get(w.k1)!, w.t));
}

function normalizeQuantize(values: Float64Array, n: number, lo: number, hi: number, out: Uint8Array, at: number): void {
  const range = hi - lo;
  for (let i = 0; i < n; i++) {
    // accumulateNormalized into zeros (0 + x = x for x ≥ 0), then quantize
    const v = values[i] - lo;
    out[at + i] = roundHalfUp((v > 0 ? (v < range ? v / range : 1) : 0) * 255);
  }
}

/** The window's first pass (sum, zeros, bin counts) and a way to go over its values again. */
function measureWindow(
  src: RowSource,
  luts: readonly Float64Array[],
  w: CropWindow,
): { n: number; sum: number; zeros: number; bands: ValueBands; kept: Float64Array | null } {
  const cw = w.x_max - w.x_min;
  const n = cw * (w.y_max - w.y_min);
  // Kept: the window is one band, its values are computed once. Otherwise one band's values.
  const step = valueRows(src, cw);
  const keep = w.y_max - w.y_min <= step;
  const room = keep ? n : cw * step;
  if (scratch.length < room) scratch = new Float64Array(room);
  const values = scratch;
  counts.fill(0);
  let sum = 0;
  let zeros = 0;
  for (const [y0, y1] of bandsOf(src, w.y_min, w.y_max, step)) {
    const r = windowPass(src, luts, w, y0, y1, values, counts, sum);
    sum = r.sum;
    zeros += r.zeros;
  }
  const bands: ValueBands = keep
    ? () => [[values, n]]
    : function* () {
        for (const [y0, y1] of bandsOf(src, w.y_min, w.y_max, step)) {
          windowPass(src, luts, w, y0, y1, values, discard, 0);
          yield [values, (y1 - y0) * cw];
        }
      };
  return { n, sum, zeros, bands, kept: keep ? values.subarray(0, n) : null };
}

/** Percentiles qs of a window's merged values, as the crop kernel finds them (exported for tests). */
export function windowPercentiles(
  src: RowSource,
  luts: readonly Float64Array[],
  w: CropWindow,
  qs: readonly number[],
): number[] {
  const m = measureWindow(src, luts, w);
  return percentiles(m.bands, m.n, qs, src.maxValues);
}

/**
 * Crop QC, re-normalisation and 8-bit output of one window of the merged image whose channel c
 * is luts[c][codes] (codes from src) and whose merged value is their mean.
 */
export function cropWindow(
  src: RowSource,
  luts: readonly Float64Array[],
  w: CropWindow,
  rules: readonly CropRule[],
): CropOutcome {
  if (w.x_max <= w.x_min || w.y_max <= w.y_min) return { keep: false };
  const { n, sum, zeros, bands, kept } = measureWindow(src, luts, w);
  const mean = (sum / n) * 255;
  let all = kept;
  const facts = {
    n,
    mean,
    zeros,
    // The window's values, for a rule that reads them (the default rules do not): a window of
    // several bands is then gathered whole.
    get values(): Float64Array {
      if (all === null) {
        const a = new Float64Array(n);
        let at = 0;
        for (const [v, length] of bands()) {
          a.set(v.subarray(0, length), at);
          at += length;
        }
        all = a;
      }
      return all;
    },
  };
  if (runCropRules(rules, facts) !== null) return { keep: false };
  const [lo, hi] = percentiles(bands, n, [IMAGING.lowPercentile, IMAGING.highPercentile], src.maxValues);
  if (!(hi > lo)) return { keep: false }; // uniform crop
  const output = new Uint8Array(n);
  let at = 0;
  for (const [v, length] of bands()) {
    normalizeQuantize(v, length, lo, hi, output, at);
    at += length;
  }
  return { keep: true, output };
}
