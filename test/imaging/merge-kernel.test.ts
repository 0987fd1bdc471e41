// The fused single-pass kernel must give exactly what the step-by-step definition gives
// (normalise each channel, mean = sum / k, Math.round(×255)), including at rounding ties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { fusedOutput8, mergeNormalizedChannels } from '../../src/imaging/merge-kernel.js';
import { normalize, mergeChannels, quantize, type GrayImage } from '../../src/imaging/index.js';

function gray(data: Uint8Array | Uint16Array): GrayImage {
  return {
    width: data.length,
    height: 1,
    data,
    divisor: 1,
    integer: true,
    maxCode: data instanceof Uint8Array ? 255 : 65535,
  };
}

test('fused output equals the step-by-step merge on random 8- and 16-bit channels (k = 1, 2, 3)', () => {
  const rng = Rng.fromSeed('fused');
  for (const kind of ['u8', 'u16'] as const) {
    for (let k = 1; k <= 3; k++) {
      for (let rep = 0; rep < 4; rep++) {
        const n = 20_000;
        const grays = Array.from({ length: k }, () => {
          const hi = kind === 'u8' ? 255 : rng.int(300, 65535);
          const lo = rng.int(0, Math.floor(hi / 3));
          const arr = kind === 'u8' ? new Uint8Array(n) : new Uint16Array(n);
          for (let i = 0; i < n; i++) arr[i] = rng.int(lo, hi);
          return gray(arr);
        });
        const parts = grays.map((g) => normalize(g));
        const bounds = parts.map((p) => ({ lo: p.lo, hi: p.hi }));
        const fused = fusedOutput8(grays, bounds)!;
        assert.ok(fused, 'fused path applies');
        const reference = quantize(mergeChannels(parts), 8);
        assert.deepEqual(fused.output, reference, `${kind} k=${k}`);
        assert.deepEqual(fused.output, mergeNormalizedChannels(grays, bounds, 8).output);
      }
    }
  }
});

test('fused output equals the step-by-step merge at rounding ties (k = 2 and 3)', () => {
  // 8-bit channels normalised with lo = 0, hi = 254. With three channels the merged value ×255 is
  // (a+b+c)·255/762, a tie m + 0.5 whenever a + b + c is an odd multiple of 127 — every pixel
  // here. With two it is (a+b)·255/508, a tie whenever a + b = 254, which many pixels hit.
  const rng = Rng.fromSeed('ties');
  const n = 30_000;
  const ch = [new Uint8Array(n), new Uint8Array(n), new Uint8Array(n)];
  for (let i = 0; i < n; i++) {
    if (i < 300) continue; // ≥ 0.1 % zeros: lo = 0
    if (i >= n - 300) {
      ch[0][i] = ch[1][i] = ch[2][i] = 254; // ≥ 0.1 % at 254: hi = 254
      continue;
    }
    const sum = [127, 381, 635][rng.int(0, 2)];
    const a = rng.int(Math.max(0, sum - 508), Math.min(254, sum));
    const b = rng.int(Math.max(0, sum - a - 254), Math.min(254, sum - a));
    ch[0][i] = a;
    ch[1][i] = b;
    ch[2][i] = sum - a - b;
  }
  for (const k of [2, 3]) {
    const grays = ch.slice(0, k).map((d) => gray(d));
    const parts = grays.map((g) => normalize(g));
    assert.deepEqual(
      parts.map((p) => [p.lo, p.hi]),
      Array(k).fill([0, 254]),
    );
    const fused = fusedOutput8(
      grays,
      parts.map((p) => ({ lo: p.lo, hi: p.hi })),
    )!;
    assert.deepEqual(fused.output, quantize(mergeChannels(parts), 8), `k=${k}`);
  }
});
