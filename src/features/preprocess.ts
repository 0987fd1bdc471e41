// Pixels for feature extraction, by the imaging library's rules: decode at full bit depth, gray =
// unweighted mean of R, G, B, 0.1/99.9 percentile normalisation. Then the spec's four methods
// and an optional resize; the model sees gray copied into 3 channels on a 0–255 scale.
import { readFileSync } from 'node:fs';
import {
  decodeImage,
  decodePlainPng,
  toGray,
  normalizationBounds,
  type DecodedImage,
  type GrayImage,
} from '../imaging/index.js';
import { ImageError } from '../imaging/index.js';

export const METHODS = ['concat-norm', 'concat-raw', 'merge-norm', 'merge-raw'] as const;
export type Method = (typeof METHODS)[number];

/** One gray plane on the 0–255 scale the networks were trained on. */
export interface Plane {
  width: number;
  height: number;
  data: Float32Array;
}

export function isConcat(method: Method): boolean {
  return method.startsWith('concat');
}
export function isNormalised(method: Method): boolean {
  return method.endsWith('-norm');
}

/**
 * Raw intensities brought to 0–255 by the type's range: 8-bit as stored, 16-bit × 255/65535.
 * (The original fed raw 16-bit values to a network trained on 0–255.) Float images are
 * passed as stored.
 */
export function rawPlane(gray: GrayImage): Plane {
  const n = gray.data.length;
  const out = new Float32Array(n);
  const top = gray.integer && Number.isFinite(gray.maxCode) ? gray.maxCode / gray.divisor : NaN;
  const k = Number.isFinite(top) ? 255 / top / gray.divisor : 1 / gray.divisor;
  const d = gray.data;
  for (let i = 0; i < n; i++) out[i] = d[i] * k;
  return { width: gray.width, height: gray.height, data: out };
}

/**
 * normalize(img) · 255, as the original's ImageGenerator did with norm=True: the imaging library's
 * bounds and its formula clip((v − lo)/(hi − lo), 0, 1), written straight to float32 (one pass,
 * no lookup table: feature extraction sees each image once).
 */
export function normalisedPlane(gray: GrayImage): Plane {
  const { lo, hi, uniform } = normalizationBounds(gray);
  const n = gray.data.length;
  const out = new Float32Array(n);
  if (!uniform) {
    const d = gray.data;
    const div = gray.divisor;
    const range = hi - lo;
    for (let i = 0; i < n; i++) {
      const v = (div === 1 ? d[i] : d[i] / div) - lo;
      out[i] = v > 0 ? (v < range ? (v / range) * 255 : 255) : 0;
    }
  }
  return { width: gray.width, height: gray.height, data: out };
}

/**
 * Decode one channel file: plain PNGs directly (imaging/png-fast.ts: the same pixels for a third of the
 * CPU), everything else — and any PNG that decoder does not take — by the imaging library, which
 * also gives every error its message.
 */
export async function decodeChannel(path: string): Promise<DecodedImage> {
  if (path.slice(-4).toLowerCase() === '.png') {
    let bytes: Buffer | undefined;
    try {
      bytes = readFileSync(path);
    } catch {
      // the imaging library words the error
    }
    const img = bytes && decodePlainPng(bytes);
    if (img) return img;
  }
  return decodeImage(path);
}

/** One channel file → a plane (raw or normalised). */
export async function loadPlane(path: string, normalised: boolean): Promise<Plane> {
  const gray = toGray(await decodeChannel(path));
  return normalised ? normalisedPlane(gray) : rawPlane(gray);
}

/** The arithmetic mean of planes of one size (the merge methods). */
export function meanPlane(planes: readonly Plane[], names: readonly string[] = []): Plane {
  const { width, height } = planes[0];
  planes.forEach((p, i) => {
    if (p.width !== width || p.height !== height) {
      throw new ImageError(
        names[i] ?? `channel ${i}`,
        'mismatch',
        `is ${p.width}×${p.height} but the first channel is ${width}×${height}`,
      );
    }
  });
  const n = width * height;
  const acc = new Float64Array(n);
  for (const p of planes) for (let i = 0; i < n; i++) acc[i] += p.data[i];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = acc[i] / planes.length;
  return { width, height, data: out };
}

/** Pillow-style resampling weights for one axis (triangle filter, support widened when shrinking). */
function axisWeights(
  inSize: number,
  outSize: number,
): { start: Int32Array; count: Int32Array; w: Float64Array; max: number } {
  const scale = inSize / outSize;
  const fscale = Math.max(scale, 1);
  const support = fscale; // bilinear support 1.0 × scale
  const max = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const w = new Float64Array(outSize * max);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    let lo = Math.floor(center - support + 0.5);
    if (lo < 0) lo = 0;
    let hi = Math.floor(center + support + 0.5);
    if (hi > inSize) hi = inSize;
    let total = 0;
    for (let j = lo; j < hi; j++) {
      const t = Math.abs((j - center + 0.5) / fscale);
      const v = t < 1 ? 1 - t : 0;
      w[o * max + j - lo] = v;
      total += v;
    }
    if (total > 0) for (let j = 0; j < hi - lo; j++) w[o * max + j] /= total;
    start[o] = lo;
    count[o] = hi - lo;
  }
  return { start, count, w, max };
}

/**
 * Bilinear resize with Pillow's BILINEAR semantics (pixel centres at +0.5; when shrinking the
 * triangle widens by the scale factor, i.e. antialiased), in float — what Keras's
 * flow_from_dataframe(interpolation="bilinear") did through PIL in the original.
 */
export function resizeBilinear(src: Plane, width: number, height: number): Plane {
  if (src.width === width && src.height === height) return src;
  const xs = axisWeights(src.width, width);
  const ys = axisWeights(src.height, height);
  // horizontal pass: src.height × width
  const tmp = new Float64Array(src.height * width);
  for (let y = 0; y < src.height; y++) {
    const row = y * src.width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      const b = x * xs.max;
      const st = xs.start[x];
      for (let j = 0; j < xs.count[x]; j++) s += src.data[row + st + j] * xs.w[b + j];
      tmp[y * width + x] = s;
    }
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const b = y * ys.max;
    const st = ys.start[y];
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let j = 0; j < ys.count[y]; j++) s += tmp[(st + j) * width + x] * ys.w[b + j];
      out[y * width + x] = s;
    }
  }
  return { width, height, data: out };
}

/**
 * The model inputs of one image set: n planes (concat) or their mean (merge), each resized when
 * `size` is given. Files are the set's channel files in order.
 */
export async function planesForSet(
  files: readonly string[],
  method: Method,
  size?: { width: number; height: number },
): Promise<Plane[]> {
  const norm = isNormalised(method);
  const planes = await Promise.all(files.map((f) => loadPlane(f, norm)));
  const { width, height } = planes[0];
  planes.forEach((p, i) => {
    if (p.width !== width || p.height !== height) {
      throw new ImageError(
        files[i],
        'mismatch',
        `is ${p.width}×${p.height} but ${files[0]} is ${width}×${height}; the channels of one image set must have one size`,
      );
    }
  });
  const chosen = isConcat(method) || planes.length === 1 ? planes : [meanPlane(planes, files)];
  return size ? chosen.map((p) => resizeBilinear(p, size.width, size.height)) : chosen;
}

/**
 * Pack planes of one size into a model input: gray repeated into `channels`, NCHW or NHWC. `out`,
 * when given and large enough, is reused (its first batch·channels·pixels values are the result):
 * a fresh 10 MB tensor per call cost page faults and GC time in the extraction loop.
 */
export function packBatch(
  planes: readonly Plane[],
  channels: 1 | 3,
  layout: 'NCHW' | 'NHWC',
  batch = planes.length,
  out?: Float32Array,
): { data: Float32Array; dims: number[] } {
  const { width, height } = planes[0];
  const n = width * height;
  const len = batch * channels * n;
  const reused = out !== undefined && out.length >= len;
  const data = reused ? (out.length === len ? out : out.subarray(0, len)) : new Float32Array(len);
  for (let b = 0; b < planes.length; b++) {
    const d = planes[b].data;
    const base = b * channels * n;
    if (layout === 'NCHW' || channels === 1) {
      for (let c = 0; c < channels; c++) data.set(d, base + c * n);
    } else {
      for (let i = 0, j = base; i < n; i++, j += 3) {
        const v = d[i];
        data[j] = v;
        data[j + 1] = v;
        data[j + 2] = v;
      }
    }
  }
  // padding images of a fixed-batch model: zero, whatever a reused buffer held
  if (reused) data.fill(0, planes.length * channels * n, len);
  const dims = layout === 'NCHW' ? [batch, channels, height, width] : [batch, height, width, channels];
  return { data, dims };
}
