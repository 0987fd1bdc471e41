import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encode as encodeBmp } from 'fast-bmp';
import { decodeImage, decodeBuffer, pageCount, ImageError, type DecodedImage } from '../../src/imaging/index.js';
import { decodeTiffWithUtif } from '../../src/imaging/decode-utif.js';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { expectedImages } from './sources-table.js';
import { decodePngReference } from './png-reference.js';
import { writeTiff } from './tiff-writer.js';
import { handPng } from '../helpers/hand-png.js';
import { Rng } from '../../src/util/rng.js';

const IMAGE_EXT = /\.(png|tiff?|jpe?g|bmp|dib|flex)$/i;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

function range(img: DecodedImage): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (const v of img.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

test('every image in shared/data/images decodes, at a size and depth that make sense', async () => {
  const files = walk(sharedPath('images')).filter((f) => IMAGE_EXT.test(f));
  assert.ok(files.length >= 120, `expected the full image set, found ${files.length}`);
  for (const f of files) {
    const img = await decodeImage(f);
    assert.ok(img.width > 0 && img.height > 0, f);
    assert.equal(img.data.length, img.width * img.height * img.channels, f);
    assert.ok([1, 2, 3, 4].includes(img.channels), f);
  }
});

test('decoded size, channels, bit depth, pages and value range match SOURCES.md for every listed image', async () => {
  const expected = expectedImages();
  assert.ok(expected.length >= 100, `parsed ${expected.length} rows from SOURCES.md`);
  for (const e of expected) {
    const img = await decodeImage(sharedPath(e.path));
    const what = `${e.path}`;
    assert.equal(img.width, e.width, `${what}: width`);
    assert.equal(img.height, e.height, `${what}: height`);
    assert.equal(img.pages, e.pages, `${what}: pages`);
    assert.equal(img.bitDepth, e.bitDepth, `${what}: bit depth`);
    assert.equal(img.sampleFormat, e.float ? 'float' : 'uint', `${what}: sample format`);
    // Palette TIFFs here have gray palettes: one channel after expansion.
    assert.equal(img.channels, e.channels, `${what}: channels`);
    if (e.kind !== 'JPEG') {
      // JPEG value ranges depend on the IDCT implementation; everything else is lossless.
      assert.deepEqual(range(img), [e.min, e.max], `${what}: value range`);
    }
  }
});

test('16-bit gray comes back at full depth, not as 3-channel sRGB (the 2985 → 11 trap)', async () => {
  const img = await decodeImage(sharedPath('images/cellprofiler_examples/ExampleSpeckles/images/1-162hrh2ax2.tif'));
  assert.equal(img.channels, 1);
  assert.ok(img.data instanceof Uint16Array);
  assert.deepEqual(range(img), [628, 4095]);
});

test('libvips pixels equal utif2 (an independent TIFF decoder) for every TIFF, sample by sample', async () => {
  const files = walk(sharedPath('images')).filter((f) => /\.tiff?$/i.test(f));
  assert.ok(files.length >= 50);
  for (const f of files) {
    const a = await decodeImage(f);
    const b = decodeTiffWithUtif(readFileSync(f), f, 0, 1e9, 'tiff');
    assert.equal(a.decoder, 'sharp');
    assert.deepEqual([a.width, a.height, a.channels, a.bitDepth], [b.width, b.height, b.channels, b.bitDepth], f);
    assert.ok(
      Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(
        Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength),
      ),
      `${f}: pixels differ`,
    );
  }
});

test('libvips pixels equal a reference PNG decoder for every PNG (8/16-bit, gray, RGB, RGBA)', async () => {
  const files = walk(sharedPath('images')).filter((f) => /\.png$/i.test(f));
  assert.ok(files.length >= 40);
  for (const f of files) {
    const a = await decodeImage(f);
    const r = decodePngReference(readFileSync(f));
    assert.deepEqual([a.width, a.height, a.channels, a.bitDepth], [r.width, r.height, r.channels, r.bitDepth], f);
    for (let i = 0; i < r.data.length; i++) {
      if (a.data[i] !== r.data[i]) assert.fail(`${f}: sample ${i} is ${a.data[i]}, reference ${r.data[i]}`);
    }
  }
});

test('a multi-page TIFF decodes the requested page; a page past the end is a clear error', async () => {
  const f = sharedPath('images/fret_ibra_examples/examples/YC_3_sub/YC_3_sub_ratio_back.tif');
  const bytes = readFileSync(f);
  const first = await decodeImage(f);
  const last = await decodeImage(f, { page: 99 });
  assert.equal(first.pages, 100);
  assert.equal(pageCount(f), 100);
  assert.equal(pageCount(sharedPath('images/cellprofiler_examples/ExampleColocalization/images/0_1_N_G.png')), 1);
  assert.equal(last.page, 99);
  assert.notDeepEqual(first.data, last.data);
  assert.deepEqual(last.data, decodeTiffWithUtif(bytes, f, 99, 1e9, 'tiff').data);
  await assert.rejects(
    decodeImage(f, { page: 100 }),
    (e: unknown) => e instanceof ImageError && e.kind === 'bad-page' && /100 pages/.test(e.message),
  );
});

test('FLEX (TIFF bytes) decodes as format flex with the same pixels', async () => {
  await withTempDir(async (dir) => {
    const src = sharedPath('images/cellprofiler_examples/ExampleSpeckles/images/1-162hrhoe2.tif');
    const flex = join(dir, 'well_001.flex');
    await writeFile(flex, readFileSync(src));
    const a = await decodeImage(flex);
    const b = await decodeImage(src);
    assert.equal(a.format, 'flex');
    assert.deepEqual(a.data, b.data);
  });
});

test('BMP and headerless DIB decode through fast-bmp (libvips has no BMP loader)', async () => {
  await withTempDir(async (dir) => {
    const width = 7,
      height = 5; // odd width: rows are padded to 4 bytes in BMP
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) % 256;
    const bmp = Buffer.from(encodeBmp({ width, height, channels: 3, components: 3, bitsPerPixel: 24, data: rgb }));
    const pBmp = join(dir, 'x.BMP');
    const pDib = join(dir, 'x.DIB');
    await writeFile(pBmp, bmp);
    await writeFile(pDib, bmp.subarray(14)); // a DIB is a BMP without its file header
    for (const p of [pBmp, pDib]) {
      const img = await decodeImage(p);
      assert.equal(img.decoder, 'fast-bmp');
      assert.deepEqual([img.width, img.height, img.channels, img.bitDepth], [width, height, 3, 8]);
      assert.deepEqual([...img.data], [...rgb]);
    }
  });
});

test('the pixel-count limit refuses large images before decoding them', async () => {
  for (const f of [
    'images/cellprofiler_examples/ExampleSpeckles/images/1-162hrhoe2.tif',
    'images/cellprofiler_examples/ExampleColocalization/images/0_1_N_G.png',
  ]) {
    await assert.rejects(
      decodeImage(sharedPath(f), { maxPixels: 1000 }),
      (e: unknown) => e instanceof ImageError && e.kind === 'too-large' && /exceeds the limit of 1000/.test(e.message),
    );
  }
  const ok = await decodeImage(sharedPath('images/cellprofiler_examples/ExampleSpeckles/images/1-162hrhoe2.tif'), {
    maxPixels: 1200 * 1000,
  });
  assert.equal(ok.width * ok.height, 1_200_000);
});

test('broken inputs give a clear reason: empty, not an image, truncated TIFF/PNG/JPEG, missing', async () => {
  const tif = readFileSync(
    sharedPath('images/cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00d2.tif'),
  );
  const bigEndianTif = readFileSync(sharedPath('images/cellprofiler_examples/ExampleSpeckles/images/1-162hrhoe2.tif'));
  const png = readFileSync(sharedPath('images/cellprofiler_examples/ExampleColocalization/images/0_1_N_G.png'));
  const jpg = readFileSync(sharedPath('images/cellprofiler_examples/ExampleTumor/images/30-2A1f.jpg'));
  const cases: Array<[string, Buffer, string]> = [
    ['empty.tif', Buffer.alloc(0), 'empty'],
    ['notes.png', Buffer.from('this is not an image\n'), 'not-an-image'],
    ['cut-strips.tif', tif.subarray(0, 200_000), 'truncated'],
    ['cut-table.tif', bigEndianTif.subarray(0, 100_000), 'truncated'],
    ['cut.png', png.subarray(0, 100_000), 'truncated'],
    ['cut.jpg', jpg.subarray(0, 50_000), 'truncated'],
  ];
  for (const [name, bytes, kind] of cases) {
    await assert.rejects(decodeBuffer(bytes, { name }), (e: unknown) => {
      assert.ok(e instanceof ImageError, name);
      assert.equal(e.kind, kind, `${name}: ${e.message}`);
      assert.equal(e.location.file, name);
      return true;
    });
  }
  await assert.rejects(
    decodeImage('/nonexistent/x.tif'),
    (e: unknown) => e instanceof ImageError && /file not found/.test(e.message),
  );
});

test('synthetic TIFF layouts the shared data lacks: colour palette, WhiteIsZero, signed 16-bit', async () => {
  const w = 4,
    h = 3;
  // Colour palette: red, green, blue, mid-gray — expanded to RGB, high byte of the 16-bit map.
  const cmap = new Array(768).fill(0);
  cmap[0] = 65535;
  cmap[256 + 1] = 65535;
  cmap[512 + 2] = 65535;
  cmap[3] = 32768;
  cmap[256 + 3] = 32768;
  cmap[512 + 3] = 32768;
  const pal = writeTiff({
    width: w,
    height: h,
    bitsPerSample: 8,
    samplesPerPixel: 1,
    photometric: 3,
    colorMap: cmap,
    data: Uint8Array.from({ length: w * h }, (_, i) => i % 4),
  });
  const p = await decodeBuffer(pal, { name: 'palette.tif' });
  assert.equal(p.channels, 3);
  assert.deepEqual([...p.data.slice(0, 12)], [255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128]);
  assert.deepEqual(p.data, decodeTiffWithUtif(pal, 'palette.tif', 0, 1e9, 'tiff').data);
  // WhiteIsZero: inverted, so bright is bright, by both decoders.
  const wiz = writeTiff({
    width: w,
    height: h,
    bitsPerSample: 8,
    samplesPerPixel: 1,
    photometric: 0,
    data: Uint8Array.from({ length: w * h }, (_, i) => i * 20),
  });
  const z = await decodeBuffer(wiz, { name: 'wiz.tif' });
  assert.deepEqual(
    [...z.data],
    Array.from({ length: w * h }, (_, i) => 255 - i * 20),
  );
  assert.deepEqual(z.data, decodeTiffWithUtif(wiz, 'wiz.tif', 0, 1e9, 'tiff').data);
  // Signed 16-bit: libvips would squash it to 8 bits on the way out, so utif2 reads it, exactly.
  const raw = Buffer.alloc(w * h * 2);
  for (let i = 0; i < w * h; i++) raw.writeInt16LE(-600 + i * 100, 2 * i);
  const s16 = writeTiff({
    width: w,
    height: h,
    bitsPerSample: 16,
    samplesPerPixel: 1,
    photometric: 1,
    sampleFormat: 2,
    data: raw,
  });
  const s = await decodeBuffer(s16, { name: 'signed.tif' });
  assert.deepEqual([s.decoder, s.sampleFormat], ['utif2', 'float']);
  assert.deepEqual(
    [...s.data],
    Array.from({ length: w * h }, (_, i) => -600 + i * 100),
  );
});

test('an 8-bit gray PNG with a tRNS chunk (transparency by gray value) decodes as gray with its pixel values', async () => {
  const png = handPng(5, 3, 8, 1, [0, 1, 4], Rng.derive(3, 'trns'), [['tRNS', Buffer.from([0, 0])]]);
  const img = await decodeBuffer(png);
  const ref = decodePngReference(png);
  assert.deepEqual([img.width, img.height, img.bitDepth], [5, 3, 8]);
  assert.ok(img.channels === 1 || (img.channels === 2 && img.hasAlpha), `channels ${img.channels}`);
  for (let i = 0; i < 15; i++) assert.equal(img.data[i * img.channels], ref.data[i], `pixel ${i}`);
});
