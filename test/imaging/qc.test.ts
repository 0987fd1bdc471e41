import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cropQc, wholeImageQc, percentileIsZero, percentile, quantize } from '../../src/imaging/index.js';

test('percentileIsZero agrees with the interpolated percentile on non-negative data', () => {
  const cases = [[0, 0, 0, 5], [0, 0, 0, 0], [0, 0, 0, 0, 5], [0, 0, 0, 5, 5], [1, 2], [0], [0, 3]];
  for (const c of cases) assert.equal(percentileIsZero(c, 75), percentile(c, 75) === 0, JSON.stringify(c));
});

test('crop QC keeps 1 < mean < 254 (0–255 scale) with a non-zero 75th percentile', () => {
  assert.equal(cropQc(new Float64Array(100)).keep, false); // black
  assert.match(cropQc(new Float64Array(100)).reason, /too dark/);
  assert.equal(cropQc(new Float64Array(100).fill(1)).keep, false); // white
  assert.match(cropQc(new Float64Array(100).fill(1)).reason, /too bright/);
  assert.equal(cropQc(new Float64Array(10).fill(1 / 255)).keep, false); // mean exactly 1: not > 1
  assert.equal(cropQc(new Float64Array(10).fill(254 / 255)).keep, false); // mean exactly 254
  const dim = new Float64Array(100);
  dim.fill(1, 0, 20); // mean 51, but 80 % zeros → p75 = 0
  assert.deepEqual([cropQc(dim).keep, /dim/.test(cropQc(dim).reason)], [false, true]);
  const fine = Float64Array.from({ length: 100 }, (_, i) => i / 99);
  assert.equal(cropQc(fine).keep, true);
});

test('whole-image QC: uniform names the file, two values is a binary mask, p75 = 0 is dim', () => {
  const ramp = Float64Array.from({ length: 100 }, (_, i) => i / 99);
  const ok = { name: 'a.tif', lo: 0, hi: 1, uniform: false };
  assert.equal(wholeImageQc(ramp, [ok], quantize(ramp, 8)).verdict, 'ok');
  const flat = wholeImageQc(
    new Float64Array(100),
    [ok, { name: 'b.tif', lo: 7, hi: 7, uniform: true }],
    new Uint8Array(100),
  );
  assert.deepEqual([flat.verdict, flat.file], ['uniform', 'b.tif']);
  assert.match(flat.reason, /0\.1th percentile 7 = 99\.9th percentile 7/);
  const mask = Float64Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? 1 : 0));
  assert.equal(wholeImageQc(mask, [ok], quantize(mask, 8)).verdict, 'binary');
  const dim = Float64Array.from({ length: 100 }, (_, i) => (i >= 90 ? i / 99 : 0));
  assert.equal(wholeImageQc(dim, [ok], quantize(dim, 8)).verdict, 'dim');
});
