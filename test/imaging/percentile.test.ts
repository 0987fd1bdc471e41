// Expected values are numpy 2.4's np.percentile(a, q) (default 'linear' method), written out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import {
  imagePercentiles,
  percentile,
  percentilesOfFloats,
  toGray,
  lerp,
  type DecodedImage,
  type GrayImage,
} from '../../src/imaging/index.js';

function gray16(values: number[]): GrayImage {
  return { width: values.length, height: 1, data: Uint16Array.from(values), divisor: 1, integer: true, maxCode: 65535 };
}
function gray8(values: number[]): GrayImage {
  return { width: values.length, height: 1, data: Uint8Array.from(values), divisor: 1, integer: true, maxCode: 255 };
}
function grayF(values: number[]): GrayImage {
  return { width: values.length, height: 1, data: Float32Array.from(values), divisor: 1, integer: false, maxCode: NaN };
}

test('two-pixel image: 0.1th and 99.9th percentiles interpolate between the two values', () => {
  assert.deepEqual(imagePercentiles(gray16([10, 20]), [0.1, 99.9]), [10.01, 19.990000000000002]);
  assert.deepEqual(imagePercentiles(gray16([20, 10]), [0.1, 99.9]), [10.01, 19.990000000000002]);
  assert.deepEqual(imagePercentiles(grayF([20, 10]), [0.1, 99.9]), [10.01, 19.990000000000002]);
});

test('ties: equal order statistics give the tied value; interpolation only across a step', () => {
  assert.deepEqual(imagePercentiles(gray8([5, 7, 5, 5, 5]), [0.1, 99.9]), [5, 6.992000000000001]);
  assert.deepEqual(imagePercentiles(gray8([5, 5, 5, 5, 5, 5]), [0.1, 50, 99.9]), [5, 5, 5]);
});

test('the median and quartiles of 1..4 (rank = q/100·(n−1))', () => {
  assert.deepEqual(imagePercentiles(gray16([4, 1, 3, 2]), [0, 50, 75, 100]), [1, 2.5, 3.25, 4]);
  assert.equal(percentile([4, 1, 3, 2], 50), 2.5);
});

test('a 1000-pixel ramp 0..999 (uint16) through the histogram path', () => {
  const ramp = Array.from({ length: 1000 }, (_, i) => 999 - i);
  assert.deepEqual(imagePercentiles(gray16(ramp), [0.1, 99.9]), [0.999, 998.0010000000001]);
});

test('float images use selection and match numpy exactly; NaNs are ignored', () => {
  assert.deepEqual(imagePercentiles(grayF([0.5, 0.25, 1.0, 0.75]), [0.1, 99.9]), [0.25075, 0.9992500000000001]);
  assert.deepEqual(
    imagePercentiles(grayF([0.5, NaN, 0.25, 1.0, NaN, 0.75]), [0.1, 99.9]),
    [0.25075, 0.9992500000000001],
  );
  assert.ok(Number.isNaN(imagePercentiles(grayF([NaN, NaN]), [50])[0]));
});

test('RGB is the unweighted mean of R, G, B (alpha ignored), and percentiles are taken on that mean', () => {
  const rgba: DecodedImage = {
    width: 4,
    height: 1,
    channels: 4,
    hasAlpha: true,
    bitDepth: 8,
    sampleFormat: 'uint',
    data: Uint8Array.from([1, 2, 4, 0, 10, 20, 31, 255, 0, 0, 0, 7, 255, 255, 254, 1]),
    pages: 1,
    page: 0,
    format: 'png',
    decoder: 'test',
  };
  const g = toGray(rgba);
  assert.deepEqual(
    Array.from(g.data, (v) => v / g.divisor),
    [7 / 3, 61 / 3, 0, 764 / 3],
  );
  const [lo, hi] = imagePercentiles(g, [0.1, 99.9]);
  // numpy on the float means: 0.007000000000000001, 253.96366666666674
  assert.ok(Math.abs(lo - 0.007) < 1e-15 && Math.abs(hi - 253.96366666666674) < 1e-12, `${lo} ${hi}`);
});

test('histogram percentiles equal a sort-based numpy-style reference on random uint16 data', () => {
  const rng = Rng.fromSeed('percentile-test');
  for (const n of [1, 2, 3, 1001, 10007]) {
    const values = Array.from({ length: n }, () => rng.int(0, 65535));
    const sorted = [...values].sort((a, b) => a - b);
    const ref = (q: number) => {
      const v = (q / 100) * (n - 1);
      const k = Math.floor(v);
      return lerp(sorted[k], sorted[Math.min(k + 1, n - 1)], v - k);
    };
    const qs = [0, 0.1, 25, 50, 75, 99.9, 100];
    assert.deepEqual(imagePercentiles(gray16(values), qs), qs.map(ref), `n=${n}`);
    assert.deepEqual(percentilesOfFloats(values, qs), qs.map(ref), `floats n=${n}`);
  }
});

test('numpy lerp is exact at both ends and symmetric around t = 0.5', () => {
  assert.equal(lerp(10, 20, 0), 10);
  assert.equal(lerp(10, 20, 1), 20);
  assert.equal(lerp(0.1, 0.7, 1), 0.7);
  assert.throws(() => imagePercentiles(gray8([1]), [101]), RangeError);
});

test('histogram percentiles are exact for 8-bit data and for RGB sums of 16-bit data too', () => {
  const rng = Rng.fromSeed('percentile-types');
  const n = 5003;
  const cases: GrayImage[] = [
    {
      width: n,
      height: 1,
      data: Uint8Array.from({ length: n }, () => rng.int(0, 255)),
      divisor: 1,
      integer: true,
      maxCode: 255,
    },
    {
      width: n,
      height: 1,
      data: Uint8Array.from({ length: n }, (_, i) => (i < 4000 ? 0 : rng.int(1, 9))),
      divisor: 1,
      integer: true,
      maxCode: 255,
    },
    {
      width: n,
      height: 1,
      data: Uint32Array.from({ length: n }, () => rng.int(0, 196605)),
      divisor: 3,
      integer: true,
      maxCode: 196605,
    },
  ];
  const qs = [0.1, 50, 75, 99.9];
  for (const g of cases) {
    const sorted = Array.from(g.data, (v) => v / g.divisor).sort((a, b) => a - b);
    const expect = qs.map((q) => {
      const v = (q / 100) * (n - 1);
      const k = Math.floor(v);
      return lerp(sorted[k] * g.divisor, sorted[Math.min(k + 1, n - 1)] * g.divisor, v - k) / g.divisor;
    });
    const got = imagePercentiles(g, qs);
    got.forEach((x, i) =>
      assert.ok(Math.abs(x - expect[i]) <= 1e-9 * Math.max(1, Math.abs(expect[i])), `${x} vs ${expect[i]}`),
    );
    // and the scratch table is left clean: a second call gives the same answer
    assert.deepEqual(imagePercentiles(g, qs), got);
  }
});
