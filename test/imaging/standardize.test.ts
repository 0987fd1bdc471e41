import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../src/util/rng.js';
import {
  standardizeImageSet,
  cropsForImage,
  decodeImage,
  toGray,
  normalize,
  mergeChannels,
  quantize,
  encodePng,
  decodeBuffer,
  standardizeMany,
} from '../../src/imaging/index.js';
import { sharedPath, withTempDir } from '../helpers/data.js';

const HUMAN = ['d0', 'd1', 'd2'].map((d) =>
  sharedPath(`images/cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00${d}.tif`),
);
const SPECKLES = ['1-162hrh2ax2.tif', '1-162hrhoe2.tif'].map((f) =>
  sharedPath(`images/cellprofiler_examples/ExampleSpeckles/images/${f}`),
);
const BBBC022 = sharedPath(
  'images/bbbc022/BBBC022_v1_images_20585w1/IXMtest_A01_s2_w1AA6B1894-F561-42EE-9D1D-E21E5C741B75.tif',
);

test('a 3-channel set merges to the mean of the separately normalised channels (one rule on every path)', async () => {
  const set = await standardizeImageSet(HUMAN);
  assert.equal(set.qc.verdict, 'ok');
  assert.deepEqual([set.width, set.height], [512, 512]);
  const parts = await Promise.all(HUMAN.map(async (f) => normalize(toGray(await decodeImage(f)))));
  const merged = mergeChannels(parts);
  assert.deepEqual(set.merged, merged); // the fused kernel does the same arithmetic, bit for bit
  // more channels than the fused kernel covers (Cell Painting has five): the general path
  const five = [...HUMAN, HUMAN[0], HUMAN[1]];
  const set5 = await standardizeImageSet(five);
  const parts5 = [...parts, parts[0], parts[1]];
  assert.deepEqual(set5.merged, mergeChannels(parts5));
  assert.deepEqual(set5.output, quantize(mergeChannels(parts5), 8));
  assert.deepEqual(
    [...set.channels.map((c) => [c.lo, c.hi])],
    parts.map((p) => [p.lo, p.hi]),
  );
  assert.deepEqual(set.output, quantize(set.merged!, 8));
});

test('16-bit channels are normalised at full depth and the merged 8-bit image uses the whole range', async () => {
  const set = await standardizeImageSet(SPECKLES);
  assert.equal(set.qc.verdict, 'ok');
  assert.deepEqual(
    set.channels.map((c) => c.bitDepth),
    [16, 16],
  );
  assert.deepEqual(
    set.channels.map((c) => [c.lo, c.hi]),
    [
      [670, 2026],
      [305, 2004.001000000164],
    ],
  );
  const levels = new Set(set.output);
  assert.ok(levels.size > 200, `only ${levels.size} gray levels`);
  const out16 = await standardizeImageSet(SPECKLES, { bitDepth: 16 });
  assert.ok(out16.output instanceof Uint16Array);
});

test('QC verdicts on real and synthetic inputs: binary mask, uniform, unreadable, size mismatch', async () => {
  const mask = sharedPath(
    'images/dsb2018_bbbc038/stage1_train/00071198d059ba7f5914a526d124d28e6d010c92466da21d4a04cd5413362552/masks/07a9bf1d7594af2763c86e93f05d22c4d5181353c6d3ab30a345b908ffe5aadc.png',
  );
  // DSB 2018 single-nucleus masks are 0/255 images: released, they would teach nothing.
  const m = await standardizeImageSet([mask]);
  assert.equal(m.qc.verdict, 'binary', m.qc.reason);
  assert.match(m.qc.reason, /exactly two distinct values/);
  // A nucleus smaller than 0.1 % of the image leaves hi = lo = 0: uniform, not NaN.
  const tiny = await standardizeImageSet([
    sharedPath(
      'images/dsb2018_bbbc038/stage1_train/00071198d059ba7f5914a526d124d28e6d010c92466da21d4a04cd5413362552/masks/4afa39f2a05f9884a5ff030d678c6142379f99a5baaf4f1ba7835a639cb50751.png',
    ),
  ]);
  assert.equal(tiny.qc.verdict, 'uniform');
  assert.ok(tiny.merged!.every((v) => v === 0));
  await withTempDir(async (dir) => {
    const flat = join(dir, 'flat.png');
    await writeFile(
      flat,
      await sharp(Buffer.alloc(64 * 64, 9), { raw: { width: 64, height: 64, channels: 1 } })
        .png()
        .toBuffer(),
    );
    const u = await standardizeImageSet([flat]);
    assert.deepEqual([u.qc.verdict, u.qc.file], ['uniform', flat]);
    const half = join(dir, 'half.png');
    const px = Buffer.alloc(64 * 64);
    px.fill(200, 0, 2048);
    await writeFile(
      half,
      await sharp(px, { raw: { width: 64, height: 64, channels: 1 } })
        .png()
        .toBuffer(),
    );
    assert.equal((await standardizeImageSet([half])).qc.verdict, 'binary');
    const junk = join(dir, 'junk.tif');
    await writeFile(junk, 'not a tiff');
    const bad = await standardizeImageSet([BBBC022, junk]);
    assert.deepEqual([bad.qc.verdict, bad.qc.file, bad.merged], ['unreadable', junk, null]);
    assert.match(bad.qc.reason, /not-an-image/);
    const mismatch = await standardizeImageSet([BBBC022, HUMAN[0]]);
    assert.deepEqual([mismatch.qc.verdict, mismatch.qc.file], ['unreadable', HUMAN[0]]);
    assert.match(mismatch.qc.reason, /512×512 but .* is 696×520/);
  });
});

test('crops of a real image: planned per label size, QC-filtered, re-normalised, and a pure function of the seed', async () => {
  const set = await standardizeImageSet([BBBC022]);
  const run = (seed: number) =>
    cropsForImage(set.merged!, set.width, set.height, {
      labelSize: 300,
      cap: 1000,
      rng: Rng.derive(seed, 'BBBC022/A01_s2'),
    });
  const a = run(7);
  assert.equal(a.planned.length, 4);
  assert.equal(a.kept.length + a.rejected.length, 4);
  assert.ok(a.kept.length > 0);
  for (const c of a.kept) {
    assert.equal(c.output.length, c.width * c.height);
    assert.equal(Math.min(...c.output), 0); // normalised again: its own 0.1th percentile maps to 0
    assert.equal(Math.max(...c.output), 255);
  }
  const b = run(7);
  assert.deepEqual(
    a.kept.map((c) => c.window),
    b.kept.map((c) => c.window),
  );
  assert.deepEqual(
    a.kept.map((c) => [...c.output]),
    b.kept.map((c) => [...c.output]),
  );
  const pngA = await Promise.all(a.kept.map((c) => encodePng(c.output, c.width, c.height)));
  const pngB = await Promise.all(b.kept.map((c) => encodePng(c.output, c.width, c.height)));
  assert.ok(
    pngA.every((p, i) => p.equals(pngB[i])),
    'same seed, same bytes',
  );
  const others = [8, 9, 10].map((s) => JSON.stringify(run(s).planned));
  assert.ok(others.some((o) => o !== JSON.stringify(a.planned)));
  assert.equal(
    cropsForImage(set.merged!, set.width, set.height, { labelSize: 1000, rng: Rng.derive(1, 'x') }).planned.length,
    1,
  );
});

test('no surviving crop keeps the original; images under 140 px are not cropped', async () => {
  const w = 300,
    h = 300;
  const dark = new Float64Array(w * h);
  dark[0] = 1; // one bright pixel: every crop has mean ≤ 1 on 0–255
  const r = cropsForImage(dark, w, h, { labelSize: 10, rng: Rng.fromSeed(1) });
  assert.equal(r.planned.length, 4);
  assert.equal(r.kept.length, 0);
  assert.equal(r.keptOriginal, true);
  const small = await standardizeImageSet([
    sharedPath('images/yeast_chong_wt2_crops/yeast_model/toy_dataset/images/AAC1/AAC1_1_rfp_10_gfp.tif'),
  ]);
  const s = cropsForImage(small.merged!, small.width, small.height, { labelSize: 10, rng: Rng.fromSeed(1) });
  assert.deepEqual([s.planned.length, s.keptOriginal], [0, true]);
});

test('PNG encoding is exact and deterministic: decoding the PNG gives back the output pixels', async () => {
  const set = await standardizeImageSet(SPECKLES);
  const p1 = await encodePng(set.output!, set.width, set.height);
  const p2 = await encodePng(set.merged!, set.width, set.height); // floats quantise the same way
  assert.ok(p1.equals(p2));
  const back = await decodeBuffer(p1, { name: 'out.png' });
  assert.deepEqual([back.channels, back.bitDepth], [1, 8]);
  assert.deepEqual(back.data, set.output);
  const fast = await encodePng(set.output!, set.width, set.height, { compression: 1 });
  assert.deepEqual((await decodeBuffer(fast)).data, set.output);
  const sixteen = await standardizeImageSet(SPECKLES, { bitDepth: 16 });
  const b16 = await decodeBuffer(await encodePng(sixteen.output!, set.width, set.height));
  assert.deepEqual([b16.bitDepth, b16.data], [16, sixteen.output]);
});

test('channels of different depths and kinds (16-bit gray, 8-bit RGB) merge by the same rule', async () => {
  await withTempDir(async (dir) => {
    const w = 50,
      h = 40;
    const g16 = new Uint16Array(w * h).map((_, i) => 1000 + ((i * 7919) % 3000));
    const rgb = Buffer.alloc(w * h * 3).map((_, i) => (i * 31) % 256);
    const a = join(dir, 'a.png');
    const b = join(dir, 'b.png');
    await writeFile(
      a,
      await sharp(g16, { raw: { width: w, height: h, channels: 1 } })
        .toColourspace('grey16')
        .png()
        .toBuffer(),
    );
    await writeFile(
      b,
      await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
        .png()
        .toBuffer(),
    );
    const set = await standardizeImageSet([a, b]);
    assert.equal(set.qc.verdict, 'ok');
    const parts = await Promise.all([a, b].map(async (f) => normalize(toGray(await decodeImage(f)))));
    assert.deepEqual(set.merged, mergeChannels(parts));
    assert.deepEqual(set.output, quantize(set.merged!, 8));
    const folder = await standardizeImageSet([dir]);
    assert.equal(folder.qc.verdict, 'unreadable');
    assert.match(folder.qc.reason, /is a folder/);
  });
});

test('standardizeMany (pipelined) yields, in order, exactly what one standardise + encode per set gives', async () => {
  await withTempDir(async (dir) => {
    const text = join(dir, 'not-an-image.png');
    await writeFile(text, 'hello');
    const sets = [HUMAN, SPECKLES, [text], [BBBC022], HUMAN.slice(0, 2)];
    const got = [];
    for await (const r of standardizeMany(sets)) got.push(r);
    assert.deepEqual(
      got.map((r) => r.index),
      [0, 1, 2, 3, 4],
    );
    for (const [i, files] of sets.entries()) {
      const one = await standardizeImageSet(files);
      assert.equal(got[i].set.qc.verdict, one.qc.verdict, `set ${i}`);
      assert.deepEqual(got[i].set.output, one.output, `set ${i}`);
      const png = one.output === null ? null : await encodePng(one.output, one.width, one.height);
      assert.deepEqual(got[i].png, png, `set ${i} PNG bytes`);
    }
    assert.equal(got[2].png, null, 'an unreadable set has no PNG');
  });
});
