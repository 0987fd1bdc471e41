// The per-image executor: one image set (its channel files) → whole-image QC verdict → the crops
// a release writes (or the whole image when it is too small to crop or no crop survives), with
// every random choice from the Rng passed in. The build's workers run it (src/release/process-job.ts
// turns its verdict into a reject and encodes its pixels); nothing here writes files.
//
// Public entry (keep it small; extend through ImageSetOptions and ImageSetResult):
//   processImageSet(files, opts, decoded?)  the executor (fused where it can, else the reference)
//   referenceImageSet(files, opts)          the definition it must match: standardizeImageSet +
//                                           cropsForImage, as they are
//   decodeSet(files, opts)                  start decoding ahead of processImageSet
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
//
// The fused path reads pixels only through a RowSource (row-source.ts), a band of rows at a time.
// A set decoded in memory is one band, so nothing changes for it. A huge set (at least
// opts.stripPixels pixels, IMAGING.stripPixels) is decoded by libvips into spill files on disk and
// read back in bands of opts.stripBytes per file (spill-rows.ts): the histograms, the whole-image
// facts and every crop window are computed band by band, and what the process holds is a few
// bands plus the pixels it releases (docs/imaging.md "Very large images"). A set the spill cannot
// stream (BMP, float samples, URLs, OME entries) is decoded in memory as before.
import { IMAGING } from '../defaults.js';
import type { Rng } from '../util/rng.js';
import { channelPlane, channelPlanes } from './channel-planes.js';
import { cropWindow } from './crop-kernel.js';
import { cropCount, planCrops } from './crops.js';
import { decodeImage } from './decode.js';
import { filePixels } from './decode-footprint.js';
import { quantize, roundHalfUp } from './encode.js';
import { toGray } from './gray.js';
import { normalizationLut } from './normalize.js';
import { percentilesFromHistogram, withStripHistogram } from './percentile.js';
import {
  type ChannelBounds,
  distinctValues,
  type FastBounds,
  QC_RULES,
  type QcRules,
  runWholeImageRules,
  type WholeImageFacts,
} from './qc.js';
import {
  bandsOf,
  channelBands,
  type IntegerCodes,
  memoryRows,
  type RowSource,
  valueRows,
  windowGray,
} from './row-source.js';
import { type SpilledSet, spillSet } from './spill-rows.js';
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
  /**
   * Which path ran, for tests and profiling: 'fast' (fused, decoded in memory), 'strips' (fused,
   * read in bands from spill files: a huge set) or 'library' (the reference).
   */
  path: 'fast' | 'strips' | 'library';
  /**
   * With keepChannels: per released image (the whole image, or each kept crop in order), each
   * channel's 16-bit plane over the same window (src/imaging/channel-planes.ts).
   */
  channels?: Uint16Array[][];
}

export interface ImageSetOptions extends StripOptions {
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

/** A channel as the fused path uses it: its bounds and lookup table. */
interface Channel {
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

/** Channel c's bounds and table, from a histogram of its bands; null when its codes do not suit a table. */
function channelOf(src: RowSource, c: number): Channel | null {
  const { maxCode, divisor } = src.channels[c];
  if (!Number.isFinite(maxCode) || maxCode > 1 << 20) return null;
  const size = maxCode + 1;
  const n = src.width * src.height;
  return withStripHistogram(channelBands(src, c), maxCode, (hist) => {
    // As imagePercentiles + normalizationBounds: histogram percentiles on the code scale, then / divisor.
    const raw = percentilesFromHistogram(hist, n, [IMAGING.lowPercentile, IMAGING.highPercentile]);
    const [lo, hi] = divisor === 1 ? raw : raw.map((v) => v / divisor);
    const uniform = !(hi > lo);
    // A uniform channel contributes zeros (accumulateNormalized returns early); x + 0 = x keeps the bits.
    const lut = uniform ? lutSlot(c, size).fill(0) : normalizationLut(maxCode, divisor, lo, hi, lutSlot(c, size));
    let zeroMapped = 0;
    for (let code = 0; code < size; code++) if (lut[code] === 0) zeroMapped += hist[code];
    return { lo, hi, uniform, lut, zeroMapped };
  });
}

/** merged[i] exactly as the library computes it: ((0 + l0) + l1 + …) / k. */
function mergedAt(luts: readonly Float64Array[], data: readonly IntegerCodes[], i: number): number {
  const k = luts.length;
  if (k === 1) return luts[0][data[0][i]];
  let s = 0;
  for (let c = 0; c < k; c++) s += luts[c][data[c][i]];
  return s / k;
}

/** The merged values of one band (codes `data`, `count` pixels) into out. */
function mergedInto(
  luts: readonly Float64Array[],
  data: readonly IntegerCodes[],
  out: Float64Array,
  count: number,
): void {
  const k = luts.length;
  if (k === 1) {
    const lut = luts[0];
    const d = data[0];
    for (let i = 0; i < count; i++) out[i] = lut[d[i]];
    return;
  }
  if (k === 3) {
    const [la, lb, lc] = luts;
    const [da, db, dc] = data;
    for (let i = 0; i < count; i++) out[i] = (la[da[i]] + lb[db[i]] + lc[dc[i]]) / 3;
    return;
  }
  for (let i = 0; i < count; i++) out[i] = mergedAt(luts, data, i);
}

/**
 * Whole-image facts on the fused path: the merged image is computed only when a rule reads it (or
 * mergedZeros / output), and the distinct-value count comes from an early-exit scan of merged
 * values (at least 3 distinct outputs is usually decided in a few pixels). An image in one band
 * keeps its merged image once computed (as the library does); one read in bands computes
 * mergedZeros and output band by band, and holds the merged image only if a rule reads merged().
 */
function fusedFacts(
  src: RowSource,
  luts: readonly Float64Array[],
  zeroMapped: readonly number[],
  bounds: readonly ChannelBounds[],
): { facts: WholeImageFacts; fast: FastBounds } {
  const n = src.width * src.height;
  const step = valueRows(src, src.width);
  const oneBand = step >= src.height;
  let merged: Float64Array | null = null;
  let output: Uint8Array | null = null;
  let zeros = -1;
  const distinct = new Map<number, number>();
  const codes = (y0: number, y1: number): IntegerCodes[] => luts.map((_, c) => src.rows(c, y0, y1).data);
  /** fn(values, at, count) for each band's merged values, at = the index of its first pixel. */
  const eachBand = (fn: (values: Float64Array, at: number, count: number) => void): void => {
    if (oneBand || merged !== null) {
      fn(full(), 0, n);
      return;
    }
    const values = new Float64Array(step * src.width);
    for (const [y0, y1] of bandsOf(src, 0, src.height, step)) {
      const count = (y1 - y0) * src.width;
      mergedInto(luts, codes(y0, y1), values, count);
      fn(values, y0 * src.width, count);
    }
  };
  const full = (): Float64Array => {
    if (merged === null) {
      const m = new Float64Array(n);
      if (oneBand) mergedInto(luts, codes(0, src.height), m, n);
      else eachBand((v, at, count) => m.set(v.subarray(0, count), at));
      merged = m;
    }
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
          for (const [y0, y1] of bandsOf(src, 0, src.height)) {
            const data = codes(y0, y1);
            const count = (y1 - y0) * src.width;
            for (let i = 0; i < count && d < limit; i++) {
              const q = Math.round(mergedAt(luts, data, i) * 255);
              if (seen[q] === 0) {
                seen[q] = 1;
                d++;
              }
            }
            if (d >= limit) break;
          }
        }
        distinct.set(limit, d);
      }
      return d;
    },
    mergedZeros() {
      if (zeros < 0) {
        let z = 0;
        eachBand((m, _at, count) => {
          for (let i = 0; i < count; i++) if (m[i] === 0) z++;
        });
        zeros = z;
      }
      return zeros;
    },
    merged: full,
    output() {
      if (output === null) {
        if (oneBand || merged !== null) output = quantize(full(), 8);
        else {
          const out = new Uint8Array(n);
          eachBand((m, at, count) => {
            for (let i = 0; i < count; i++) out[at + i] = roundHalfUp(m[i] * 255);
          });
          output = out;
        }
      }
      return output;
    },
  };
  // A merged pixel is 0 only where every channel's table gives 0, so the fewest zero-mapped
  // pixels of any channel bounds the count.
  let zerosBound = n;
  for (const z of zeroMapped) zerosBound = Math.min(zerosBound, z);
  const fast: FastBounds = { pixels: n, mergedZerosAtMost: zerosBound };
  return { facts, fast };
}

/**
 * A set's channel files, decoded: in memory (each file's outcome; failures are kept, not thrown),
 * or, for a huge set, spilled to disk to be read a band of rows at a time (spill-rows.ts).
 */
export type DecodedFiles = { settled: PromiseSettledResult<DecodedImage>[] } | { spilled: SpilledSet };
export type DecodedSet = Promise<DecodedFiles>;

/** When and how a set is read in bands (the strip path); defaults from IMAGING. */
export interface StripOptions {
  /** Sets of at least this many pixels (all local files together) take the strip path (IMAGING.stripPixels). */
  stripPixels?: number;
  /** Bytes of decoded samples per file in one band (IMAGING.stripBytes). */
  stripBytes?: number;
  /** The set's pixels, when the caller has read them from the headers already (decode-footprint.ts). */
  pixels?: number;
}

/** Start decoding a set's files (libvips works off the main thread): into memory, or into spill files for a huge set. */
export function decodeSet(files: readonly string[], opts: StripOptions = {}): DecodedSet {
  const inMemory = (): DecodedSet =>
    Promise.allSettled(files.map((f) => decodeImage(f))).then((settled) => ({ settled }));
  const threshold = opts.stripPixels ?? IMAGING.stripPixels;
  if (files.length === 0 || !(threshold < Number.POSITIVE_INFINITY)) return inMemory();
  // From the headers only; 0 for what is not a local PNG, TIFF or JPEG. (A file the spill cannot
  // stream sends the set to memory in any case: spillSet returns null.)
  const each = opts.pixels === undefined ? files.map((f) => filePixels(f)) : [opts.pixels];
  if (each.some((p) => p === 0) || each.reduce((a, b) => a + b, 0) < threshold) return inMemory();
  return spillSet(files, { stripBytes: opts.stripBytes ?? IMAGING.stripBytes }).then((spilled) =>
    spilled !== null ? { spilled } : inMemory(),
  );
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
  const set = await (decoded ?? decodeSet(files, opts));
  try {
    return await executeSet(files, opts, set);
  } finally {
    if ('spilled' in set) set.spilled.close();
  }
}

/** Integer gray images of one size, or null when the set is not one the fused path takes. */
function integerGrays(set: { settled: PromiseSettledResult<DecodedImage>[] }): GrayImage[] | null {
  if (set.settled.some((s) => s.status === 'rejected')) return null;
  const images = set.settled.map((s) => (s as PromiseFulfilledResult<DecodedImage>).value);
  const { width, height } = images[0];
  if (images.some((im) => im.width !== width || im.height !== height || im.sampleFormat !== 'uint')) return null;
  const grays = images.map((im) => toGray(im));
  return grays.every((g) => g.integer) ? grays : null;
}

async function executeSet(files: readonly string[], opts: ImageSetOptions, set: DecodedFiles): Promise<ImageSetResult> {
  const grays = 'settled' in set ? integerGrays(set) : null;
  const src = 'spilled' in set ? set.spilled : grays !== null ? memoryRows(grays) : null;
  const r = src !== null ? fusedImageSet(files, opts, src, 'spilled' in set ? 'strips' : 'fast') : null;
  if (r === null) {
    // anything the fused path does not take (float samples, unreadable or mismatched files)
    const ref = await referenceImageSet(files, opts);
    if (!opts.keepChannels || ref.qc.verdict !== 'ok' || !('settled' in set)) return ref;
    const all = set.settled.map((s) => toGray((s as PromiseFulfilledResult<DecodedImage>).value));
    return { ...ref, channels: channelPlanes(all, ref.whole !== null ? [null] : ref.crops.map((c) => c.window)) };
  }
  if (!opts.keepChannels || r.qc.verdict !== 'ok' || src === null) return r;
  // The channels come after the merged image is decided, from the same rows, so the merged
  // output cannot depend on keepChannels.
  const windows = r.whole !== null ? [null] : r.crops.map((c) => c.window);
  return {
    ...r,
    channels: windows.map((win) => src.channels.map((_, c) => channelPlane(windowGray(src, c, win), null))),
  };
}

/** The merged image's part of the executor over rows from src; null when a channel's codes do not suit tables. */
function fusedImageSet(
  files: readonly string[],
  opts: ImageSetOptions,
  src: RowSource,
  path: 'fast' | 'strips',
): ImageSetResult | null {
  const { width, height } = src;
  const ch: Channel[] = [];
  for (let c = 0; c < src.channels.length; c++) {
    const one = channelOf(src, c);
    if (one === null) return null;
    ch.push(one);
  }
  const rules = opts.rules ?? QC_RULES;
  const luts = ch.map((c) => c.lut);
  const bounds = ch.map((c, i) => ({ name: files[i], lo: c.lo, hi: c.hi, uniform: c.uniform }));
  const whole = fusedFacts(
    src,
    luts,
    ch.map((c) => c.zeroMapped),
    bounds,
  );
  const qc = runWholeImageRules(rules.whole, whole.facts, whole.fast);
  const base = { width, height, qc, path };
  if (qc.verdict !== 'ok') return { ...base, whole: null, crops: [], cropsPlanned: 0, cropsRejected: 0 };
  const planned = planCrops(width, height, cropCount(opts.labelSize, opts.cap), opts.rng);
  const crops: SetCrop[] = [];
  let rejected = 0;
  for (const window of planned) {
    const r = cropWindow(src, luts, window, rules.crop);
    if (!r.keep) {
      rejected++;
      continue;
    }
    crops.push({ window, width: window.x_max - window.x_min, height: window.y_max - window.y_min, output: r.output });
  }
  const kept = crops.length === 0 ? (whole.facts.output() as Uint8Array) : null;
  return { ...base, whole: kept, crops, cropsPlanned: planned.length, cropsRejected: rejected };
}
