// One chunk of image sets → model-ready input tensors: decode the sets concurrently, group runs of
// one spatial size, split a group into calls of bounded size and pack each call's tensor. The same
// function runs in the preprocessing worker and, with `worker: false`, on the main thread, so both
// paths feed onnxruntime identical tensors in an identical order.
import { ImageError, type ImageErrorKind } from '../imaging/index.js';
import { UserError, type ErrorLocation } from '../util/errors.js';
import { packBatch, planesForSet, type Method, type Plane } from './preprocess.js';

/**
 * Pixels per onnxruntime call: 16 images of 256×256. EfficientNetB0's largest activation is 96
 * channels at half resolution, so a call stays around 100 MB of activations at any image size.
 */
export const MAX_BATCH_PIXELS = 16 * 256 * 256;

/** What preparing a chunk needs to know about the method and the model's input. */
export interface PrepConfig {
  method: Method;
  size?: { width: number; height: number };
  /** Images per onnxruntime call. */
  batchSize: number;
  channels: 1 | 3;
  layout: 'NCHW' | 'NHWC';
  /** The model's fixed batch dimension, if any (calls are padded to it). */
  maxBatch?: number;
}

/** One onnxruntime call's input: `count` real images, padded to dims[0] when the batch is fixed. */
export interface PackedCall {
  data: Float32Array;
  dims: number[];
  count: number;
}

/**
 * In chunk order: a group (sets of one size, run as one or more calls whose outputs are assigned to
 * the sets in order, `images` outputs each) or a set that could not be read.
 */
export type PreparedItem =
  | { kind: 'group'; calls: PackedCall[]; sets: { index: number; images: number }[] }
  | { kind: 'error'; index: number; error: unknown };

/**
 * Float32 buffers for the packed tensors, handed back after their call so the next chunk reuses
 * them: a fresh 10 MB tensor per call costs page faults and collector time. At most `keep` are held.
 * `shared` allocates SharedArrayBuffers, which pass between threads without being transferred:
 * transferring detaches an ArrayBuffer, and the first detach in a thread makes V8 check every
 * typed-array access in that thread from then on (the percentile and normalisation loops slow).
 */
export class TensorBuffers {
  private readonly free: ArrayBufferLike[] = [];
  constructor(
    private readonly shared = false,
    private readonly keep = 4,
  ) {}

  take(length: number): Float32Array {
    const bytes = length * 4;
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.byteLength >= bytes && (best < 0 || b.byteLength < this.free[best].byteLength)) best = i;
    }
    if (best < 0) return this.shared ? new Float32Array(new SharedArrayBuffer(bytes)) : new Float32Array(length);
    const [buf] = this.free.splice(best, 1);
    return new Float32Array(buf, 0, length);
  }

  give(buffer: ArrayBufferLike): void {
    this.free.push(buffer);
    if (this.free.length > this.keep) {
      // drop the smallest: the large ones are the expensive ones to fault in again
      let small = 0;
      for (let i = 1; i < this.free.length; i++) if (this.free[i].byteLength < this.free[small].byteLength) small = i;
      this.free.splice(small, 1);
    }
  }
}

function imagesPerCall(cfg: PrepConfig, plane: Plane): number {
  if (cfg.maxBatch !== undefined) return cfg.batchSize;
  // Native-size microscopy images can be megapixels: fewer per call keeps activations bounded.
  return Math.max(1, Math.min(cfg.batchSize, Math.floor(MAX_BATCH_PIXELS / (plane.width * plane.height))));
}

/** Decode, preprocess and pack one chunk (each element: one set's channel files, in order). */
export async function prepareChunk(
  sets: readonly (readonly string[])[],
  cfg: PrepConfig,
  buffers: TensorBuffers,
): Promise<PreparedItem[]> {
  const ready = await Promise.all(
    sets.map((files) =>
      planesForSet(files, cfg.method, cfg.size).then(
        (planes) => ({ planes, error: undefined as unknown }),
        (error: unknown) => ({ planes: undefined, error }),
      ),
    ),
  );
  const items: PreparedItem[] = [];
  let group: { index: number; planes: Plane[] }[] = [];
  const flush = (): void => {
    if (!group.length) return;
    const planes = group.flatMap((g) => g.planes);
    const step = imagesPerCall(cfg, planes[0]);
    const calls: PackedCall[] = [];
    for (let i = 0; i < planes.length; i += step) {
      const part = planes.slice(i, i + step);
      const batch = cfg.maxBatch ?? part.length;
      const out = buffers.take(batch * cfg.channels * part[0].width * part[0].height);
      const { data, dims } = packBatch(part, cfg.channels, cfg.layout, batch, out);
      calls.push({ data, dims, count: part.length });
    }
    items.push({ kind: 'group', calls, sets: group.map((g) => ({ index: g.index, images: g.planes.length })) });
    group = [];
  };
  ready.forEach((r, index) => {
    if (!r.planes) {
      flush();
      items.push({ kind: 'error', index, error: r.error });
      return;
    }
    const g0 = group[0]?.planes[0];
    if (g0 && (g0.width !== r.planes[0].width || g0.height !== r.planes[0].height)) flush();
    group.push({ index, planes: r.planes });
  });
  flush();
  return items;
}

/** An error as it crosses from the worker: enough to rebuild the same class and message. */
export interface WireError {
  name: string;
  message: string;
  location?: ErrorLocation;
  hint?: string;
  kind?: ImageErrorKind;
  reason?: string;
}

export function toWire(e: unknown): WireError {
  if (e instanceof ImageError)
    return {
      name: 'ImageError',
      message: e.message,
      location: e.location,
      hint: e.hint,
      kind: e.kind,
      reason: e.reason,
    };
  if (e instanceof UserError) return { name: 'UserError', message: e.message, location: e.location, hint: e.hint };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

/** The error the in-thread path would have thrown (same class, message, file and hint). */
export function fromWire(w: WireError): Error {
  if (w.name === 'ImageError' && w.kind !== undefined && w.reason !== undefined) {
    return new ImageError(w.location?.file ?? '', w.kind, w.reason, w.hint);
  }
  if (w.name === 'ImageError' || w.name === 'UserError') return new UserError(w.message, w.location, w.hint);
  const e = new Error(w.message);
  e.name = w.name;
  return e;
}
