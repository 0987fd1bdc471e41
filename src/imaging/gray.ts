// Colour to gray, the same rule on every path: the unweighted mean of R, G and B (alpha ignored;
// palettes were expanded by the decoder). Integer images keep the exact channel sum with a
// divisor, so percentiles stay histogram-exact.
import type { DecodedImage, GrayImage } from './types.js';

/**
 * `into`, when given, is reused for the result where a new array would be made (an array of the
 * same type with room for the pixels): callers that convert an image a strip at a time
 * (src/imaging/spill-rows.ts) pass the previous strip's array.
 */
export function toGray(img: DecodedImage, into?: GrayImage['data']): GrayImage {
  const { width, height, channels } = img;
  const n = width * height;
  const colour = channels - (img.hasAlpha ? 1 : 0);
  const integer = img.sampleFormat === 'uint';
  const maxSample = img.bitDepth === 8 ? 255 : img.bitDepth === 16 ? 65535 : NaN;
  if (colour === 1) {
    let data = img.data;
    if (channels !== 1) {
      // gray + alpha: take the gray samples
      const out =
        reuse<typeof data>(into, data.constructor, n) ?? new (data.constructor as { new (n: number): typeof data })(n);
      for (let i = 0, j = 0; i < n; i++, j += channels) out[i] = data[j];
      data = out;
    }
    return { width, height, data, divisor: 1, integer, maxCode: integer ? maxSample : NaN };
  }
  const src = img.data;
  const k = Math.min(colour, 3);
  if (integer) {
    const maxCode = maxSample * k;
    const out =
      maxCode <= 65535
        ? (reuse(into, Uint16Array, n) ?? new Uint16Array(n))
        : (reuse(into, Uint32Array, n) ?? new Uint32Array(n));
    if (k === 3) for (let i = 0, j = 0; i < n; i++, j += channels) out[i] = src[j] + src[j + 1] + src[j + 2];
    else for (let i = 0, j = 0; i < n; i++, j += channels) out[i] = src[j] + src[j + 1];
    return { width, height, data: out, divisor: k, integer: true, maxCode };
  }
  const out = reuse(into, Float64Array, n) ?? new Float64Array(n);
  if (k === 3) for (let i = 0, j = 0; i < n; i++, j += channels) out[i] = src[j] + src[j + 1] + src[j + 2];
  else for (let i = 0, j = 0; i < n; i++, j += channels) out[i] = src[j] + src[j + 1];
  return { width, height, data: out, divisor: k, integer: false, maxCode: NaN };
}

function reuse<T extends GrayImage['data']>(
  into: GrayImage['data'] | undefined,
  type: unknown,
  n: number,
): T | undefined {
  return into !== undefined && into.constructor === type && into.length >= n ? (into.subarray(0, n) as T) : undefined;
}

/** The gray values as float32 (data / divisor): the raw, un-normalised intensities. */
export function grayValues(gray: GrayImage): Float32Array {
  const n = gray.data.length;
  const out = new Float32Array(n);
  const d = gray.data;
  if (gray.divisor === 1) for (let i = 0; i < n; i++) out[i] = d[i];
  else for (let i = 0; i < n; i++) out[i] = d[i] / gray.divisor;
  return out;
}
