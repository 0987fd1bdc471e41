// One crop window, start to finish, in three passes instead of the library's seven: merged values
// of the window (with the crop-QC sum and zero count on the way), the 0.1/99.9 percentiles by a
// histogram-guided selection, then re-normalisation and quantisation straight into 8-bit output.
// Every value is formed with the library's arithmetic in the library's order, so the bytes are
// those of extractCrop → cropQc → normalizeValues → quantize (test/imaging/image-set.test.ts).
// Crop QC is the same rule list (qc.ts CROP_RULES or the caller's) over the same CropFacts.
import { IMAGING } from '../defaults.js';
import { roundHalfUp } from './encode.js';
import { lerp, selectInPlace } from './percentile.js';
import { runCropRules, type CropRule } from './qc.js';
import type { CropWindow } from './types.js';

/** One channel as the window pass reads it: integer codes and their normalised values. */
export interface LutChannel {
  data: Uint8Array | Uint16Array | Uint32Array;
  lut: Float64Array;
}

export type CropOutcome = { keep: true; output: Uint8Array } | { keep: false };

// Reused across crops and images: a fresh 2.6 MB float array per crop showed up as GC time.
let scratch = new Float64Array(0);
// Values lie in [0, 1]; bin = ⌊v·BINS⌋ is monotone (×BINS is exact), so the k-th smallest value
// is found among the values of one bin.
const BINS = 4096;
const counts = new Uint32Array(BINS + 1);

/** The window's merged values, exactly as mergedAt/extractCrop give them; sum and zeros as cropQc counts them. */
function windowPass(
  ch: readonly LutChannel[],
  width: number,
  w: CropWindow,
  out: Float64Array,
): { sum: number; zeros: number } {
  counts.fill(0);
  let sum = 0;
  let zeros = 0;
  let o = 0;
  if (ch.length === 3 && ch.every((c) => c.data instanceof Uint16Array)) {
    const da = ch[0].data as Uint16Array,
      db = ch[1].data as Uint16Array,
      dc = ch[2].data as Uint16Array;
    const la = ch[0].lut,
      lb = ch[1].lut,
      lc = ch[2].lut;
    for (let y = w.y_min; y < w.y_max; y++) {
      const end = y * width + w.x_max;
      for (let i = y * width + w.x_min; i < end; i++) {
        const m = (la[da[i]] + lb[db[i]] + lc[dc[i]]) / 3;
        out[o++] = m;
        sum += m;
        zeros += m === 0 ? 1 : 0;
        counts[binOf(m)]++;
      }
    }
    return { sum, zeros };
  }
  const k = ch.length;
  for (let y = w.y_min; y < w.y_max; y++) {
    const end = y * width + w.x_max;
    for (let i = y * width + w.x_min; i < end; i++) {
      let m: number;
      if (k === 1) m = ch[0].lut[ch[0].data[i]];
      else {
        let s = 0;
        for (let c = 0; c < k; c++) s += ch[c].lut[ch[c].data[i]];
        m = s / k;
      }
      out[o++] = m;
      sum += m;
      zeros += m === 0 ? 1 : 0;
      counts[binOf(m)]++;
    }
  }
  return { sum, zeros };
}

function binOf(v: number): number {
  const b = (v * BINS) | 0;
  return b > BINS ? BINS : b;
}

/** Order statistics at the given ranks (0-based) of values[0..n), guided by the bin counts. */
function orderStatistics(values: Float64Array, n: number, ranks: readonly number[]): Map<number, number> {
  // The bin of each rank, and how many values lie in lower bins.
  const want = new Map<number, { before: number; rank: number[] }>();
  let cum = 0;
  const sorted = [...new Set(ranks)].sort((a, b) => a - b);
  let r = 0;
  for (let b = 0; b <= BINS && r < sorted.length; b++) {
    const next = cum + counts[b];
    while (r < sorted.length && sorted[r] < next) {
      const e = want.get(b) ?? { before: cum, rank: [] };
      e.rank.push(sorted[r++]);
      want.set(b, e);
    }
    cum = next;
  }
  // Gather the values of the wanted bins (one pass), then select within each.
  const bins = [...want.keys()];
  const pools = bins.map((b) => new Float64Array(counts[b]));
  const fill = new Int32Array(BINS + 1).fill(-1);
  bins.forEach((b, i) => (fill[b] = i));
  const used = new Int32Array(bins.length);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const p = fill[binOf(v)];
    if (p >= 0) pools[p][used[p]++] = v;
  }
  const result = new Map<number, number>();
  bins.forEach((b, i) => {
    const e = want.get(b)!;
    for (const rank of e.rank) result.set(rank, selectInPlace(pools[i], rank - e.before, 0, pools[i].length - 1));
  });
  return result;
}

/** Percentiles q of the n values as numpy computes them (rank (q/100)·(n−1), numpy's lerp). */
function percentiles(values: Float64Array, n: number, qs: readonly number[]): number[] {
  const wanted = qs.map((q) => {
    const v = (q / 100) * (n - 1);
    const k = Math.floor(v);
    return { k, k1: Math.min(k + 1, n - 1), t: v - k };
  });
  const stats = orderStatistics(
    values,
    n,
    wanted.flatMap((w) => [w.k, w.k1]),
  );
  return wanted.map((w) => lerp(stats.get(w.k)!, stats.get(w.k1)!, w.t));
}

function normalizeQuantize(values: Float64Array, n: number, lo: number, hi: number): Uint8Array {
  const out = new Uint8Array(n);
  const range = hi - lo;
  for (let i = 0; i < n; i++) {
    // accumulateNormalized into zeros (0 + x = x for x ≥ 0), then quantize
    const v = values[i] - lo;
    out[i] = roundHalfUp((v > 0 ? (v < range ? v / range : 1) : 0) * 255);
  }
  return out;
}

/**
 * Crop QC, re-normalisation and 8-bit output of one window of the merged image whose channel i
 * is lut_i[data_i] and whose merged value is their mean.
 */
export function cropWindow(
  ch: readonly LutChannel[],
  width: number,
  w: CropWindow,
  rules: readonly CropRule[],
): CropOutcome {
  const n = (w.x_max - w.x_min) * (w.y_max - w.y_min);
  if (n === 0) return { keep: false };
  if (scratch.length < n) scratch = new Float64Array(n);
  const values = scratch;
  const { sum, zeros } = windowPass(ch, width, w, values);
  const mean = (sum / n) * 255;
  if (runCropRules(rules, { values: values.subarray(0, n), n, mean, zeros }) !== null) return { keep: false };
  const [lo, hi] = percentiles(values, n, [IMAGING.lowPercentile, IMAGING.highPercentile]);
  if (!(hi > lo)) return { keep: false }; // uniform crop
  return { keep: true, output: normalizeQuantize(values, n, lo, hi) };
}
