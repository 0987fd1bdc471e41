import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracy, vote } from '../../src/evaluate/vote.js';
import { applyScaler, fitScaler } from '../../src/evaluate/scaler.js';

test('vote: majority wins; a tie goes to the tied label whose nearest member is closest', () => {
  assert.equal(vote(['a', 'b', 'b']), 'b');
  assert.equal(vote(['a', 'b', 'b', 'a']), 'a');
  assert.equal(vote(['b', 'a', 'a', 'b', 'c']), 'b');
  assert.equal(vote(['c', 'a', 'b']), 'c', 'all different: the nearest');
  assert.equal(vote(['c', 'a', 'b', 'b', 'a']), 'a', 'c is nearest but not tied for most votes');
});

test("95 % interval is 1.96·√(p(1−p)/n): reproduces the paper's BBBC021 figures", () => {
  const r = (c: number) => {
    const a = accuracy(c, 103);
    return [(100 * a.accuracy).toFixed(2), (100 * a.ci95).toFixed(2)];
  };
  assert.deepEqual(r(86), ['83.50', '7.17']);
  assert.deepEqual(r(28), ['27.18', '8.59']);
  assert.deepEqual(r(89), ['86.41', '6.62']);
  const a = accuracy(3, 4);
  assert.equal(a.ci95, 1.96 * Math.sqrt((0.75 * 0.25) / 4));
});

test('standardisation uses the population SD; a constant column is centred but not scaled', () => {
  // columns: 1,2,3,4 (mean 2.5, population SD √1.25) and a constant 7.
  const m = { rows: 4, cols: 2, data: Float32Array.from([1, 7, 2, 7, 3, 7, 4, 7]) };
  const s = fitScaler(m);
  assert.equal(s.mean[0], 2.5);
  assert.equal(s.scale[0], Math.sqrt(1.25));
  assert.notEqual(s.scale[0], Math.sqrt(5 / 3), 'not the sample SD');
  assert.deepEqual(s.constant, [1]);
  assert.equal(s.scale[1], 1);
  const z = applyScaler(m, s);
  assert.ok(Math.abs(z.data[0] - -1.5 / Math.sqrt(1.25)) < 1e-6);
  assert.deepEqual([z.data[1], z.data[3], z.data[5], z.data[7]], [0, 0, 0, 0]);
  // Fit on a subset of rows (e.g. the training split) and apply to all.
  const sub = fitScaler(m, [0, 1]);
  assert.equal(sub.mean[0], 1.5);
  assert.equal(sub.scale[0], 0.5);
});
