// A direct decoder for the plain PNGs a release is made of (8- or 16-bit gray or RGB, not
// interlaced, no transparency, palette or colour management chunks): zlib inflate plus PNG's row
// filters, about a third of the CPU of a libvips decode for a 224×224 image (libvips sets up a
// whole pipeline per file). On a 2-core machine onnxruntime keeps both cores busy, so every
// millisecond of preprocessing shows in the run time. Anything else — another PNG kind, a CRC or
// zlib error, a short file — returns undefined and goes to the imaging library's decoder, so
// errors and unusual files get exactly its messages and pixels. Tested equal to it, pixel for pixel.
import { crc32, inflateSync } from 'node:zlib';
import { IMAGING } from '../defaults.js';
import type { DecodedImage } from './types.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
// Chunks that do not change the pixels libvips returns. Anything else (tRNS, PLTE, gAMA, iCCP,
// sRGB, sBIT, cHRM, …) sends the file to the imaging library.
const HARMLESS = new Set(['pHYs', 'tEXt', 'zTXt', 'iTXt', 'tIME']);

function u32(b: Uint8Array, o: number): number {
  return b[o] * 0x1000000 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}

function tag(b: Uint8Array, o: number): string {
  return String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
}

/** The decoded image, or undefined when this is not a plain PNG this decoder takes. */
export function decodePlainPng(bytes: Uint8Array, maxPixels = IMAGING.maxPixels): DecodedImage | undefined {
  if (bytes.length < 45) return undefined;
  for (let i = 0; i < 8; i++) if (bytes[i] !== SIGNATURE[i]) return undefined;
  if (u32(bytes, 8) !== 13 || tag(bytes, 12) !== 'IHDR') return undefined;
  const width = u32(bytes, 16);
  const height = u32(bytes, 20);
  const depth = bytes[24];
  const colorType = bytes[25];
  if (bytes[26] !== 0 || bytes[27] !== 0 || bytes[28] !== 0) return undefined; // compression, filter method, interlace
  if ((depth !== 8 && depth !== 16) || (colorType !== 0 && colorType !== 2)) return undefined;
  if (width === 0 || height === 0 || width * height > maxPixels) return undefined;
  const idat: Uint8Array[] = [];
  let ended = false;
  for (let off = 8; off + 12 <= bytes.length; ) {
    const len = u32(bytes, off);
    const t = tag(bytes, off + 4);
    if (off + 12 + len > bytes.length) return undefined;
    // the CRC covers type and data: a damaged chunk goes to libvips, which reports it
    if (crc32(bytes.subarray(off + 4, off + 8 + len)) !== u32(bytes, off + 8 + len)) return undefined;
    if (t === 'IEND') {
      ended = true;
      break;
    }
    if (t === 'IDAT') idat.push(bytes.subarray(off + 8, off + 8 + len));
    else if (t !== 'IHDR' && !HARMLESS.has(t)) return undefined;
    off += 12 + len;
  }
  if (!ended || !idat.length) return undefined;
  const channels = colorType === 0 ? 1 : 3;
  const bpp = channels * (depth / 8);
  const stride = width * bpp;
  let raw: Uint8Array;
  try {
    raw = inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat));
  } catch {
    return undefined;
  }
  if (raw.length !== height * (stride + 1)) return undefined;
  const out = new Uint8Array(height * stride);
  if (!unfilter(raw, out, height, stride, bpp)) return undefined;
  let data: Uint8Array | Uint16Array;
  if (depth === 8) data = out;
  else {
    // PNG stores 16-bit samples big-endian
    const n = out.length >> 1;
    const d16 = new Uint16Array(n);
    for (let i = 0, j = 0; i < n; i++, j += 2) d16[i] = (out[j] << 8) | out[j + 1];
    data = d16;
  }
  return {
    width,
    height,
    channels,
    hasAlpha: false,
    bitDepth: depth,
    sampleFormat: 'uint',
    data,
    pages: 1,
    page: 0,
    format: 'png',
    decoder: 'features-png',
  };
}

/** Undo PNG's per-row filters (None, Sub, Up, Average, Paeth); false on an unknown filter type. */
function unfilter(raw: Uint8Array, out: Uint8Array, height: number, stride: number, bpp: number): boolean {
  for (let y = 0; y < height; y++) {
    const s = y * (stride + 1) + 1;
    const d = y * stride;
    const p = d - stride; // the row above (y > 0)
    const filter = raw[s - 1];
    // Uint8Array stores wrap modulo 256, as PNG's arithmetic does
    switch (filter) {
      case 0:
        out.set(raw.subarray(s, s + stride), d);
        break;
      case 1:
        for (let i = 0; i < bpp; i++) out[d + i] = raw[s + i];
        for (let i = bpp; i < stride; i++) out[d + i] = raw[s + i] + out[d + i - bpp];
        break;
      case 2:
        if (y === 0) out.set(raw.subarray(s, s + stride), d);
        else for (let i = 0; i < stride; i++) out[d + i] = raw[s + i] + out[p + i];
        break;
      case 3:
        if (y === 0) {
          for (let i = 0; i < bpp; i++) out[d + i] = raw[s + i];
          for (let i = bpp; i < stride; i++) out[d + i] = raw[s + i] + (out[d + i - bpp] >> 1);
        } else {
          for (let i = 0; i < bpp; i++) out[d + i] = raw[s + i] + (out[p + i] >> 1);
          for (let i = bpp; i < stride; i++) out[d + i] = raw[s + i] + ((out[d + i - bpp] + out[p + i]) >> 1);
        }
        break;
      case 4:
        if (y === 0) {
          // no row above: Paeth picks the left neighbour (Sub)
          for (let i = 0; i < bpp; i++) out[d + i] = raw[s + i];
          for (let i = bpp; i < stride; i++) out[d + i] = raw[s + i] + out[d + i - bpp];
        } else {
          // first pixel: left and upper-left are 0, so Paeth picks up
          for (let i = 0; i < bpp; i++) out[d + i] = raw[s + i] + out[p + i];
          for (let i = bpp; i < stride; i++) {
            const a = out[d + i - bpp];
            const b = out[p + i];
            const c = out[p + i - bpp];
            const pa = b > c ? b - c : c - b; // |p − a| with p = a + b − c
            const pb = a > c ? a - c : c - a; // |p − b|
            const q = a + b - 2 * c;
            const pc = q < 0 ? -q : q; // |p − c|
            out[d + i] = raw[s + i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          }
        }
        break;
      default:
        return false;
    }
  }
  return true;
}
