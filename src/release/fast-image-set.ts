// The build's hot path: standardise one image set and cut its crops, computing full-resolution
// values only where they are needed. standardizeImageSet + cropsForImage (the imaging library's
// definition of the pixels) materialise the merged image, quantise it and scan it several times;
// for a croppable image almost all of that is thrown away, since only the crop windows are
// written. Here, for integer images (8/16-bit gray or colour), the same arithmetic runs through
// one lookup table per channel, and only for the pixels that are used:
//   - lo/hi from the same histogram percentiles;
//   - whole-image QC: the verdict is decided from the histograms and an early-exit scan when that
//     is certain, otherwise by the library's wholeImageQc on the full image;
//   - crops: merged values of each window only, then crop QC, re-normalisation and quantisation
//     in src/release/crop-kernel.ts (the library's arithmetic, fewer passes).
// The result is bit-identical to the library's path (test/build/fast-image-set.test.ts checks it on
// real and synthetic images); anything else (float TIFFs, unreadable or mismatched files) goes
// through the library's path unchanged.
import {
  cropCount,
  cropsForImage,
  decodeImage,
  withIntegerHistogram,
  normalizationLut,
  percentileIsZero,
  percentilesFromHistogram,
  planCrops,
  quantize,
  standardizeImageSet,
  toGray,
  wholeImageQc,
  type CropWindow,
  type DecodedImage,
  type GrayImage,
  type QcVerdict,
} from '../imaging/index.js';
import { IMAGING } from '../defaults.js';
import type { Rng } from '../util/rng.js';
import { cropWindow } from './crop-kernel.js';

export interface SetCrop {
  window: CropWindow;
  width: number;
  height: number;
  output: Uint8Array;
}

export interface SetResult {
  width: number;
  height: number;
  qc: QcVerdict;
  /** The whole image (8-bit) when it is released uncropped; null otherwise. */
  whole: Uint8Array | null;
  crops: SetCrop[];
  cropsPlanned: number;
  cropsRejected: number;
  /** Which path ran ('fast' or 'library'), for tests and profiling. */
  path: 'fast' | 'library';
}

export interface SetOptions {
  labelSize: number;
  cap: number;
  rng: Rng;
}

/** The library's path, used as is (the definition the fast path must match). */
export async function libraryPath(files: readonly string[], opts: SetOptions): Promise<SetResult> {
  const set = await standardizeImageSet(files);
  const base = { width: set.width, height: set.height, qc: set.qc, path: 'library' as const };
  if (set.qc.verdict !== 'ok' || set.merged === null || set.output === null) {
    return { ...base, whole: null, crops: [], cropsPlanned: 0, cropsRejected: 0 };
  }
  const c = cropsForImage(set.merged, set.width, set.height, {
    labelSize: opts.labelSize,
    cap: opts.cap,
    rng: opts.rng,
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

/** Whole-image QC: decided cheaply when certain, else by the library on the full image. */
function wholeQc(
  ch: readonly Channel[],
  n: number,
  files: readonly string[],
): { qc: QcVerdict; merged: Float64Array | null } {
  const bounds = ch.map((c, i) => ({ name: files[i], lo: c.lo, hi: c.hi, uniform: c.uniform }));
  const full = (): { qc: QcVerdict; merged: Float64Array } => {
    const merged = mergedFull(ch, n);
    return { qc: wholeImageQc(merged, bounds, quantize(merged, 8)), merged };
  };
  if (ch.some((c) => c.uniform)) return full();
  // At least 3 distinct 8-bit output values rules out 'uniform' and 'binary'.
  const seen = new Uint8Array(256);
  let distinct = 0;
  for (let i = 0; i < n && distinct < 3; i++) {
    const q = Math.round(mergedAt(ch, i) * 255);
    if (seen[q] === 0) {
      seen[q] = 1;
      distinct++;
    }
  }
  if (distinct < 3) return full();
  // 'dim' needs more than 75 % zeros in the merged image; a merged pixel is 0 only where every
  // channel's table gives 0, so the fewest zero-mapped pixels of any channel bounds the count.
  let zerosBound = n;
  for (const c of ch) zerosBound = Math.min(zerosBound, c.zeroMapped);
  const k = Math.floor(0.75 * (n - 1));
  if (zerosBound <= k) return { qc: { verdict: 'ok', reason: '' }, merged: null };
  const merged = mergedFull(ch, n);
  return { qc: percentileIsZero(merged, 75) ? full().qc : { verdict: 'ok', reason: '' }, merged };
}

/** Every channel file decoded (libvips works off the main thread); failures are kept, not thrown. */
export type DecodedSet = Promise<PromiseSettledResult<DecodedImage>[]>;

export function decodeSet(files: readonly string[]): DecodedSet {
  return Promise.allSettled(files.map((f) => decodeImage(f)));
}

/** `decoded`, when given, is decodeSet(files) started earlier (a worker decodes its next job ahead). */
export async function standardizeAndCrop(
  files: readonly string[],
  opts: SetOptions,
  decoded?: DecodedSet,
): Promise<SetResult> {
  const settled = await (decoded ?? decodeSet(files));
  if (settled.some((s) => s.status === 'rejected')) return libraryPath(files, opts);
  const images = settled.map((s) => (s as PromiseFulfilledResult<DecodedImage>).value);
  const { width, height } = images[0];
  if (images.some((im) => im.width !== width || im.height !== height)) return libraryPath(files, opts);
  const ch: Channel[] = [];
  for (const im of images) {
    const c = channelOf(im, ch.length);
    if (c === null) return libraryPath(files, opts);
    ch.push(c);
  }
  const n = width * height;
  const { qc, merged } = wholeQc(ch, n, files);
  const base = { width, height, qc, path: 'fast' as const };
  if (qc.verdict !== 'ok') return { ...base, whole: null, crops: [], cropsPlanned: 0, cropsRejected: 0 };
  const planned = planCrops(width, height, cropCount(opts.labelSize, opts.cap), opts.rng);
  const crops: SetCrop[] = [];
  let rejected = 0;
  const lutChannels = ch.map((c) => ({ data: c.gray.data, lut: c.lut }));
  for (const window of planned) {
    const r = cropWindow(lutChannels, width, window);
    if (!r.keep) {
      rejected++;
      continue;
    }
    crops.push({ window, width: window.x_max - window.x_min, height: window.y_max - window.y_min, output: r.output });
  }
  const whole = crops.length === 0 ? quantize(merged ?? mergedFull(ch, n), 8) : null;
  return { ...base, whole, crops, cropsPlanned: planned.length, cropsRejected: rejected };
}
