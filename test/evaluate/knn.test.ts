import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { bruteForceKnn, exactKnn } from '../../src/evaluate/knn.js';
import type { Matrix } from '../../src/evaluate/matrix.js';

function randomMatrix(rows: number, cols: number, seed: number, gen: (r: Rng) => number): Matrix {
  const rng = Rng.fromSeed(seed);
  return { rows, cols, data: Float32Array.from({ length: rows * cols }, () => gen(rng)) };
}

function assertSame(
  a: { index: Int32Array; distance: Float64Array },
  b: { index: Int32Array; distance: Float64Array },
): void {
  assert.deepEqual(Array.from(a.index), Array.from(b.index));
  assert.deepEqual(Array.from(a.distance), Array.from(b.distance));
}

test('exact kNN equals the float64 brute-force reference on random data, across training blocks', async () => {
  const train = randomMatrix(900, 48, 1, (r) => r.float() * 2 - 1);
  const query = randomMatrix(160, 48, 2, (r) => r.float() * 2 - 1);
  const ref = bruteForceKnn(train, query, 11);
  const got = await exactKnn(train, query, 11, { trainBlock: 256, queryBlock: 64 });
  assertSame(got, ref);
  assert.equal(got.fallbacks, 0, 'well-separated random data needs no fallback');
});

test('ties (integer data, duplicate rows) are broken by training row, exactly as the reference', async () => {
  const train = randomMatrix(600, 6, 3, (r) => r.int(0, 1));
  const query = randomMatrix(120, 6, 4, (r) => r.int(0, 1));
  const ref = bruteForceKnn(train, query, 7);
  // Many equal distances: the returned rows within a distance must ascend.
  for (let q = 0; q < ref.rows; q++) {
    for (let j = 1; j < 7; j++) {
      const a = q * 7 + j - 1;
      assert.ok(
        ref.distance[a] < ref.distance[a + 1] ||
          (ref.distance[a] === ref.distance[a + 1] && ref.index[a] < ref.index[a + 1]),
      );
    }
  }
  assertSame(await exactKnn(train, query, 7, { trainBlock: 100 }), ref);
  // Too few candidates to prove the list complete: those queries fall back, still exact.
  const tight = await exactKnn(train, query, 7, { candidates: 8 });
  assert.ok(tight.fallbacks > 0);
  assertSame(tight, ref);
});

test('leave-one-out excludes the query by identity even when a duplicate sits at distance 0', async () => {
  const x = randomMatrix(300, 5, 5, (r) => r.int(0, 2));
  const ref = bruteForceKnn(x, x, 11, { excludeSelf: true });
  for (let q = 0; q < x.rows; q++) assert.ok(!Array.from(ref.index.subarray(q * 11, q * 11 + 11)).includes(q));
  // Row 0 duplicated at row 1: row 1 is row 0's nearest (distance 0), and vice versa.
  const d = new Float32Array(x.data);
  d.set(d.subarray(0, 5), 5);
  const dup = { rows: x.rows, cols: 5, data: d };
  const r2 = await exactKnn(dup, dup, 3, { excludeSelf: true });
  assert.equal(r2.index[0], 1);
  assert.equal(r2.distance[0], 0);
  assert.equal(r2.index[3], 0);
  assertSame(r2, bruteForceKnn(dup, dup, 3, { excludeSelf: true }));
  assertSame(await exactKnn(x, x, 11, { excludeSelf: true, trainBlock: 128 }), ref);
});

test('1,280-dimensional float data (the embedding width) stays exact', async () => {
  const train = randomMatrix(500, 1280, 6, (r) => r.float() * 4 - 2);
  const query = randomMatrix(40, 1280, 7, (r) => r.float() * 4 - 2);
  assertSame(await exactKnn(train, query, 11), bruteForceKnn(train, query, 11));
});

test('asking for more neighbours than eligible rows is refused', async () => {
  const x = randomMatrix(5, 3, 8, (r) => r.float());
  assert.throws(() => bruteForceKnn(x, x, 5, { excludeSelf: true }), /only 4 training rows/);
  await assert.rejects(exactKnn(x, x, 6), /only 5 training rows/);
});
