// Quality control as two lists of rules, each with a reason a user can act on. Whole images:
// uniform channel, one-valued, binary mask, dim. Crops: 1 < mean < 254 on the 0–255 scale and
// 75th percentile ≠ 0. Both per-image paths (the reference standardizeImageSet + cropsForImage and
// the fused processImageSet in image-set.ts) loop over the same lists, so a rule added here is
// applied by both; docs/imaging.md "Quality control" says how to add one.
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

/** Largest zero count for which percentileIsZero(·, q, zeros, n) is certainly false. */
function zerosBelowPercentile(q: number, n: number): number {
  return Math.floor((q / 100) * (n - 1));
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
 * What a whole-image rule may look at. The reference path has everything at hand; the fused path
 * computes `merged`, `output` and `mergedZeros` only when a rule asks for them, so a rule should
 * ask for the cheapest fact that decides it.
 */
export interface WholeImageFacts {
  readonly pixels: number;
  /** Per-channel normalisation bounds, one per input file. */
  readonly channels: readonly ChannelBounds[];
  /** Distinct values of the output image, counted up to `limit` (stops early). */
  distinctOutputs(limit: number): number;
  /** Pixels whose merged value is exactly 0. */
  mergedZeros(): number;
  /**
   * The merged image, values in [0, 1]. For an image read in bands (a huge image, image-set.ts)
   * this is the one fact held whole, 8 bytes a pixel: the default rules do not read it.
   */
  merged(): Float64Array | Float32Array;
  /** The merged image quantised to the output depth. */
  output(): Uint8Array | Uint16Array;
}

/** Cheap bounds the fused path knows before it computes the merged image (from its lookup tables). */
export interface FastBounds {
  readonly pixels: number;
  /** An upper bound on WholeImageFacts.mergedZeros(). */
  readonly mergedZerosAtMost: number;
}

/** What a failed check says: the sentence for the user, and the file to blame when one is. */
export type QcFailure = string | { message: string; file?: string };

export interface WholeImageRule {
  /** The verdict when the rule fails (several rules may share one, e.g. 'uniform'). */
  kind: string;
  /** The reject reason a release records for it (rejects.csv, docs/build.md), e.g. 'binary-mask'. */
  reason: string;
  /** null when the image passes, else why it fails. */
  check(facts: WholeImageFacts): QcFailure | null;
  /**
   * What the fused path may skip: true when these bounds prove the rule passes, so it need not
   * compute the facts the check reads. Without it, the rule is always checked.
   */
  passesOn?(bounds: FastBounds): boolean;
}

/** Merged values of one crop window and what crop QC derives from them, computed alike by both paths. */
export interface CropFacts {
  /**
   * The window's merged values, row-major (length n). The fused path computes a tall window of a
   * huge image a band at a time, and gathers it whole (8 bytes a pixel) only when a rule reads this.
   */
  readonly values: Float64Array | Float32Array;
  readonly n: number;
  /** Mean on the 0–255 scale. */
  readonly mean: number;
  /** Values exactly 0. */
  readonly zeros: number;
}

/** A crop rule. Both paths compute every CropFacts field for every window, so there is nothing to skip. */
export interface CropRule {
  kind: string;
  /** The reason recorded with a rejected crop (cropsForImage's `rejected`). */
  reason: string;
  check(facts: CropFacts): string | null;
}

/** Whole-image rules in the order they are tried; the first failure is the verdict. */
export const WHOLE_IMAGE_RULES: readonly WholeImageRule[] = [
  {
    kind: 'uniform',
    reason: 'uniform-image',
    check: (f) => {
      const flat = f.channels.find((c) => c.uniform);
      if (!flat) return null;
      return {
        message: `uniform image (0.1th percentile ${fmt(flat.lo)} = 99.9th percentile ${fmt(flat.hi)})`,
        file: flat.name,
      };
    },
  },
  {
    kind: 'uniform',
    reason: 'uniform-image',
    check: (f) => (f.distinctOutputs(3) <= 1 ? 'the merged image has a single value' : null),
  },
  {
    kind: 'binary',
    reason: 'binary-mask',
    check: (f) => (f.distinctOutputs(3) === 2 ? 'binary mask: the merged image has exactly two distinct values' : null),
  },
  {
    kind: 'dim',
    reason: 'dim-image',
    check: (f) =>
      percentileIsZero(EMPTY, 75, f.mergedZeros(), f.pixels)
        ? 'dim: the 75th percentile of the merged image is 0'
        : null,
    // a merged pixel is 0 only where every channel's table gives 0 (see image-set.ts)
    passesOn: (b) => b.mergedZerosAtMost <= zerosBelowPercentile(75, b.pixels),
  },
];

/** Crop rules in the order they are tried. */
export const CROP_RULES: readonly CropRule[] = [
  {
    kind: 'dark',
    reason: 'too-dark',
    check: (c) =>
      c.mean > IMAGING.cropMeanLow ? null : `too dark (mean ${c.mean.toFixed(2)} ≤ ${IMAGING.cropMeanLow} of 255)`,
  },
  {
    kind: 'bright',
    reason: 'too-bright',
    check: (c) =>
      c.mean < IMAGING.cropMeanHigh ? null : `too bright (mean ${c.mean.toFixed(2)} ≥ ${IMAGING.cropMeanHigh} of 255)`,
  },
  {
    kind: 'dim',
    reason: 'dim-crop',
    // from the zero count alone: reading c.values would make a window read in bands be gathered whole
    check: (c) => (percentileIsZero(EMPTY, 75, c.zeros, c.n) ? 'dim (75th percentile is 0)' : null),
  },
];

/** Both rule lists, as the per-image executors take them. */
export interface QcRules {
  whole: readonly WholeImageRule[];
  crop: readonly CropRule[];
}

export const QC_RULES: QcRules = { whole: WHOLE_IMAGE_RULES, crop: CROP_RULES };

/** The verdict of the first failing rule, or OK. `bounds`, when given, lets rules be skipped (the fused path). */
export function runWholeImageRules(
  rules: readonly WholeImageRule[],
  facts: WholeImageFacts,
  bounds?: FastBounds,
): QcVerdict {
  for (const rule of rules) {
    if (bounds !== undefined && rule.passesOn?.(bounds)) continue;
    const failure = rule.check(facts);
    if (failure === null) continue;
    const v: QcVerdict =
      typeof failure === 'string'
        ? { verdict: rule.kind, reason: failure }
        : failure.file === undefined
          ? { verdict: rule.kind, reason: failure.message }
          : { verdict: rule.kind, reason: failure.message, file: failure.file };
    v.reject = rule.reason;
    return v;
  }
  return OK;
}

/** The first failing crop rule, or null when the crop passes. */
export function runCropRules(rules: readonly CropRule[], facts: CropFacts): { rule: CropRule; message: string } | null {
  for (const rule of rules) {
    const message = rule.check(facts);
    if (message !== null) return { rule, message };
  }
  return null;
}

/** Whole-image facts over arrays already computed (the reference path). `merged` may be computed on demand. */
export function factsOf(
  merged: () => Float64Array | Float32Array,
  channels: readonly ChannelBounds[],
  output: Uint8Array | Uint16Array,
  zeros?: number,
): WholeImageFacts {
  let zeroCount = zeros;
  return {
    pixels: output.length,
    channels,
    distinctOutputs: (limit) => distinctValues(output, limit),
    mergedZeros: () => {
      if (zeroCount === undefined) {
        const m = merged();
        let z = 0;
        for (let i = 0; i < m.length; i++) if (m[i] === 0) z++;
        zeroCount = z;
      }
      return zeroCount;
    },
    merged,
    output: () => output,
  };
}

/**
 * Verdict for a merged image by the default rules: uniform (a channel with hi == lo, or a
 * one-valued result), binary mask (exactly two distinct output values), dim (75th percentile of
 * the merged image is 0).
 */
export function wholeImageQc(
  merged: Float64Array | Float32Array,
  channels: readonly ChannelBounds[],
  output: Uint8Array | Uint16Array,
  /** Zeros in merged, if the caller already counted them. */
  zeros?: number,
  rules: readonly WholeImageRule[] = WHOLE_IMAGE_RULES,
): QcVerdict {
  return runWholeImageRules(
    rules,
    factsOf(() => merged, channels, output, zeros),
  );
}

export interface CropVerdict {
  keep: boolean;
  /** Mean on the 0–255 scale. */
  mean: number;
  reason: string;
}

/** Crop QC on merged values in [0, 1] by the rules (default: keep if 1 < 255·mean < 254 and the 75th percentile ≠ 0). */
export function cropQc(values: Float64Array | Float32Array, rules: readonly CropRule[] = CROP_RULES): CropVerdict {
  let s = 0;
  let zeros = 0;
  for (let i = 0; i < values.length; i++) {
    s += values[i];
    if (values[i] === 0) zeros++;
  }
  const mean = values.length ? (s / values.length) * 255 : 0;
  const failed = runCropRules(rules, { values, n: values.length, mean, zeros });
  return failed === null ? { keep: true, mean, reason: '' } : { keep: false, mean, reason: failed.message };
}

const EMPTY = new Float64Array(0);

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
}
