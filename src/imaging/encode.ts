// Output: values in [0, 1] → 8-bit (×255) or 16-bit (×65535) gray PNG via libvips. Rounding is to
// the nearest integer, ties up (Math.round).
import sharp from 'sharp';
import { IMAGING } from '../defaults.js';
import { vipsShared } from './vips-turns.js';
import { sharpOutput } from './sharp-output.js';

export type OutputBitDepth = 8 | 16;

export function quantize(values: Float64Array | Float32Array, bitDepth: 8): Uint8Array;
export function quantize(values: Float64Array | Float32Array, bitDepth: 16): Uint16Array;
export function quantize(values: Float64Array | Float32Array, bitDepth: OutputBitDepth): Uint8Array | Uint16Array;
export function quantize(values: Float64Array | Float32Array, bitDepth: OutputBitDepth = 8): Uint8Array | Uint16Array {
  const n = values.length;
  if (bitDepth === 8) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = roundHalfUp(values[i] * 255);
    return out;
  }
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = roundHalfUp(values[i] * 65535);
  return out;
}

/**
 * Math.round for 0 ≤ y < 2^31, exactly (ties up), without Math.round: V8 compiles that to a slow
 * call on CPUs it does not trust with SSE4.1 (20× slower here).
 */
export function roundHalfUp(y: number): number {
  const r = (y + 0.5) | 0;
  // y + 0.5 may round up to the next integer in floating point; undo that case.
  return y < r - 0.5 ? r - 1 : r;
}

export interface EncodeOptions {
  /** zlib level 0–9 (default 6). */
  compression?: number;
  /** Only for float input: output depth (default 8). Integer input keeps its own depth. */
  bitDepth?: OutputBitDepth;
}

/** Encode one gray image as PNG bytes. Uint8Array → 8-bit, Uint16Array → 16-bit, floats in [0, 1] → quantised. */
export async function encodePng(
  pixels: Uint8Array | Uint16Array | Float64Array | Float32Array,
  width: number,
  height: number,
  opts: EncodeOptions = {},
): Promise<Buffer> {
  const px =
    pixels instanceof Float64Array || pixels instanceof Float32Array ? quantize(pixels, opts.bitDepth ?? 8) : pixels;
  if (px.length !== width * height) throw new RangeError(`encodePng: ${px.length} pixels for ${width}×${height}`);
  const sixteen = px instanceof Uint16Array;
  // toUint8Array in build workers, toBuffer elsewhere (sharp-output.ts: the first leaks).
  const { data } = await vipsShared(() =>
    sharpOutput(
      sharp(px, { raw: { width, height, channels: 1 } })
        .toColourspace(sixteen ? 'grey16' : 'b-w')
        .png({ compressionLevel: opts.compression ?? IMAGING.pngCompression, palette: false }),
    ),
  );
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
