// The direct PNG decoder must give exactly the imaging library's pixels, and leave every file it
// does not fully understand (or that is damaged) to the imaging library, errors included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodeImage } from '../../src/imaging/index.js';
import { decodePlainPng } from '../../src/features/png-fast.js';
import { loadPlane } from '../../src/features/preprocess.js';
import { Rng } from '../../src/util/rng.js';
import { messageOf } from '../../src/util/errors.js';
import { sharedPath, withTempDir } from '../helpers/data.js';

function pngsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...pngsUnder(p));
    else if (e.toLowerCase().endsWith('.png')) out.push(p);
  }
  return out;
}

async function assertSamePixels(file: string): Promise<boolean> {
  const fast = decodePlainPng(readFileSync(file));
  if (!fast) return false;
  const ref = await decodeImage(file);
  assert.deepEqual([fast.width, fast.height, fast.channels, fast.bitDepth, fast.hasAlpha], [ref.width, ref.height, ref.channels, ref.bitDepth, ref.hasAlpha], file);
  assert.equal(fast.data.constructor, ref.data.constructor, file);
  assert.ok(Buffer.from(fast.data.buffer, fast.data.byteOffset, fast.data.byteLength).equals(Buffer.from(ref.data.buffer, ref.data.byteOffset, ref.data.byteLength)), `${file}: pixels differ`);
  return true;
}

test('real PNGs from shared/data: the ones the direct decoder takes give the imaging library’s pixels exactly', async () => {
  const files = pngsUnder(sharedPath('images'));
  let taken = 0;
  for (const f of files) if (await assertSamePixels(f)) taken++;
  assert.ok(taken >= 20, `only ${taken} of ${files.length} real PNGs were decoded directly`);
});

/** A PNG written by hand: every row filtered with `filters[y % filters.length]`, then deflated. */
function handPng(width: number, height: number, depth: 8 | 16, channels: 1 | 3, filters: number[], rng: Rng, extra: [string, Buffer][] = []): Buffer {
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
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
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

test('each PNG row filter (None, Sub, Up, Average, Paeth), 8/16-bit, gray/RGB, decodes as libvips decodes it', async () => {
  await withTempDir(async (dir) => {
    const rng = Rng.derive(7, 'png-fast');
    let n = 0;
    for (const depth of [8, 16] as const)
      for (const channels of [1, 3] as const)
        for (const filters of [[0], [1], [2], [3], [4], [4, 3, 2, 1, 0]]) {
          const f = join(dir, `d${depth}-c${channels}-f${filters.join('')}.png`);
          await writeFile(f, handPng(23, 9, depth, channels, filters, rng, [['tEXt', Buffer.from('Comment\0made by hand', 'latin1')]]));
          assert.ok(await assertSamePixels(f), `${f} was not decoded directly`);
          n++;
        }
    assert.equal(n, 24);
  });
});

test('PNGs it does not take go to the imaging library: interlaced, palette, transparency, gamma, damaged, truncated', async () => {
  await withTempDir(async (dir) => {
    const rng = Rng.derive(8, 'png-fast');
    const gray = Buffer.from(Array.from({ length: 32 * 32 }, (_, i) => (i * 5) & 255));
    const leftAlone: Record<string, Buffer> = {
      interlaced: await sharp(gray, { raw: { width: 32, height: 32, channels: 1 } }).png({ progressive: true }).toBuffer(),
      palette: await sharp(gray, { raw: { width: 32, height: 32, channels: 1 } }).png({ palette: true }).toBuffer(),
      transparency: handPng(8, 8, 8, 1, [1], rng, [['tRNS', Buffer.from([0, 0])]]),
      gamma: handPng(8, 8, 8, 1, [1], rng, [['gAMA', Buffer.from([0, 0, 0xb1, 0x8f])]]),
    };
    const good = handPng(16, 16, 16, 1, [4], rng);
    const damaged = Buffer.from(good);
    damaged[damaged.length - 20] ^= 0x55; // inside the last IDAT: its CRC no longer matches
    leftAlone.damaged = damaged;
    leftAlone.truncated = good.subarray(0, good.length - 30);
    for (const [name, bytes] of Object.entries(leftAlone)) assert.equal(decodePlainPng(bytes), undefined, name);

    // …and what features does with them is exactly what the imaging library does, errors included
    for (const [name, bytes] of Object.entries(leftAlone)) {
      const f = join(dir, `${name}.png`);
      await writeFile(f, bytes);
      const want = await decodeImage(f).then(
        (img) => `decoded ${img.width}×${img.height}`,
        (e: unknown) => messageOf(e),
      );
      const got = await loadPlane(f, true).then(
        (p) => `decoded ${p.width}×${p.height}`,
        (e: unknown) => messageOf(e),
      );
      assert.equal(got, want, name);
      if (name === 'damaged' || name === 'truncated') assert.match(got, new RegExp(`${name}\\.png`), name);
      else if (name !== 'transparency') assert.match(got, /^decoded/, name);
    }
  });
});
