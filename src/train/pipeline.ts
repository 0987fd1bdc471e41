// The input pipeline, as the spec's flow_from_dataframe + ImageDataGenerator: decode, resize to
// size×size (bilinear, aspect ratio not kept), rotate (training only), and pack gray as 3 identical
// channels into one NHWC float32 batch (0–255). Batches are loaded ahead while the engine computes.
import sharp, { type OutputInfo } from 'sharp';
import { IMAGING } from '../defaults.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { rotateReflect } from './rotate.js';
import type { TrainItem } from './release.js';

export interface Batch {
  x: Float32Array;
  labels: Int32Array;
  n: number;
  size: number;
}

/** Decode one image to a size×size gray plane (0–255 floats), resized bilinearly. */
export async function loadPlane(file: string, size: number): Promise<Float32Array> {
  let data: Buffer;
  let info: OutputInfo;
  try {
    ({ data, info } = await sharp(file, { limitInputPixels: IMAGING.maxPixels })
      .resize(size, size, { fit: 'fill', kernel: 'linear' })
      .raw()
      .toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw new UserError(`cannot read image: ${(e as Error).message}`, { file });
  }
  const px = size * size;
  const ch = info.channels;
  const wide = data.length === px * ch * 2;
  const src = wide ? new Uint16Array(data.buffer, data.byteOffset, px * ch) : data;
  const scale = wide ? 1 / 257 : 1;
  const out = new Float32Array(px);
  // Gray is the unweighted mean of R, G, B (alpha ignored), as in the imaging stage.
  const colours = ch >= 3 ? 3 : 1;
  for (let p = 0; p < px; p++) {
    let s = 0;
    for (let c = 0; c < colours; c++) s += src[p * ch + c];
    out[p] = (s / colours) * scale;
  }
  return out;
}

/** Angle for one training image in one epoch: a pure function of (seed, epoch, image). */
export function rotationAngle(seed: number, epoch: number, key: string): number {
  return Rng.derive(seed, 'rotate', epoch, key).float() * 360;
}

export interface BatchOptions {
  size: number;
  /** Rotate with these angles (training); undefined = no augmentation (validation). */
  angles?: readonly number[];
  /** Images decoded at once. */
  concurrency?: number;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Decode one image, rotate it (when `angle` is given) and write it as 3 identical channels at batch
 * position `slot` of the NHWC tensor `x`. The one per-image path of the loader, in this thread
 * (loadBatch) or in a loader thread (loader-pool.ts), so both give the same bytes.
 */
export async function packImage(
  x: Float32Array,
  slot: number,
  file: string,
  size: number,
  angle?: number,
): Promise<void> {
  const px = size * size;
  let plane = await loadPlane(file, size);
  if (angle !== undefined) plane = rotateReflect(plane, size, size, angle);
  const base = slot * px * 3;
  for (let p = 0; p < px; p++) {
    const v = plane[p];
    x[base + 3 * p] = v;
    x[base + 3 * p + 1] = v;
    x[base + 3 * p + 2] = v;
  }
}

/** Decode, augment and pack one batch on this thread (libvips decodes on its own threads). */
export async function loadBatch(items: readonly TrainItem[], options: BatchOptions): Promise<Batch> {
  const { size } = options;
  const x = new Float32Array(items.length * size * size * 3);
  const labels = Int32Array.from(items, (it) => it.classIndex);
  await mapLimit(items, options.concurrency ?? 4, (item, i) => packImage(x, i, item.file, size, options.angles?.[i]));
  return { x, labels, n: items.length, size };
}

/**
 * Runs `load(i)` for i = 0..count−1 at most `depth` batches ahead of the consumer, so decoding the
 * next batch overlaps the engine's step on this one.
 */
export async function* prefetch<B>(count: number, depth: number, load: (i: number) => Promise<B>): AsyncGenerator<B> {
  const pending: Promise<B>[] = [];
  let started = 0;
  const fill = (): void => {
    while (started < count && pending.length < depth + 1) {
      const p = load(started++);
      p.catch(() => undefined); // surfaced when awaited below, not as an unhandled rejection
      pending.push(p);
    }
  };
  fill();
  while (pending.length > 0) {
    const b = await pending.shift()!;
    fill();
    yield b;
  }
}
