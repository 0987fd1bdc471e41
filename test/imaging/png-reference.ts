// A small, independent PNG decoder (zlib + the five row filters) used only to check libvips's
// pixels. Non-interlaced gray, RGB, gray+alpha and RGBA at 8 or 16 bits; palette expanded.
import { inflateSync } from 'node:zlib';

export interface ReferencePng {
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  /** Samples, interleaved, at full depth. */
  data: Uint16Array;
}

export function decodePngReference(bytes: Buffer): ReferencePng {
  let off = 8;
  let width = 0,
    height = 0,
    bitDepth = 0,
    colorType = 0,
    interlace = 0;
  const idat: Buffer[] = [];
  let palette: Buffer | null = null;
  while (off < bytes.length) {
    const len = bytes.readUInt32BE(off);
    const type = bytes.toString('latin1', off + 4, off + 8);
    const body = bytes.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      bitDepth = body[8];
      colorType = body[9];
      interlace = body[12];
    } else if (type === 'PLTE') palette = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  if (interlace !== 0) throw new Error('reference decoder: interlaced PNG not supported');
  if (bitDepth !== 8 && bitDepth !== 16) throw new Error(`reference decoder: bit depth ${bitDepth}`);
  const samples = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType as 0 | 2 | 3 | 4 | 6];
  const bpp = (samples * bitDepth) / 8;
  const stride = width * bpp;
  const raw = inflateSync(Buffer.concat(idat));
  const cur = Buffer.alloc(stride);
  const prev = Buffer.alloc(stride);
  const out = new Uint16Array(width * height * samples);
  let p = 0;
  for (let y = 0; y < height; y++) {
    const filter = raw[p++];
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? cur[x - bpp] : 0;
      const b = prev[x];
      const c = x >= bpp ? prev[x - bpp] : 0;
      let v = raw[p++];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const pa = Math.abs(b - c),
          pb = Math.abs(a - c),
          pc = Math.abs(a + b - 2 * c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[x] = v & 0xff;
    }
    for (let i = 0; i < width * samples; i++) {
      out[y * width * samples + i] = bitDepth === 16 ? cur.readUInt16BE(2 * i) : cur[i];
    }
    cur.copy(prev);
  }
  if (colorType === 3 && palette) {
    const rgb = new Uint16Array(width * height * 3);
    for (let i = 0; i < width * height; i++) for (let k = 0; k < 3; k++) rgb[3 * i + k] = palette[3 * out[i] + k];
    return { width, height, channels: 3, bitDepth, data: rgb };
  }
  return { width, height, channels: samples, bitDepth, data: out };
}
