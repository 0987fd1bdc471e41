// BMP and DIB through fast-bmp (libvips has no BMP loader). A DIB is a BMP without its 14-byte
// file header; we add one so the same decoder reads both.
import { decode as decodeBmpBytes } from 'fast-bmp';
import { ImageError } from './image-error.js';
import type { DecodedImage } from './types.js';

function withFileHeader(dib: Buffer): Buffer {
  const headerSize = dib.readUInt32LE(0);
  const bitCount = dib.length >= 16 ? dib.readUInt16LE(14) : 0;
  const colorsUsed = headerSize >= 36 && dib.length >= 36 ? dib.readUInt32LE(32) : 0;
  const paletteEntries = bitCount <= 8 ? colorsUsed || 1 << bitCount : 0;
  const masks = headerSize === 40 && dib.length >= 20 && dib.readUInt32LE(16) === 3 ? 12 : 0;
  const offset = 14 + headerSize + masks + paletteEntries * (headerSize === 12 ? 3 : 4);
  const head = Buffer.alloc(14);
  head.write('BM', 0, 'latin1');
  head.writeUInt32LE(dib.length + 14, 2);
  head.writeUInt32LE(offset, 10);
  return Buffer.concat([head, dib]);
}

export function decodeBmp(bytes: Buffer, headerless: boolean, name: string, maxPixels: number): DecodedImage {
  const buf = headerless ? withFileHeader(bytes) : bytes;
  if (buf.length < 26) throw new ImageError(name, 'truncated', 'BMP header is incomplete');
  const infoWidth = buf.readInt32LE(18);
  const infoHeight = Math.abs(buf.readInt32LE(22));
  if (infoWidth * infoHeight > maxPixels) {
    throw new ImageError(
      name,
      'too-large',
      `${infoWidth}×${infoHeight} = ${infoWidth * infoHeight} pixels exceeds the limit of ${maxPixels}`,
    );
  }
  let img: ReturnType<typeof decodeBmpBytes>;
  try {
    img = decodeBmpBytes(buf);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ImageError(name, /offset|range|bounds|end/i.test(msg) ? 'truncated' : 'unreadable', `BMP: ${msg}`);
  }
  const { width, height } = img;
  const channels = img.channels;
  const raw = img.data;
  const data =
    raw instanceof Uint8Array
      ? raw
      : ArrayBuffer.isView(raw)
        ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)
        : new Uint8Array(raw as ArrayBufferLike);
  const bits = img.bitsPerPixel;
  if (bits === 1 || (img.components === 1 && bits < 8)) {
    // fast-bmp returns 1-bit images as packed bits; expand to 0/255 gray.
    const out = new Uint8Array(width * height);
    const rowBytes = Math.ceil(width / 8);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) out[y * width + x] = ((data[y * rowBytes + (x >> 3)] >> (7 - (x & 7))) & 1) * 255;
    return {
      width,
      height,
      channels: 1,
      hasAlpha: false,
      bitDepth: 8,
      sampleFormat: 'uint',
      data: out,
      pages: 1,
      page: 0,
      format: 'bmp',
      decoder: 'fast-bmp',
    };
  }
  if (data.length < width * height * channels) throw new ImageError(name, 'truncated', 'BMP pixel data is incomplete');
  return {
    width,
    height,
    channels,
    hasAlpha: channels === 2 || channels === 4,
    bitDepth: 8,
    sampleFormat: 'uint',
    data: data.subarray(0, width * height * channels),
    pages: 1,
    page: 0,
    format: 'bmp',
    decoder: 'fast-bmp',
  };
}
