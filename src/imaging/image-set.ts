// The per-image executor: one image set (its channel files) → whole-image QC verdict → the crops
// a release writes (or the whole image when it is too small to crop or no crop survives), with
// every random choice from the Rng passed in. The build's workers run it (src/release/process-job.ts
// turns its verdict into a reject and encodes its pixels); nothing here writes files.
//
// Public entry (keep it small; extend through ImageSetOptions and ImageSetResult):
//   processImageSet(files, opts, decoded?)  the executor (fused where it can, else the reference)
//   referenceImageSet(files, opts)          the definition it must match: standardizeImageSet +
//                                           cropsForImage, as they are
//   decodeSet(files)                        start decoding ahead of processImageSet
// opts.keepChannels adds, per released window, each channel as a 16-bit plane (channel-planes.ts),
// computed after the merged image is decided.
// QC is the rule lists of qc.ts (opts.rules, default QC_RULES), looped over by both paths.
//
// Why a fused path: the reference materialises the merged image, quantises it and scans it
// several times; for a croppable image almost all of that is thrown away, since only the crop
// windows are written. Here, for integer images (8/16-bit gray or colour), the same arithmetic
// runs through one lookup table per channel, and only for the pixels that are used:
//   - lo/hi from the same histogram percentiles;
//   - whole-image QC: each rule reads the facts it needs, computed on first use (fusedFacts), and
//     a rule whose passesOn() holds on the lookup tables' bounds is not checked at all;
//   - crops: merged values of each window only, then crop QC, re-normalisation and quantisation
//     in crop-kernel.ts (the reference arithmetic, fewer passes).
// The result is bit-identical to the reference (test/imaging/image-set.test.ts checks it on real
// and synthetic images, and with an added rule); anything else (float TIFFs, unreadable or
// mismatched files) goes through the reference path unchanged.
import { IMAGING } from '../defaults.js';
import type { Rng } from '../util/rng.js';
import { channelPlanes } from './channel-planes.js';
import { cropWindow } from './crop-kernel.js';
import { cropCount, planCrops } from './crops.js';
import { decodeImage } from './decode.js';
import { quantize } from './encode.js';
import { toGray } from './gray.js';
import { normalizationLut } from './normalize.js';
import { percentilesFromHistogram, withIntegerHistogram } from './percentile.js';
import {
  type ChannelBounds,
  distinctValues,
  type FastBounds,
  QC_RULES,
  type QcRules,
  runWholeImageRules,
  type WholeImageFacts,
} from './qc.js';
import { cropsForImage, standardizeImageSet } from './standardize.js';
import type { CropWindow, DecodedImage, GrayImage, QcVerdict } from './types.js';

export interface SetCrop {
  window: CropWindow;
  width: number;
  height: number;
  output: Uint8Array;
}

export interface ImageSetResult {
  width: number;
  height: number;
  /** ok, or the failed rule's verdict (its `reject` is what a release records), or unreadable. */
  qc: QcVerdict;
  /** The whole image (8-bit) when it is released uncropped; null otherwise. */
  whole: Uint8Array | null;
  crops: SetCrop[];
  cropsPlanned: number;
  cropsRejected: number;
  /** Which path ran ('fast' or 'library'), for tests and profiling. */
  path: 'fast' | 'library';
  /**
   * With keepChannels: per released image (the whole image, or each kept crop in order), each
   * channel's 16-bit plane over the same window (src/imaging/channel-planes.ts).
   */
  channels?: Uint16Array[][];
}

export interface ImageSetOptions {
  /** Images in the label after assignment (decides 1–4 crops, with cap). */
  labelSize: number;
  cap: number;
  /** A stream for this image alone, e.g. Rng.derive(seed, idx, label). */
  rng: Rng;
  /** QC rules (default QC_RULES). */
  rules?: QcRules;
  /** Also return each channel of every released window (`build --keep-channels`); the merged output is unchanged. */
  keepChannels?: boolean;
}

/** The reference path, used as is (the definition the fused path must match). */
export async function referenceImageSet(files: readonly string[], opts: ImageSetOptions): Promise<ImageSetResult> {
  const rules = opts.rules ?? QC_RULES;
  const set = await standardizeImageSet(files, { rules });
  const base = { width: set.width, height: set.height, qc: set.qc, path: 'library' as const };
  if (set.qc.verdict !== 'ok' || set.merged === null || set.output === null) {
    return { ...base, whole: null, crops: [], cropsPlanned: 0, cropsRejected: 0 };
  }
  const c = cropsForImage(set.merged, set.width, set.height, {
    labelSize: opts.labelSize,
    cap: opts.cap,
    rng: opts.rng,
    rules,
  });
  return {
    ...base,
    whole: c.keptOriginal ? (set.output as Uint8Array) : null,
    crops: c.kept.map((k) => ({ window: k.window, width: k.width, height: k.height, output: k.output as Uint8Array })),
    cropsPlanned: c.planned.length,
    cropsRejected: c.rejected.length,
  };
}

interface Channel {
  gray: GrayImage & { data: Uint8Array | Uint16Array | Uint32Array };
  lo: number;
  hi: number;
  uniform: boolean;
  lut: Float64Array;
  /** Pixels whose code the table maps to 0. */
  zeroMapped: number;
}

// One table per channel slot, reused from image to image (the channels of a set are used
// synchronously, then dropped): fresh 512 KiB tables per channel showed up as GC time.
const lutSlots: Float64Array[] = [];
function lutSlot(slot: number, size: number): Float64Array {
  let lut = lutSlots[slot];
  if (lut === undefined || lut.length !== size) lut = lutSlots[slot] = new Float64Array(size);
  return lut;
}

function channelOf(img: DecodedImage, slot: number): Channel | null {
  if (img.sampleFormat !== 'uint') return null;
  const gray = toGray(img);
  if (!gray.integer || !Number.isFinite(gray.maxCode) || gray.maxCode > 1 << 20) return null;
  const data = gray.data as Uint8Array | Uint16Array | Uint32Array;
  const size = gray.maxCode + 1;
  return withIntegerHistogram(data, gray.maxCode, (hist) => {
    // As imagePercentiles + normalizationBounds: histogram percentiles on the code scale, then / divisor.
    const raw = percentilesFromHistogram(hist, data.length, [IMAGING.lowPercentile, IMAGING.highPercentile]);
    const [lo, hi] = gray.divisor === 1 ? raw : raw.map((v) => v / gray.divisor);
    const uniform = !(hi > lo);
    // A uniform channel contributes zeros (accumulateNormalized returns early); x + 0 = x keeps the bits.
    const lut = uniform
      ? lutSlot(slot, size).fill(0)
      : normalizationLut(gray.maxCode, gray.divisor, lo, hi, lutSlot(slot, size));
    let zeroMapped = 0;
    for (let code = 0; code < size; code++) if (lut[code] === 0) zeroMapped += hist[code];
    return { gray: { ...gray, data }, lo, hi, uniform, lut, zeroMapped };
  });
}

/** merged[i] exactly as the library computes it: ((0 + l0) + l1 + …) / k. */
function mergedAt(ch: readonly Channel[], i: number): number {
  const k = ch.length;
  if (k === 1) return ch[0].lut[ch[0].gray.data[i]];
  let s = 0;
  for (let c = 0; c < k; c++) s += ch[c].lut[ch[c].gray.data[i]];
  return s / k;
}

function mergedFull(ch: readonly Channel[], n: number): Float64Array {
  const out = new Float64Array(n);
  const k = ch.length;
  if (k === 1) {
    const { lut } = ch[0];
    const d = ch[0].gray.data;
    for (let i = 0; i < n; i++) out[i] = lut[d[i]];
    return out;
  }
  if (k === 3) {
    const [a, b, c] = ch;
    const la = a.lut,
      lb = b.lut,
      lc = c.lut;
    const da = a.gray.data,
      db = b.gray.data,
      dc = c.gray.data;
    for (let i = 0; i < n; i++) out[i] = (la[da[i]] + lb[db[i]] + lc[dc[i]]) / 3;
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = mergedAt(ch, i);
  return out;
}

/**
 * Whole-image facts on the fused path: the merged image is computed only when a rule reads it (or
 * mergedZeros / output), and the distinct-value count comes from an early-exit scan of merged
 * values (at least 3 distinct outputs is usually decided in a few pixels).
 */
function fusedFacts(
  ch: readonly Channel[],
  n: number,
  bounds: readonly ChannelBounds[],
): { facts: WholeImageFacts; fast: FastBounds } {
  let merged: Float64Array | null = null;
  let output: Uint8Array | null = null;
  let zeros = -1;
  const distinct = new Map<number, number>();
  const full = (): Float64Array => {
    merged ??= mergedFull(ch, n);
    return merged;
  };
  const facts: WholeImageFacts = {
    pixels: n,
    channels: bounds,
    distinctOutputs(limit) {
      let d = distinct.get(limit);
      if (d === undefined) {
        if (output !== null) d = distinctValues(output, limit);
        else {
          const seen = new Uint8Array(256);
          d = 0;
          for (let i = 0; i < n && d < limit; i++) {
            const q = Math.round(mergedAt(ch, i) * 255);
            if (seen[q] === 0) {
              seen[q] = 1;
              d++;
            }
          }
        }
        distinct.set(limit, d);
      }
      return d;
    },
    mergedZeros() {
      if (zeros < 0) {
        const m = full();
        let z = 0;
        for (let i = 0; i < n; i++) if (m[i] === 0) z++;
        zeros = z;
      }
      return zeros;
    },
    merged: full,
    output() {
      output ??= quantize(full(), 8);
      return output;
    },
  };
  // A merged pixel is 0 only where every channel's table gives 0, so the fewest zero-mapped
  // pixels of any channel bounds the count.
  let zerosBound = n;
  for (const c of ch) zerosBound = Math.min(zerosBound, c.zeroMapped);
  const fast: FastBounds = { pixels: n, mergedZerosAtMost: zerosBound };
  return { facts, fast };
}

/** Every channel file decoded (libvips works off the main thread); failures are kept, not thrown. */
export type DecodedSet = Promise<PromiseSettledResult<DecodedImage>[]>;

export function decodeSet(files: readonly string[]): DecodedSet {
  return Promise.allSettled(files.map((f) => decodeImage(f)));
}

/**
 * The executor. `decoded`, when given, is decodeSet(files) started earlier (a worker decodes its
 * next job ahead). Never throws for a bad image: the verdict says why.
 */
export async function processImageSet(
  files: readonly string[],
  opts: ImageSetOptions,
  decoded?: DecodedSet,
): Promise<ImageSetResult> {
  const settled = decoded ?? decodeSet(files);
  const r = await mergedImageSet(files, opts, settled);
  if (!opts.keepChannels || r.qc.verdict !== 'ok') return r;
  // The channels come after the merged image is decided, from the same decoded files, so the
  // merged output cannot depend on keepChannels.
  const grays = (await settled).map((s) => toGray((s as PromiseFulfilledResult<DecodedImage>).value));
  const windows = r.whole !== null ? [null] : r.crops.map((c) => c.window);
  return { ...r, channels: channelPlanes(grays, windows) };
}

/** The merged image's part of the executor: fused where it can, else the reference. */
async function mergedImageSet(
  files: readonly string[],
  opts: ImageSetOptions,
  decoded: DecodedSet,
): Promise<ImageSetResult> {
  const settled = await decoded;
  if (settled.some((s) => s.status === 'rejected')) return referenceImageSet(files, opts);
  const images = settled.map((s) => (s as PromiseFulfilledResult<DecodedImage>).value);
  const { width, height } = images[0];
  if (images.some((im) => im.width !== width || im.height !== height)) return referenceImageSet(files, opts);
  const ch: Channel[] = [];
  for (const im of images) {
    const c = channelOf(im, ch.length);
    if (c === null) return referenceImageSet(files, opts);
    ch.push(c);
  }
  const rules = opts.rules ?? QC_RULES;
  const n = width * height;
  const bounds = ch.map((c, i) => ({ name: files[i], lo: c.lo, hi: c.hi, uniform: c.uniform }));
  const whole = fusedFacts(ch, n, bounds);
  const qc = runWholeImageRules(rules.whole, whole.facts, whole.fast);
  const base = { width, height, qc, path: 'fast' as const };
  if (qc.verdict !== 'ok') return { ...base, whole: null, crops: [], cropsPlanned: 0, cropsRejected: 0 };
  const planned = planCrops(width, height, cropCount(opts.labelSize, opts.cap), opts.rng);
  const crops: SetCrop[] = [];
  let rejected = 0;
  const lutChannels = ch.map((c) => ({ data: c.gray.data, lut: c.lut }));
  for (const window of planned) {
    const r = cropWindow(lutChannels, width, window, rules.crop);
    if (!r.keep) {
      rejected++;
      continue;
    }
    crops.push({ window, width: window.x_max - window.x_min, height: window.y_max - window.y_min, output: r.output });
  }
  const kept = crops.length === 0 ? (whole.facts.output() as Uint8Array) : null;
  return { ...base, whole: kept, crops, cropsPlanned: planned.length, cropsRejected: rejected };
}
