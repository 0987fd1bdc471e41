// The one natural order (src/util/stable-order.ts) that releases and evaluation listings use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareNatural, sortNaturalBy } from '../../src/util/stable-order.js';

test('natural order: digit runs compare as numbers, ties broken by code points', () => {
  const names = ['cell10', 'cell2', 'cell1', 'a1', 'a01', 'a001', 'B', 'a', 'cell02', 'w1-2', 'w1.tif'];
  assert.deepEqual([...names].sort(compareNatural), [
    'B',
    'a',
    'a001',
    'a01',
    'a1',
    'cell1',
    'cell02',
    'cell2',
    'cell10',
    'w1-2',
    'w1.tif',
  ]);
  assert.deepEqual(
    sortNaturalBy(
      names.map((name) => ({ name })),
      (x) => x.name,
    ).map((x) => x.name),
    [...names].sort(compareNatural),
  );
});
