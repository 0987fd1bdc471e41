// TIFF through utif2 (pure JS), for files libvips refuses. Handles 1/8/16/32-bit, uint/int/float
// samples, gray/RGB/palette, either byte order; palette images are expanded through their palette.
import UTIF from 'utif2';
import { ImageError } from './image-error.js';
import type { DecodedImage, ImageFormat, SampleArray } from './types.js';

type Ifd = UTIF.IFD & { isLE?: boolean };

function tag(ifd: Ifd, n: number): number[] | undefined {
  const v = ifd[`t${n}`];
  return Array.isArray(v) ? (v as number[]) : undefined;
}

function parse(bytes: Buffer, name: string): Ifd[] {
  let ifds: Ifd[];
  try {
    ifds = UTIF.decode(bytes) as Ifd[];
  } catch (e) {
    throw new ImageError(name, 'unreadable', `bad TIFF structure: ${String(e instanceof Error ? e.message : e)}`);
  }
  // Only image IFDs count as pages (EXIF/GPS sub-IFDs have no width).
  return ifds.filter((d) => tag(d, 256) !== undefined);
}

/** The first IFD's offset lies past the end of the file: the classic sign of a cut-off TIFF. */
export function tiffHeaderPointsPastEnd(bytes: Buffer): boolean {
  if (bytes.length < 8) return true;
  const le = bytes[0] === 0x49;
  const first = le ? bytes.readUInt32LE(4) : bytes.readUInt32BE(4);
  return first + 2 > bytes.length;
}

export function decodeTiffWithUtif(
  bytes: Buffer,
  name: string,
  page: number,
  maxPixels: number,
  format: ImageFormat,
): DecodedImage {
  if (tiffHeaderPointsPastEnd(bytes)) {
    throw new ImageError(name, 'truncated', `the file ends (${bytes.length} bytes) before its first image directory`);
  }
  const ifds = parse(bytes, name);
  if (ifds.length === 0) throw new ImageError(name, 'unreadable', 'TIFF has no image');
  if (page >= ifds.length) {
    throw new ImageError(
      name,
      'bad-page',
      `page ${page} requested but the file has ${ifds.length} page${ifds.length === 1 ? '' : 's'} (pages count from 0)`,
    );
  }
  const ifd = ifds[page];
  const width = tag(ifd, 256)![0];
  const height = (tag(ifd, 257) ?? [0])[0];
  if (width * height > maxPixels) {
    throw new ImageError(
      name,
      'too-large',
      `${width}×${height} = ${width * height} pixels exceeds the limit of ${maxPixels}`,
      'raise --max-pixels if this image is genuine',
    );
  }
  const bps = (tag(ifd, 258) ?? [1])[0];
  const spp = (tag(ifd, 277) ?? [1])[0];
  const sfmt = (tag(ifd, 339) ?? [1])[0];
  const photometric = (tag(ifd, 262) ?? [1])[0];
  const planar = (tag(ifd, 284) ?? [1])[0];
  const extra = tag(ifd, 338) ?? [];
  if (planar === 2 && spp > 1)
    throw new ImageError(name, 'unreadable', 'planar (separate-plane) TIFF layout is not supported');
  // utif2 reads past the end as zeros; check that every strip or tile lies inside the file.
  const offsets = tag(ifd, 273) ?? tag(ifd, 324);
  const counts = tag(ifd, 279) ?? tag(ifd, 325);
  if (!offsets || offsets.length === 0)
    throw new ImageError(name, 'unreadable', 'TIFF image has no strip or tile offsets');
  if (counts) {
    for (let i = 0; i < offsets.length; i++) {
      if (offsets[i] + (counts[i] ?? 0) > bytes.length) {
        throw new ImageError(name, 'truncated', `pixel data runs past the end of the file (${bytes.length} bytes)`);
      }
    }
  }
  try {
    UTIF.decodeImage(bytes, ifd);
  } catch (e) {
    throw new ImageError(name, 'unreadable', `TIFF pixel data: ${String(e instanceof Error ? e.message : e)}`);
  }
  const raw = ifd.data;
  const n = width * height;
  if (!raw || raw.length < Math.ceil((n * bps * spp) / 8) - (bps < 8 ? height : 0)) {
    throw new ImageError(name, 'truncated', `TIFF pixel data is shorter than ${width}×${height}×${spp}×${bps} bits`);
  }
  const le = ifd.isLE !== false;
  let data: SampleArray;
  let bitDepth: 8 | 16 | 32;
  let sampleFormat: 'uint' | 'float' = 'uint';
  if (bps === 1 && spp === 1) {
    const rowBytes = Math.ceil(width / 8);
    const out = new Uint8Array(n);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const bit = (raw[y * rowBytes + (x >> 3)] >> (7 - (x & 7))) & 1;
        out[y * width + x] = bit ? 255 : 0;
      }
    }
    data = out;
    bitDepth = 8;
  } else if ((bps === 8 || bps === 16) && sfmt === 2) {
    // Signed integers are carried as float32 with their true values (exact at these widths).
    const dv = new DataView(raw.buffer, raw.byteOffset, n * spp * (bps / 8));
    const out = new Float32Array(n * spp);
    if (bps === 8) for (let i = 0; i < out.length; i++) out[i] = dv.getInt8(i);
    // utif2 has already swapped 16-bit samples to little-endian
    else for (let i = 0; i < out.length; i++) out[i] = dv.getInt16(i * 2, true);
    data = out;
    bitDepth = 32;
    sampleFormat = 'float';
  } else if (bps === 8 && sfmt !== 3) {
    data = new Uint8Array(raw.buffer, raw.byteOffset, n * spp).slice();
    bitDepth = 8;
  } else if (bps === 16 && sfmt !== 3) {
    const dv = new DataView(raw.buffer, raw.byteOffset, n * spp * 2);
    const out = new Uint16Array(n * spp);
    // utif2 already swaps 16-bit big-endian samples to little-endian.
    for (let i = 0; i < out.length; i++) out[i] = dv.getUint16(i * 2, true);
    data = out;
    bitDepth = 16;
  } else if (bps === 32) {
    const dv = new DataView(raw.buffer, raw.byteOffset, n * spp * 4);
    const out = new Float32Array(n * spp);
    if (sfmt === 3) for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, le);
    else if (sfmt === 2) for (let i = 0; i < out.length; i++) out[i] = dv.getInt32(i * 4, le);
    else for (let i = 0; i < out.length; i++) out[i] = dv.getUint32(i * 4, le);
    data = out;
    bitDepth = 32;
    sampleFormat = 'float';
  } else if (bps === 64 && sfmt === 3) {
    const dv = new DataView(raw.buffer, raw.byteOffset, n * spp * 8);
    const out = new Float32Array(n * spp);
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat64(i * 8, le);
    data = out;
    bitDepth = 32;
    sampleFormat = 'float';
  } else {
    throw new ImageError(
      name,
      'unreadable',
      `unsupported TIFF sample layout: ${bps} bits × ${spp} samples, format ${sfmt}`,
    );
  }

  let channels = spp;
  // WhiteIsZero: invert so that bright means bright, as every viewer shows it.
  if (photometric === 0 && sampleFormat === 'uint') {
    const max = bitDepth === 8 ? 255 : 65535;
    for (let i = 0; i < data.length; i++) data[i] = max - data[i];
  }
  if (photometric === 3) {
    const cmap = tag(ifd, 320);
    if (!cmap || spp !== 1 || bitDepth === 32)
      throw new ImageError(name, 'unreadable', 'palette TIFF without a usable colour map');
    const expanded = expandPalette(data as Uint8Array | Uint16Array, cmap, bps);
    data = expanded.data;
    channels = expanded.channels;
    bitDepth = 8;
  }
  const hasAlpha = extra.length > 0 && (channels === 2 || channels === 4);
  return {
    width,
    height,
    channels,
    hasAlpha,
    bitDepth,
    sampleFormat,
    data,
    pages: ifds.length,
    page,
    format,
    decoder: 'utif2',
  };
}

/**
 * Palette → pixel values. TIFF colour maps hold 16-bit entries; like libvips we keep the high
 * byte, unless every entry is ≤ 255 (writers that store 8-bit values). A gray palette (R = G = B
 * everywhere) gives one channel, otherwise RGB.
 */
export function expandPalette(
  index: Uint8Array | Uint16Array,
  cmap: readonly number[],
  bps: number,
): { data: Uint8Array; channels: 1 | 3 } {
  const size = 1 << bps;
  const r = cmap.slice(0, size);
  const g = cmap.slice(size, 2 * size);
  const b = cmap.slice(2 * size, 3 * size);
  const eightBit = cmap.every((v) => v <= 255);
  const to8 = (v: number | undefined): number => (v === undefined ? 0 : eightBit ? v : v >> 8);
  let gray = true;
  for (let i = 0; i < size; i++) if (r[i] !== g[i] || g[i] !== b[i]) gray = false;
  const n = index.length;
  if (gray) {
    const lut = new Uint8Array(size);
    for (let i = 0; i < size; i++) lut[i] = to8(r[i]);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = lut[index[i]];
    return { data: out, channels: 1 };
  }
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const k = index[i];
    out[3 * i] = to8(r[k]);
    out[3 * i + 1] = to8(g[k]);
    out[3 * i + 2] = to8(b[k]);
  }
  return { data: out, channels: 3 };
}
