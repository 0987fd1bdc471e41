// Percentile normalisation: clip((x − lo)/(hi − lo), 0, 1) with lo, hi the 0.1th and 99.9th
// percentiles. hi == lo is "uniform": the result is all zeros and flagged, never NaN.
import { IMAGING } from '../defaults.js';
import { imagePercentiles } from './percentile.js';
import type { GrayImage, NormalizedImage } from './types.js';

export interface NormalizeOptions {
  /** Low percentile (default 0.1). */
  low?: number;
  /** High percentile (default 99.9). */
  high?: number;
}

/** lo and hi of a gray image, on the gray scale. */
export function normalizationBounds(
  gray: GrayImage,
  opts: NormalizeOptions = {},
): { lo: number; hi: number; uniform: boolean } {
  const [lo, hi] = imagePercentiles(gray, [opts.low ?? IMAGING.lowPercentile, opts.high ?? IMAGING.highPercentile]);
  // NaN bounds (an all-NaN float image) count as uniform: nothing to normalise.
  const uniform = !(hi > lo);
  return { lo, hi, uniform };
}

/**
 * Add the normalised values of `gray` to `acc` (acc[i] += clip((v − lo)/(hi − lo), 0, 1)).
 * Integer images go through a lookup table over all possible codes, so each pixel costs one load.
 */
export function accumulateNormalized(gray: GrayImage, lo: number, hi: number, acc: Float64Array | Float32Array): void {
  const d = gray.data;
  const n = d.length;
  if (!(hi > lo)) return; // uniform: contributes zeros
  const div = gray.divisor;
  const range = hi - lo;
  if (gray.integer && Number.isFinite(gray.maxCode) && gray.maxCode + 1 <= Math.max(4 * n, 65536)) {
    const lut = normalizationLut(gray.maxCode, div, lo, hi);
    for (let i = 0; i < n; i++) acc[i] += lut[d[i]];
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = (div === 1 ? d[i] : d[i] / div) - lo;
    // NaN pixels (float images) become 0, like values below lo.
    acc[i] += v > 0 ? (v < range ? v / range : 1) : 0;
  }
}

/** The normalised value of every integer code 0..maxCode. */
export function normalizationLut(
  maxCode: number,
  divisor: number,
  lo: number,
  hi: number,
  into?: Float64Array,
): Float64Array {
  const lut = into && into.length === maxCode + 1 ? into : new Float64Array(maxCode + 1);
  const range = hi - lo;
  if (!(range > 0)) return lut.fill(0);
  // Codes well below lo are 0 and well above hi are 1 (a margin of two codes keeps float
  // rounding out of it); only the codes in between need the formula.
  const first = Math.max(0, Math.min(maxCode + 1, Math.floor(lo * divisor) - 2));
  const last = Math.max(first - 1, Math.min(maxCode, Math.ceil(hi * divisor) + 2));
  lut.fill(0, 0, first);
  for (let c = first; c <= last; c++) {
    const v = (divisor === 1 ? c : c / divisor) - lo;
    lut[c] = v > 0 ? (v < range ? v / range : 1) : 0;
  }
  lut.fill(1, last + 1);
  return lut;
}

/** Normalise one gray image to [0, 1]. */
export function normalize(gray: GrayImage, opts: NormalizeOptions = {}): NormalizedImage {
  const { lo, hi, uniform } = normalizationBounds(gray, opts);
  const data = new Float64Array(gray.data.length);
  accumulateNormalized(gray, lo, hi, data);
  return { width: gray.width, height: gray.height, data, lo, hi, uniform };
}

/** Normalise float values already in memory (e.g. a crop of a merged image). */
export function normalizeValues(
  values: Float64Array | Float32Array,
  width: number,
  height: number,
  opts: NormalizeOptions = {},
): NormalizedImage {
  return normalize({ width, height, data: values, divisor: 1, integer: false, maxCode: NaN }, opts);
}
