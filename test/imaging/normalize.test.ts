import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  normalize,
  normalizeValues,
  normalizationLut,
  mergeChannels,
  quantize,
  ImageError,
  type GrayImage,
} from '../../src/imaging/index.js';
import { roundHalfUp } from '../../src/imaging/encode.js';
import { Rng } from '../../src/util/rng.js';

function gray8(values: number[]): GrayImage {
  return { width: values.length, height: 1, data: Uint8Array.from(values), divisor: 1, integer: true, maxCode: 255 };
}

test('normalisation is clip((x − lo)/(hi − lo), 0, 1) with numpy-exact lo and hi', () => {
  const n = normalize(gray8([0, 50, 100, 150, 200, 250]));
  assert.equal(n.lo, 0.25);
  assert.equal(n.hi, 249.75000000000006);
  assert.equal(n.uniform, false);
  // numpy: np.clip((a - lo)/(hi - lo), 0, 1)
  assert.deepEqual(
    [...n.data],
    [0, 0.19939879759519033, 0.3997995991983967, 0.6002004008016031, 0.8006012024048095, 1],
  );
});

test('a constant image is uniform: all zeros, never NaN', () => {
  for (const img of [
    gray8([7, 7, 7, 7]),
    gray8([0, 0]),
    { ...gray8([0]), data: Float32Array.from([3.5]), integer: false, maxCode: NaN },
  ]) {
    const n = normalize(img);
    assert.equal(n.uniform, true);
    assert.equal(n.lo, n.hi);
    assert.ok([...n.data].every((v) => v === 0));
  }
});

test('a two-pixel image normalises to exactly 0 and 1', () => {
  const n = normalize({
    width: 2,
    height: 1,
    data: Uint16Array.from([1000, 3000]),
    divisor: 1,
    integer: true,
    maxCode: 65535,
  });
  assert.deepEqual([...n.data], [0, 1]);
});

test('float images normalise the same way (selection path)', () => {
  const n = normalizeValues(Float64Array.from([0.5, 0.25, 1.0, 0.75]), 2, 2);
  assert.equal(n.lo, 0.25075);
  assert.equal(n.hi, 0.9992500000000001);
  const expect = [0.5, 0.25, 1.0, 0.75].map((x) =>
    Math.min(1, Math.max(0, (x - 0.25075) / (0.9992500000000001 - 0.25075))),
  );
  assert.deepEqual([...n.data], expect);
});

test('16-bit data keeps its full depth: a 12-bit-in-16 ramp spreads over all 256 output levels', () => {
  // The original read 16-bit files as 8-bit (value >> 8), leaving ~16 gray levels for 12-bit data.
  const values = Array.from({ length: 4096 }, (_, i) => i);
  const n = normalize({
    width: 64,
    height: 64,
    data: Uint16Array.from(values),
    divisor: 1,
    integer: true,
    maxCode: 65535,
  });
  assert.equal(new Set(quantize(n.data, 8)).size, 256);
});

test('merge averages the normalised channels; ×255 rounds half up', () => {
  const a = normalizeValues(Float64Array.from([0, 1, 0, 1]), 2, 2);
  const b = normalizeValues(Float64Array.from([0, 0, 1, 1]), 2, 2);
  const m = mergeChannels([a, b]);
  assert.deepEqual([...m], [0, 0.5, 0.5, 1]);
  assert.deepEqual([...quantize(m, 8)], [0, 128, 128, 255]); // 127.5 → 128
  assert.deepEqual([...quantize(m, 16)], [0, 32768, 32768, 65535]);
  const c = normalizeValues(Float64Array.from([0, 1]), 2, 1);
  assert.throws(
    () => mergeChannels([a, c], ['a.tif', 'c.tif']),
    (e: unknown) => e instanceof ImageError && e.location.file === 'c.tif',
  );
});

test('output rounding is Math.round (ties up), exactly, on ties, near-ties and random values', () => {
  const tricky = [
    0, 0.5, 1.5, 2.5, 126.5, 127.5, 254.5, 0.49999999999999994, 1.4999999999999998, 254.49999999999997, 255, 65534.5,
    65535,
  ];
  for (const y of tricky) assert.equal(roundHalfUp(y), Math.round(y), String(y));
  const rng = Rng.fromSeed('round');
  for (let i = 0; i < 100_000; i++) {
    const y = rng.float() * 255;
    assert.equal(roundHalfUp(y), Math.round(y));
  }
  const ties = Float64Array.from([0.5 / 255, 1.5 / 255, 2.5 / 255, 0.5]);
  assert.deepEqual(
    [...quantize(ties, 8)],
    [...ties].map((v) => Math.round(v * 255)),
  );
});

test('the lookup table equals the formula for every code, including bounds at and beyond the ends', () => {
  const cases: Array<[number, number, number, number]> = [
    [255, 1, 0.25, 249.75000000000006],
    [65535, 1, 670, 2026],
    [765, 3, 0.007, 253.96366666666674],
    [65535, 1, 0, 65535],
    [255, 1, 254.5, 255],
    [255, 1, 0, 0.5],
    [196605, 3, 100.3, 60000.7],
    [255, 1, -5, 300],
  ];
  for (const [maxCode, div, lo, hi] of cases) {
    const lut = normalizationLut(maxCode, div, lo, hi);
    for (let c = 0; c <= maxCode; c++) {
      const v = (div === 1 ? c : c / div) - lo;
      const expect = Math.min(1, Math.max(0, v / (hi - lo)));
      if (lut[c] !== (v > 0 ? (v < hi - lo ? v / (hi - lo) : 1) : 0) || Math.abs(lut[c] - expect) > 1e-15) {
        assert.fail(`code ${c} of ${JSON.stringify([maxCode, div, lo, hi])}: ${lut[c]}`);
      }
    }
  }
});
