import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reflectIndex, rotateReflect } from '../../src/train/rotate.js';
import { rotationAngle } from '../../src/train/pipeline.js';

// 5 rows × 4 columns, and scipy.ndimage.affine_transform(order=1, mode="reflect") outputs for the
// matrix Keras's apply_affine_transform builds (computed with scipy 1.17 / numpy).
const SRC = [0, 13, 26, 10, 23, 7, 20, 4, 17, 1, 14, 27, 11, 24, 8, 21, 5, 18, 2, 15];
const KERAS: Record<string, number[]> = {
  '30': [
    22.892305, 11.777482, 12.056339, 23.387495, 17.696152, 11.624356, 13.325318, 18.911543, 13.655531, 7.135177,
    14.629165, 11.508417, 16.416352, 14.232051, 15.933013, 26.303848, 14.78461, 2.97853, 17.23686, 21.107695,
  ],
  '137.5': [
    13.924231, 12.852859, 10.179443, 14.232984, 4.610811, 20.46079, 12.59087, 18.656648, 15.796596, 11.552355, 4.734468,
    16.539767, 25.343352, 17.166986, 17.940805, 12.409741, 16.393105, 4.820557, 17.153431, 22.688437,
  ],
  '-250': [
    6.737385, 10.07668, 15.714836, 21.352992, 18.317244, 17.645953, 11.5382, 20.783204, 5.712159, 11.386719, 8.095947,
    9.510962, 19.980284, 21.172178, 16.038176, 23.555966, 22.647008, 22.073539, 4.92332, 12.13832,
  ],
};

test('rotation equals Keras ImageDataGenerator (scipy affine_transform, bilinear, reflect) on a non-square image', () => {
  for (const [deg, want] of Object.entries(KERAS)) {
    const got = rotateReflect(SRC, 4, 5, Number(deg));
    for (let i = 0; i < want.length; i++)
      assert.ok(Math.abs(got[i] - want[i]) < 1e-4, `${deg}°, pixel ${i}: ${got[i]} vs ${want[i]}`);
  }
});

test('0° and 360° leave the image unchanged; 90° and 180° move pixels exactly on a square image', () => {
  const n = 6;
  const img = Float32Array.from({ length: n * n }, (_, i) => (i * 37) % 101);
  for (const d of [0, 360]) {
    const r = rotateReflect(img, n, n, d);
    for (let i = 0; i < img.length; i++) assert.ok(Math.abs(r[i] - img[i]) < 1e-9);
  }
  const r180 = rotateReflect(img, n, n, 180);
  const r90 = rotateReflect(img, n, n, 90);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      assert.ok(Math.abs(r180[y * n + x] - img[(n - 1 - y) * n + (n - 1 - x)]) < 1e-9);
      // Keras's 90°: output (r, c) reads input (cr − (c − cc), cc + (r − cr)) = (n−1−c, r)
      assert.ok(Math.abs(r90[y * n + x] - img[(n - 1 - x) * n + y]) < 1e-9);
    }
  }
});

test('reflected borders: a rotated flat image has no black corners, and reflection repeats the edge pixel', () => {
  const flat = new Float32Array(64 * 64).fill(200);
  const r = rotateReflect(flat, 64, 64, 45);
  assert.ok(r.every((v) => Math.abs(v - 200) < 1e-9));
  // d c b a | a b c d | d c b a
  assert.deepEqual(
    [-4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7].map((i) => reflectIndex(i, 4)),
    [3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0],
  );
  assert.equal(reflectIndex(-17, 1), 0);
});

test('rotation angles are seeded per (seed, epoch, image), cover 0–360° and change between epochs', () => {
  assert.equal(rotationAngle(3, 1, 'a/b.png'), rotationAngle(3, 1, 'a/b.png'));
  assert.notEqual(rotationAngle(3, 1, 'a/b.png'), rotationAngle(3, 2, 'a/b.png'));
  const angles = Array.from({ length: 2000 }, (_, i) => rotationAngle(0, 0, `img${i}`));
  assert.ok(angles.every((a) => a >= 0 && a < 360));
  const quarters = [0, 0, 0, 0];
  for (const a of angles) quarters[Math.floor(a / 90)]++;
  assert.ok(
    quarters.every((q) => q > 400),
    `uneven angles: ${quarters.join(', ')}`,
  );
});
