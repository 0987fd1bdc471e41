// The per-image pipeline the build stage runs in its workers: decode each channel file →
// gray → percentile-normalise → merge → QC → (crop) → quantise. I/O only in decoding; encoding
// and writing stay with the caller.
import { IMAGING } from '../defaults.js';
import type { Rng } from '../util/rng.js';
import { decodeImage } from './decode.js';
import { expandEntries, mayExpand } from './decode-entry.js';
import { ImageError } from './image-error.js';
import { toGray } from './gray.js';
import { normalizationBounds, normalizeValues } from './normalize.js';
import { mergeNormalizedChannels, fusedOutput8, computeMerged } from './merge-kernel.js';
import { quantize, type OutputBitDepth } from './encode.js';
import { cropQc, factsOf, QC_RULES, runWholeImageRules, type ChannelBounds, type QcRules } from './qc.js';
import { cropCount, planCrops, extractCrop } from './crops.js';
import type { CropWindow, DecodedImage, GrayImage, NormalizedImage, QcVerdict } from './types.js';

export interface StandardizeOptions {
  /** 0-based page for multi-page files (default 0). */
  page?: number;
  /** Pixel-count limit per file. */
  maxPixels?: number;
  /** Output depth of `output` (default 8). */
  bitDepth?: OutputBitDepth;
  /** QC rules (default QC_RULES); only `whole` is used here. */
  rules?: QcRules;
}

export interface ChannelInfo {
  file: string;
  width: number;
  height: number;
  channels: number;
  bitDepth: 8 | 16 | 32;
  sampleFormat: 'uint' | 'float';
  format: DecodedImage['format'];
  decoder: string;
  pages: number;
  /** Normalisation bounds on the gray scale. */
  lo: number;
  hi: number;
  uniform: boolean;
}

export interface StandardizedSet {
  /** 0 when unreadable. */
  width: number;
  height: number;
  /** Mean of the normalised channels, in [0, 1]; null when unreadable. */
  merged: Float64Array | null;
  /** merged quantised to the output depth (what the PNG holds); null when unreadable. */
  output: Uint8Array | Uint16Array | null;
  channels: ChannelInfo[];
  /** ok, or why the image set should not be released. */
  qc: QcVerdict;
}

/** Merge the channel files of one image set into one normalised gray image, with its QC verdict. */
export async function standardizeImageSet(
  files: readonly string[],
  opts: StandardizeOptions = {},
): Promise<StandardizedSet> {
  if (files.length === 0) throw new RangeError('standardizeImageSet: no files');
  const list = await channelFiles(files);
  return assembleSet(list, await decodeChannels(list, opts), opts.bitDepth ?? 8, opts.rules);
}

/** The channel entries of an image set: an OME-Zarr image or OME-TIFF entry stands for all its channels. */
export async function channelFiles(files: readonly string[]): Promise<readonly string[]> {
  if (!mayExpand(files)) return files;
  const out = await expandEntries(files);
  return out.length === files.length && out.every((f, i) => f === files[i]) ? files : out;
}

type DecodedChannel = { img: DecodedImage; gray: GrayImage; bounds: ReturnType<typeof normalizationBounds> };

/** Decoded channels with their bounds; failures kept as rejections (standardizeImageSet's first half). */
export function decodeChannels(
  files: readonly string[],
  opts: StandardizeOptions = {},
): Promise<PromiseSettledResult<DecodedChannel>[]> {
  const decodeOpts = { page: opts.page ?? 0, maxPixels: opts.maxPixels ?? IMAGING.maxPixels };
  // Decode all channels concurrently (libvips works off the main thread), and take each channel's
  // histogram as soon as it arrives, while libvips is still decoding the others.
  return Promise.allSettled(
    files.map(async (f) => {
      const img = await decodeImage(f, decodeOpts);
      const gray = toGray(img);
      return { img, gray, bounds: normalizationBounds(gray) };
    }),
  );
}

/** The second half: merge, output and QC from decoded channels (synchronous). */
export function assembleSet(
  files: readonly string[],
  settled: PromiseSettledResult<DecodedChannel>[],
  bitDepth: OutputBitDepth,
  rules: QcRules = QC_RULES,
): StandardizedSet {
  const failed = settled.findIndex((s) => s.status === 'rejected');
  if (failed >= 0) {
    const err = (settled[failed] as PromiseRejectedResult).reason as unknown;
    if (!(err instanceof ImageError)) throw err;
    return unreadable(files[failed], `${err.kind}: ${err.reason}`);
  }
  const decoded = settled.map((s) => (s as PromiseFulfilledResult<DecodedChannel>).value);
  const images = decoded.map((d) => d.img);
  const { width, height } = images[0];
  for (let i = 1; i < images.length; i++) {
    if (images[i].width !== width || images[i].height !== height) {
      return unreadable(
        files[i],
        `size mismatch: is ${images[i].width}×${images[i].height} but ${files[0]} is ${width}×${height}; channels of one image must match`,
      );
    }
  }
  const grays = decoded.map((d) => d.gray);
  const bounds = decoded.map((d) => d.bounds);
  const channels: ChannelInfo[] = images.map((img, i) => ({
    file: files[i],
    width,
    height,
    channels: img.channels,
    bitDepth: img.bitDepth,
    sampleFormat: img.sampleFormat,
    format: img.format,
    decoder: img.decoder,
    pages: img.pages,
    lo: bounds[i].lo,
    hi: bounds[i].hi,
    uniform: bounds[i].uniform,
  }));
  const channelBounds: ChannelBounds[] = channels.map((c) => ({
    name: c.file,
    lo: c.lo,
    hi: c.hi,
    uniform: c.uniform,
  }));
  // Fast path: output and QC from one fused pass; the float merge is built only if asked for
  // (crops need it), with the same arithmetic.
  const fused = bitDepth === 8 ? fusedOutput8(grays, bounds) : null;
  if (fused) {
    let cache: Float64Array | null = null;
    const merged = (): Float64Array => {
      cache ??= computeMerged(grays, bounds);
      return cache;
    };
    const qc = runWholeImageRules(rules.whole, factsOf(merged, channelBounds, fused.output, fused.zeros));
    return {
      width,
      height,
      get merged(): Float64Array {
        return merged();
      },
      output: fused.output,
      channels,
      qc,
    };
  }
  const { merged, output, zeros } = mergeNormalizedChannels(grays, bounds, bitDepth);
  const qc = runWholeImageRules(
    rules.whole,
    factsOf(() => merged, channelBounds, output, zeros),
  );
  return { width, height, merged, output, channels, qc };
}

function unreadable(file: string, reason: string): StandardizedSet {
  return { width: 0, height: 0, merged: null, output: null, channels: [], qc: { verdict: 'unreadable', reason, file } };
}

export interface CropOptions {
  /** Images in the label after assignment (decides 1–4 crops). */
  labelSize: number;
  /** The label cap (default 1000). */
  cap?: number;
  /** A stream derived for this image, e.g. Rng.derive(seed, idx). */
  rng: Rng;
  /** Output depth of each crop's `output` (default 8). */
  bitDepth?: OutputBitDepth;
  /** QC rules (default QC_RULES); only `crop` is used here. */
  rules?: QcRules;
}

export interface KeptCrop {
  window: CropWindow;
  width: number;
  height: number;
  /** The crop normalised again (its own 0.1/99.9 percentiles). */
  normalized: NormalizedImage;
  output: Uint8Array | Uint16Array;
}

export interface CropResult {
  /** Windows planned (empty for images under 140 px on a side). */
  planned: CropWindow[];
  kept: KeptCrop[];
  rejected: Array<{ window: CropWindow; reason: string }>;
  /** True when the original image should be released instead (too small, or no crop survived). */
  keptOriginal: boolean;
}

/** Crops of one merged image: plan, QC, re-normalise. A pure function of (image, label size, rng). */
export function cropsForImage(
  merged: Float64Array | Float32Array,
  width: number,
  height: number,
  opts: CropOptions,
): CropResult {
  const k = cropCount(opts.labelSize, opts.cap ?? 1000);
  const planned = planCrops(width, height, k, opts.rng);
  const kept: KeptCrop[] = [];
  const rejected: CropResult['rejected'] = [];
  for (const window of planned) {
    const values = extractCrop(merged, width, window);
    const verdict = cropQc(values, (opts.rules ?? QC_RULES).crop);
    if (!verdict.keep) {
      rejected.push({ window, reason: verdict.reason });
      continue;
    }
    const cw = window.x_max - window.x_min;
    const ch = window.y_max - window.y_min;
    const normalized = normalizeValues(values, cw, ch);
    if (normalized.uniform) {
      rejected.push({ window, reason: 'uniform crop (0.1th = 99.9th percentile)' });
      continue;
    }
    kept.push({ window, width: cw, height: ch, normalized, output: quantize(normalized.data, opts.bitDepth ?? 8) });
  }
  return { planned, kept, rejected, keptOriginal: kept.length === 0 };
}
