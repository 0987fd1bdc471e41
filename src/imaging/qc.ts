// Quality-control verdicts, each with a reason a user can act on. Whole images: unreadable,
// uniform, binary mask, dim. Crops: 1 < mean < 254 on the 0–255 scale and 75th percentile ≠ 0.
import { IMAGING } from '../defaults.js';
import type { QcVerdict } from './types.js';

export const OK: QcVerdict = { verdict: 'ok', reason: '' };

/** Whether percentile q of non-negative values is exactly 0, by counting zeros (no sort). */
export function percentileIsZero(values: ArrayLike<number>, q: number, knownZeros?: number, count?: number): boolean {
  const n = count ?? values.length;
  if (n === 0) return false;
  let zeros = knownZeros ?? 0;
  if (knownZeros === undefined) for (let i = 0; i < n; i++) if (values[i] === 0) zeros++;
  const v = (q / 100) * (n - 1);
  const k = Math.floor(v);
  const t = v - k;
  // Sorted ascending, the zeros come first: order statistic j is 0 iff j < zeros.
  return zeros > k && (t === 0 || zeros > Math.min(k + 1, n - 1));
}

/** Number of distinct values in 8- or 16-bit output pixels, stopping early past `limit`. */
export function distinctValues(pixels: Uint8Array | Uint16Array, limit = 3): number {
  const seen = new Uint8Array(pixels instanceof Uint8Array ? 256 : 65536);
  let count = 0;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (seen[v] === 0) {
      seen[v] = 1;
      if (++count >= limit) return count;
    }
  }
  return count;
}

export interface ChannelBounds {
  name: string;
  lo: number;
  hi: number;
  uniform: boolean;
}

/**
 * Verdict for a merged image: uniform (a channel with hi == lo, or a one-valued result), binary
 * mask (exactly two distinct output values), dim (75th percentile of the merged image is 0).
 */
export function wholeImageQc(
  merged: Float64Array | Float32Array,
  channels: readonly ChannelBounds[],
  output: Uint8Array | Uint16Array,
  /** Zeros in merged, if the caller already counted them. */
  zeros?: number,
  /** Pixel count, when merged is not passed (empty) because zeros were counted. */
  pixels?: number,
): QcVerdict {
  const flat = channels.find((c) => c.uniform);
  if (flat) {
    return {
      verdict: 'uniform',
      reason: `uniform image (0.1th percentile ${fmt(flat.lo)} = 99.9th percentile ${fmt(flat.hi)})`,
      file: flat.name,
    };
  }
  const distinct = distinctValues(output, 3);
  if (distinct <= 1) return { verdict: 'uniform', reason: 'the merged image has a single value' };
  if (distinct === 2)
    return { verdict: 'binary', reason: 'binary mask: the merged image has exactly two distinct values' };
  if (percentileIsZero(merged, 75, zeros, pixels))
    return { verdict: 'dim', reason: 'dim: the 75th percentile of the merged image is 0' };
  return OK;
}

export interface CropVerdict {
  keep: boolean;
  /** Mean on the 0–255 scale. */
  mean: number;
  reason: string;
}

/** Crop QC on merged values in [0, 1]: keep if 1 < 255·mean < 254 and the 75th percentile ≠ 0. */
export function cropQc(values: Float64Array | Float32Array): CropVerdict {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  const mean = values.length ? (s / values.length) * 255 : 0;
  if (!(mean > IMAGING.cropMeanLow))
    return { keep: false, mean, reason: `too dark (mean ${mean.toFixed(2)} ≤ ${IMAGING.cropMeanLow} of 255)` };
  if (!(mean < IMAGING.cropMeanHigh))
    return { keep: false, mean, reason: `too bright (mean ${mean.toFixed(2)} ≥ ${IMAGING.cropMeanHigh} of 255)` };
  if (percentileIsZero(values, 75)) return { keep: false, mean, reason: 'dim (75th percentile is 0)' };
  return { keep: true, mean, reason: '' };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
}
