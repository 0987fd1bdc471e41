import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { sharedPath } from '../helpers/data.js';
import { loadBatch, loadPlane, prefetch } from '../../src/train/pipeline.js';
import { isUserError } from '../../src/util/errors.js';

const PNG16 = 'images/cellprofiler_examples/ExampleColocalization/images/0_1_N_G.png'; // 16-bit, 23808–65535
const RGBA_GRAY =
  'images/dsb2018_bbbc038/stage1_train/003cee89357d9fe13516167fd67b609a164651b21934585648c740d2c3d86dc1/images/003cee89357d9fe13516167fd67b609a164651b21934585648c740d2c3d86dc1.png';
const RGB = 'images/malaria_nih_cells/test_images/infected/C37BP2_thinF_IMG_20150620_132847a_cell_76.png';

test('a 16-bit PNG is scaled to 0–255 (not clipped, not left at 16 bits)', async () => {
  const p = await loadPlane(sharedPath(PNG16), 32);
  const max = Math.max(...p);
  const min = Math.min(...p);
  assert.ok(max <= 255 && max > 23808 / 257, `max ${max}`);
  assert.ok(min >= 23808 / 257 - 1, `min ${min}`);
});

test('colour PNGs become the unweighted mean of R, G, B (alpha ignored), resized to size×size', async () => {
  const gray = await loadPlane(sharedPath(RGBA_GRAY), 256); // 256×256 source: no resampling
  const { data } = await sharp(sharedPath(RGBA_GRAY)).raw().toBuffer({ resolveWithObject: true });
  for (let p = 0; p < 256 * 256; p += 997) assert.equal(gray[p], data[p * 4]); // R = G = B
  const rgb = await loadPlane(sharedPath(RGB), 48);
  assert.equal(rgb.length, 48 * 48);
  const src = await sharp(sharedPath(RGB))
    .resize(48, 48, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const c = src.info.channels;
  for (let p = 0; p < 48 * 48; p += 101) {
    assert.ok(Math.abs(rgb[p] - (src.data[p * c] + src.data[p * c + 1] + src.data[p * c + 2]) / 3) < 1e-4);
  }
});

test('a batch is NHWC float32 with 3 identical channels, labels in order; an unreadable file names itself', async () => {
  const items = [
    { key: 'a', file: sharedPath(RGB), label: 'x', classIndex: 2 },
    { key: 'b', file: sharedPath(RGBA_GRAY), label: 'y', classIndex: 0 },
  ];
  const b = await loadBatch(items, { size: 40, angles: [90, 0] });
  assert.equal(b.x.length, 2 * 40 * 40 * 3);
  assert.deepEqual([...b.labels], [2, 0]);
  for (let i = 0; i < b.x.length; i += 3) assert.ok(b.x[i] === b.x[i + 1] && b.x[i] === b.x[i + 2]);
  // The second image is not rotated: it equals its plain plane.
  const plain = await loadPlane(sharedPath(RGBA_GRAY), 40);
  for (let p = 0; p < 1600; p++) assert.equal(b.x[(1600 + p) * 3], plain[p]);
  await assert.rejects(
    loadBatch([{ key: 'z', file: '/nonexistent/z.png', label: 'z', classIndex: 0 }], { size: 8 }),
    (e) => isUserError(e) && e.location.file === '/nonexistent/z.png',
  );
});

test('prefetch yields batches in order and starts loading the next one before the current is consumed', async () => {
  const events: string[] = [];
  const got: number[] = [];
  for await (const v of prefetch(4, 1, async (i) => {
    events.push(`start ${i}`);
    await new Promise((r) => setTimeout(r, 5));
    return i;
  })) {
    events.push(`use ${v}`);
    got.push(v);
  }
  assert.deepEqual(got, [0, 1, 2, 3]);
  assert.ok(events.indexOf('start 1') < events.indexOf('use 0'));
  assert.ok(events.indexOf('start 2') < events.indexOf('use 1'));
});
