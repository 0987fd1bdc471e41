import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';

test('same seed gives the same stream; another seed another', () => {
  const a = Rng.fromSeed(7);
  const b = Rng.fromSeed(7);
  const c = Rng.fromSeed(8);
  const sa = Array.from({ length: 20 }, () => a.int(0, 1_000_000));
  const sb = Array.from({ length: 20 }, () => b.int(0, 1_000_000));
  const sc = Array.from({ length: 20 }, () => c.int(0, 1_000_000));
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

test('derived streams depend on (seed, id) only, not on the order they are made', () => {
  const x1 = Rng.derive(1, 'img-a').int(0, 1e9);
  Rng.derive(1, 'img-b').int(0, 1e9);
  const x2 = Rng.derive(1, 'img-a').int(0, 1e9);
  assert.equal(x1, x2);
  assert.notEqual(Rng.derive(1, 'img-a').float(), Rng.derive(1, 'img-b').float());
});

test('int is inclusive at both ends and stays in range', () => {
  const r = Rng.fromSeed(3);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = r.int(0, 3);
    assert.ok(v >= 0 && v <= 3);
    seen.add(v);
  }
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3]);
  assert.throws(() => r.int(3, 2), RangeError);
});

test('sampleIndices returns k distinct indices and state() resumes exactly', () => {
  const r = Rng.fromSeed(11);
  const s = r.sampleIndices(100, 30);
  assert.equal(new Set(s).size, 30);
  assert.ok(s.every((v) => v >= 0 && v < 100));
  const saved = r.state();
  const next = r.float();
  assert.equal(Rng.fromState(saved).float(), next);
});
