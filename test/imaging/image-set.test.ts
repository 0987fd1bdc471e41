// The per-image executor's fused path must give exactly the reference path's pixels, verdicts and
// crops, and both must apply the same QC rules, including one added by a caller.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  type ImageSetOptions,
  type ImageSetResult,
  processImageSet,
  referenceImageSet,
} from '../../src/imaging/image-set.js';
import { selectionSplits, windowPercentiles } from '../../src/imaging/crop-kernel.js';
import { percentilesOfFloats } from '../../src/imaging/percentile.js';
import { memoryRows } from '../../src/imaging/row-source.js';
import { CROP_RULES, type CropRule, QC_RULES, WHOLE_IMAGE_RULES, type WholeImageRule } from '../../src/imaging/qc.js';
import { spillReads } from '../../src/imaging/spill-rows.js';
import { Rng } from '../../src/util/rng.js';
import { sharedPath } from '../helpers/data.js';

/** A real small RGB PNG: one cell of the NIH malaria set. */
const MALARIA_CELL = sharedPath(
  'images',
  'malaria_nih_cells',
  'test_images',
  'infected',
  'C33P1thinF_IMG_20150619_114756a_cell_179.png',
);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-fast-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function gray16(
  name: string,
  w: number,
  h: number,
  f: (x: number, y: number, rng: Rng) => number,
): Promise<string> {
  const rng = Rng.derive(0, name);
  const px = new Uint16Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[y * w + x] = f(x, y, rng);
  const p = join(dir, `${name}.tif`);
  await sharp(px, { raw: { width: w, height: h, channels: 1 } })
    .toColourspace('grey16')
    .tiff({ compression: 'none' })
    .toFile(p);
  return p;
}

function same(fast: ImageSetResult, lib: ImageSetResult, what: string): void {
  assert.equal(lib.path, 'library');
  assert.deepEqual(fast.qc, lib.qc, `${what}: verdict`);
  assert.equal(fast.width, lib.width);
  assert.equal(fast.cropsPlanned, lib.cropsPlanned, `${what}: crops planned`);
  assert.equal(fast.cropsRejected, lib.cropsRejected, `${what}: crops rejected`);
  assert.deepEqual(
    fast.whole === null ? null : Buffer.from(fast.whole),
    lib.whole === null ? null : Buffer.from(lib.whole),
    `${what}: whole image`,
  );
  assert.equal(fast.crops.length, lib.crops.length, `${what}: crops kept`);
  fast.crops.forEach((c, i) => {
    assert.deepEqual(c.window, lib.crops[i].window, `${what}: window ${i}`);
    assert.deepEqual(Buffer.from(c.output), Buffer.from(lib.crops[i].output), `${what}: crop ${i} pixels`);
  });
}

async function check(
  what: string,
  files: string[],
  labelSizes: number[] = [1000, 600, 450, 100],
  expectFast = true,
  rules = QC_RULES,
): Promise<ImageSetResult[]> {
  const out: ImageSetResult[] = [];
  for (const labelSize of labelSizes) {
    const opts = (): ImageSetOptions => ({ labelSize, cap: 1000, rng: Rng.derive(0, what, labelSize), rules });
    const fast = await processImageSet(files, opts());
    const lib = await referenceImageSet(files, opts());
    assert.equal(fast.path, expectFast ? 'fast' : 'library', what);
    same(fast, lib, `${what} (label size ${labelSize})`);
    // The strip path, forced with a tiny band budget: bands of a few rows, crop windows spanning
    // many of them, selection pools small enough to be split.
    const strips = await processImageSet(files, { ...opts(), ...TINY_STRIPS });
    assert.equal(strips.path, expectFast ? 'strips' : 'library', `${what}: strip path`);
    same(strips, lib, `${what} (label size ${labelSize}, read in bands)`);
    out.push(fast);
  }
  return out;
}

/** Every set through the strip path, in bands of 4 KiB per file. */
const TINY_STRIPS = { stripPixels: 0, stripBytes: 4096 };

test('real images: 16-bit BBBC022 and CellProfiler, 8-bit gray, RGB JPEG, RGBA PNG, a 3-channel set — identical to the library', async () => {
  const b22 = sharedPath(
    'images',
    'bbbc022',
    'BBBC022_v1_images_20585w1',
    'IXMtest_A01_s2_w1AA6B1894-F561-42EE-9D1D-E21E5C741B75.tif',
  );
  const r = await check('bbbc022 16-bit', [b22]);
  assert.deepEqual(
    r.map((x) => x.cropsPlanned),
    [1, 2, 3, 4],
  );
  await check(
    'speckles 16-bit',
    [sharedPath('images', 'cellprofiler_examples', 'ExampleSpeckles', 'images', '1-162hrhoe2.tif')],
    [450],
  );
  await check('bccd rgb jpeg', [sharedPath('images', 'bccd', 'BCCD', 'JPEGImages', 'BloodImage_00005.jpg')], [600]);
  await check('malaria rgb png', [MALARIA_CELL], [100]);
  await check(
    'dsb rgba png',
    [
      sharedPath(
        'images',
        'dsb2018_bbbc038',
        'stage1_train',
        '003cee89357d9fe13516167fd67b609a164651b21934585648c740d2c3d86dc1',
        'images',
        '003cee89357d9fe13516167fd67b609a164651b21934585648c740d2c3d86dc1.png',
      ),
    ],
    [1000],
  );
  const human = ['d0', 'd1', 'd2'].map((d) =>
    sharedPath('images', 'cellprofiler_examples', 'ExampleHuman', 'images', `AS_09125_050116030001_D03f00${d}.tif`),
  );
  await check('ExampleHuman 3 channels', human, [1000, 100]);
});

test('QC edge cases decided the same way: uniform, binary mask, dim, too small, crops that all fail', async () => {
  const noise = (_x: number, _y: number, r: Rng): number => 500 + r.int(0, 3000);
  const uniform = await gray16('uniform', 200, 200, () => 1234);
  const [u] = await check('uniform', [uniform, await gray16('noise-a', 200, 200, noise)], [1000]);
  assert.equal(u.qc.verdict, 'uniform');
  assert.match(u.qc.file ?? '', /uniform\.tif$/);
  assert.match(u.qc.reason, /uniform image/);
  const [b] = await check(
    'binary',
    [await gray16('binary', 200, 200, (x, y) => (((x >> 3) + (y >> 3)) % 2 ? 4000 : 100))],
    [1000],
  );
  assert.equal(b.qc.verdict, 'binary');
  const [d] = await check(
    'dim',
    [await gray16('dim', 200, 200, (x, y, r) => (x < 30 && y < 30 ? 1000 + r.int(0, 5000) : 0))],
    [1000],
  );
  assert.equal(d.qc.verdict, 'dim');
  const [s] = await check('small', [await gray16('small', 120, 90, noise)], [100]);
  assert.ok(s.whole !== null && s.crops.length === 0);
  // Bright top-left quadrant, near-black elsewhere: crops there fail QC; with one crop the whole image may be kept.
  const corner = await gray16('corner', 200, 200, (x, y, r) =>
    x < 100 && y < 100 ? 100 + r.int(0, 900) : r.int(0, 2),
  );
  const results = await check('corner', [corner], [1000, 999, 100]);
  assert.ok(
    results.some((x) => x.cropsRejected > 0),
    'some crops fail QC',
  );
  const single: ImageSetResult[] = [];
  for (let seed = 0; seed < 6; seed++) single.push(...(await check(`corner-${seed}`, [corner], [1000])));
  assert.ok(
    single.some((x) => x.whole !== null && x.cropsRejected === 1),
    'the whole image is kept when its only crop fails',
  );
});

test('float images take the library path', async () => {
  const yeast = sharedPath(
    'images',
    'yeast_chong_wt2_crops',
    'yeast_model',
    'toy_dataset',
    'images',
    'AAC1',
    'AAC1_1_rfp_10_gfp.tif',
  );
  await check('float yeast', [yeast], [1000], false);
});

test('a QC rule added to the lists is applied by both paths, whole-image and crop', async () => {
  // Whole image: reject when the top-left pixel of the merged image is brighter than the middle.
  const corner: WholeImageRule = {
    kind: 'bright-corner',
    reason: 'bright-corner',
    check: (f) => (f.merged()[0] > 0.5 ? 'the top-left pixel is bright' : null),
  };
  const rules = { whole: [...WHOLE_IMAGE_RULES, corner], crop: CROP_RULES };
  const noise = (x: number, y: number, r: Rng): number => (x === 0 && y === 0 ? 4000 : 500 + r.int(0, 3000));
  const bright = await gray16('bright-corner', 200, 200, noise);
  const [plain] = await check('bright corner, default rules', [bright], [1000]);
  assert.equal(plain.qc.verdict, 'ok');
  const [added] = await check('bright corner, added rule', [bright], [1000], true, rules);
  assert.deepEqual(
    [added.qc.verdict, added.qc.reject, added.qc.reason],
    ['bright-corner', 'bright-corner', 'the top-left pixel is bright'],
  );
  assert.deepEqual([added.crops.length, added.whole], [0, null]);
  const dark = await gray16('dark-corner', 200, 200, (x, y, r) => (x === 0 && y === 0 ? 0 : 500 + r.int(0, 3000)));
  const [passes] = await check('dark corner, added rule', [dark], [1000], true, rules);
  assert.equal(passes.qc.verdict, 'ok');

  // Crops: reject crops whose mean is above 100 of 255; both paths reject the same windows.
  const busy: CropRule = { kind: 'busy', reason: 'busy', check: (c) => (c.mean > 100 ? 'busy' : null) };
  const cropRules = { whole: WHOLE_IMAGE_RULES, crop: [...CROP_RULES, busy] };
  const half = await gray16('half', 256, 256, (x, _y, r) => (x < 128 ? 3000 + r.int(0, 1000) : r.int(0, 1000)));
  const before = await check('half, default rules', [half], [100]);
  const after = await check('half, added crop rule', [half], [100], true, cropRules);
  assert.equal(before[0].cropsRejected, 0);
  assert.ok(
    after[0].cropsRejected > 0 && after[0].cropsRejected < after[0].cropsPlanned,
    'the added rule rejects some crops',
  );
});

test('the strip path: a set read in bands from spill files gives the same bytes, reads only a band at a time, and leaves no files', async () => {
  // A dark and a bright plateau of a few codes each under most of each image: merged, each takes a
  // handful of distinct values inside one of the selection's bins, where a crop's 0.1th and 99.9th
  // percentiles fall, so those pools must be split (into finer bins, then into ties).
  const crowded = (x: number, y: number, r: Rng): number => {
    const t = ((x >> 3) + (y >> 3)) % 10;
    return t < 4 ? 100 + r.int(0, 3) : t < 7 ? 60000 + r.int(0, 3) : 1000 + r.int(0, 50000);
  };
  const files = [
    await gray16('crowded-a', 300, 280, crowded),
    await gray16('crowded-b', 300, 280, crowded),
    await gray16('crowded-c', 300, 280, crowded),
  ];
  const before = { ...selectionSplits };
  spillReads.maxBytes = 0;
  spillReads.maxRows = 0;
  await check('crowded 3 channels', files, [1000, 600, 450, 100]);
  await check('crowded 1 channel', files.slice(0, 1), [1000, 100]);
  assert.ok(
    selectionSplits.split - selectionSplits.tied > before.split - before.tied,
    'a selection pool was split into finer bins',
  );
  // 4 KiB per file and band: 300 columns of 16-bit codes are 6 rows
  assert.ok(spillReads.maxBytes > 0 && spillReads.maxBytes <= TINY_STRIPS.stripBytes, `read ${spillReads.maxBytes} B`);
  assert.equal(spillReads.maxRows, 6);

  // --keep-channels: the same planes from bands as from memory, for crops and for a whole image
  for (const labelSize of [1000, 100]) {
    const opts = { labelSize, cap: 1000, rng: Rng.derive(0, 'channels', labelSize), keepChannels: true };
    const mem = await processImageSet(files, opts);
    const strips = await processImageSet(files, { ...opts, rng: Rng.derive(0, 'channels', labelSize), ...TINY_STRIPS });
    assert.equal(strips.path, 'strips');
    assert.ok(mem.channels !== undefined && mem.channels.length > 0);
    assert.deepEqual(
      strips.channels?.map((planes) => planes.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))),
      mem.channels.map((planes) => planes.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))),
    );
  }
  const small = await gray16('small-channels', 120, 90, (_x, _y, r) => 500 + r.int(0, 3000));
  const opts = { labelSize: 100, cap: 1000, rng: Rng.derive(0, 'small'), keepChannels: true };
  const [mem, strips] = [
    await processImageSet([small], opts),
    await processImageSet([small], { ...opts, ...TINY_STRIPS }),
  ];
  assert.ok(strips.whole !== null && strips.path === 'strips');
  assert.deepEqual(strips.channels, mem.channels);

  // A file the strip path cannot stream is decoded in memory, and says what is wrong with it.
  const png = await readFile(MALARIA_CELL);
  const cut = join(dir, 'cut.png');
  await writeFile(cut, png.subarray(0, Math.floor(png.length * 0.6)));
  const bad = await processImageSet([cut], { labelSize: 100, cap: 1000, rng: Rng.derive(0, 'cut'), ...TINY_STRIPS });
  const ref = await referenceImageSet([cut], { labelSize: 100, cap: 1000, rng: Rng.derive(0, 'cut') });
  assert.equal(bad.qc.verdict, 'unreadable');
  assert.deepEqual(bad.qc, ref.qc);

  // Spill files are unlinked once open: none is left in the temp folder.
  const left = (await readdir(tmpdir())).filter((f) => f.startsWith(`cytoimagenet-spill-${process.pid}-`));
  assert.deepEqual(left, []);
});

test('crop percentiles read in bands with tiny pools are the exact order statistics, however crowded the values', () => {
  const rng = Rng.derive(0, 'crowded-percentiles');
  const w = 61;
  const h = 47;
  const grays = [0, 1, 2].map(() => ({
    width: w,
    height: h,
    data: Uint16Array.from({ length: w * h }, () => rng.int(0, 65535)),
    divisor: 1,
    integer: true,
    maxCode: 65535,
  }));
  const lut = (f: (code: number) => number): Float64Array => Float64Array.from({ length: 65536 }, (_, c) => f(c));
  const tables: Record<string, (code: number) => number> = {
    'few values, many ties': (c) => Math.floor(c / 8000) / 9,
    'within 2^-24 of each other': (c) => 0.5 + c * 2 ** -40,
    'an ulp apart': (c) => 0.5 + (c % 3) * 2 ** -53,
    'spread out': (c) => c / 65535,
    'at 0 and 1': (c) => (c < 30000 ? 0 : c > 35000 ? 1 : (c - 30000) / 5000),
  };
  const qs = [0, 0.1, 50, 99.9, 100];
  const wins = [
    { x_min: 0, x_max: w, y_min: 0, y_max: h },
    { x_min: 3, x_max: 40, y_min: 5, y_max: 44 },
    { x_min: 30, x_max: 31, y_min: 0, y_max: h },
  ].map((x) => ({ ...x, scale: 1, quadrant: 0 }));
  const banded = { ...memoryRows(grays), bandRows: 4, maxValues: 64 };
  for (const [what, f] of Object.entries(tables)) {
    for (const k of [1, 3]) {
      const luts = [lut(f), lut((c) => f(65535 - c)), lut((c) => f((c * 7) % 65536))].slice(0, k);
      for (const win of wins) {
        const values: number[] = [];
        for (let y = win.y_min; y < win.y_max; y++)
          for (let x = win.x_min; x < win.x_max; x++) {
            const i = y * w + x;
            values.push(
              k === 1
                ? luts[0][grays[0].data[i]]
                : (luts[0][grays[0].data[i]] + luts[1][grays[1].data[i]] + luts[2][grays[2].data[i]]) / 3,
            );
          }
        const want = percentilesOfFloats(values, qs);
        assert.deepEqual(windowPercentiles(banded, luts, win, qs), want, `${what}, ${k} channel(s), in bands`);
        assert.deepEqual(windowPercentiles(memoryRows(grays.slice(0, k)), luts, win, qs), want, `${what}, in memory`);
      }
    }
  }
});
