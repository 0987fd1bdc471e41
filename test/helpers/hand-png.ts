// PNGs written by hand (zlib + PNG's row filters + chunk CRCs), for tests that need files no
// encoder writes on request: a given row filter, extra chunks such as tRNS, split IDAT data.
import { crc32, deflateSync } from 'node:zlib';
import type { Rng } from '../../src/util/rng.js';

/** A PNG written by hand: every row filtered with `filters[y % filters.length]`, then deflated. */
export function handPng(
  width: number,
  height: number,
  depth: 8 | 16,
  channels: 1 | 3,
  filters: number[],
  rng: Rng,
  extra: [string, Buffer][] = [],
): Buffer {
  const bpp = channels * (depth / 8);
  const stride = width * bpp;
  const img = Buffer.alloc(height * stride);
  // smooth-ish values with noise, so Paeth and Average choose among all three neighbours
  for (let i = 0; i < img.length; i++) img[i] = (((i % stride) >> 2) * 7 + rng.int(0, 40)) & 255;
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const f = filters[y % filters.length];
    raw[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = img[y * stride + i];
      const a = i >= bpp ? img[y * stride + i - bpp] : 0;
      const b = y > 0 ? img[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= bpp ? img[(y - 1) * stride + i - bpp] : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a),
          pb = Math.abs(p - b),
          pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      raw[y * (stride + 1) + 1 + i] = (x - pred) & 255;
    }
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = channels === 1 ? 0 : 2;
  const z = deflateSync(raw);
  // two IDAT chunks: the data may be split anywhere
  const cut = z.length >> 1;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra.map(([t, d]) => chunk(t, d)),
    chunk('IDAT', z.subarray(0, cut)),
    chunk('IDAT', z.subarray(cut)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
