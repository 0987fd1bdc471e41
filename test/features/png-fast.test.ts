// The direct PNG decoder must give exactly the imaging library's pixels, and leave every file it
// does not fully understand (or that is damaged) to the imaging library, errors included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { decodeImage, decodePlainPng } from '../../src/imaging/index.js';
import { loadPlane } from '../../src/features/preprocess.js';
import { Rng } from '../../src/util/rng.js';
import { messageOf } from '../../src/util/errors.js';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { handPng } from '../helpers/hand-png.js';

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
  assert.deepEqual(
    [fast.width, fast.height, fast.channels, fast.bitDepth, fast.hasAlpha],
    [ref.width, ref.height, ref.channels, ref.bitDepth, ref.hasAlpha],
    file,
  );
  assert.equal(fast.data.constructor, ref.data.constructor, file);
  assert.ok(
    Buffer.from(fast.data.buffer, fast.data.byteOffset, fast.data.byteLength).equals(
      Buffer.from(ref.data.buffer, ref.data.byteOffset, ref.data.byteLength),
    ),
    `${file}: pixels differ`,
  );
  return true;
}

test('real PNGs from shared/data: the ones the direct decoder takes give the imaging library’s pixels exactly', async () => {
  const files = pngsUnder(sharedPath('images'));
  let taken = 0;
  for (const f of files) if (await assertSamePixels(f)) taken++;
  assert.ok(taken >= 20, `only ${taken} of ${files.length} real PNGs were decoded directly`);
});

test('each PNG row filter (None, Sub, Up, Average, Paeth), 8/16-bit, gray/RGB, decodes as libvips decodes it', async () => {
  await withTempDir(async (dir) => {
    const rng = Rng.derive(7, 'png-fast');
    let n = 0;
    for (const depth of [8, 16] as const)
      for (const channels of [1, 3] as const)
        for (const filters of [[0], [1], [2], [3], [4], [4, 3, 2, 1, 0]]) {
          const f = join(dir, `d${depth}-c${channels}-f${filters.join('')}.png`);
          await writeFile(
            f,
            handPng(23, 9, depth, channels, filters, rng, [['tEXt', Buffer.from('Comment\0made by hand', 'latin1')]]),
          );
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
      interlaced: await sharp(gray, { raw: { width: 32, height: 32, channels: 1 } })
        .png({ progressive: true })
        .toBuffer(),
      palette: await sharp(gray, { raw: { width: 32, height: 32, channels: 1 } })
        .png({ palette: true })
        .toBuffer(),
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
