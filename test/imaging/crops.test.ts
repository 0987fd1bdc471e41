import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import {
  cropCount,
  isCroppable,
  usableScales,
  planCrops,
  extractCrop,
  type CropWindow,
} from '../../src/imaging/index.js';

test('crops per image follow the label size relative to the cap: 1 at the cap, 2 from 55 %, 3 from 40 %, else 4', () => {
  const cases: Array<[number, number]> = [
    [1000, 1],
    [999, 2],
    [550, 2],
    [549, 3],
    [400, 3],
    [399, 4],
    [1, 4],
  ];
  for (const [n, k] of cases) assert.equal(cropCount(n, 1000), k, `n=${n}`);
  assert.equal(cropCount(275, 500), 2);
  assert.equal(cropCount(274, 500), 3);
});

test('only images at least 140 px on both sides are cropped', () => {
  assert.equal(isCroppable(140, 140), true);
  assert.equal(isCroppable(139, 1000), false);
  assert.equal(isCroppable(1000, 139), false);
  assert.deepEqual(planCrops(139, 500, 4, Rng.fromSeed(1)), []);
});

test('scales are kept where scale × side ≥ 70 px on both sides (exactly 70 passes)', () => {
  assert.deepEqual(usableScales(140, 140), [1 / 2]);
  assert.deepEqual(usableScales(280, 280), [1 / 2, 1 / 4]);
  assert.deepEqual(usableScales(279, 1000), [1 / 2]);
  assert.deepEqual(usableScales(1120, 1120), [1 / 2, 1 / 4, 1 / 8, 1 / 16]);
  assert.deepEqual(usableScales(1119, 1120), [1 / 2, 1 / 4, 1 / 8]);
});

const QUADRANT = (w: number, h: number, q: number) => {
  const hw = Math.floor(w / 2),
    hh = Math.floor(h / 2);
  const x0 = q % 2 === 0 ? 0 : hw,
    y0 = q < 2 ? 0 : hh;
  return { x0, y0, x1: x0 + hw, y1: y0 + hh };
};

function checkWindow(w: number, h: number, win: CropWindow): void {
  const quad = QUADRANT(w, h, win.quadrant);
  assert.equal(win.x_max - win.x_min, Math.floor(w * win.scale));
  assert.equal(win.y_max - win.y_min, Math.floor(h * win.scale));
  assert.ok(win.x_min >= quad.x0 && win.x_max <= quad.x1, `x inside quadrant: ${JSON.stringify(win)}`);
  assert.ok(win.y_min >= quad.y0 && win.y_max <= quad.y1, `y inside quadrant: ${JSON.stringify(win)}`);
  assert.ok(win.scale * w >= 70 && win.scale * h >= 70);
  if (win.scale === 1 / 2) assert.deepEqual([win.x_min, win.y_min], [quad.x0, quad.y0]);
}

test('k crops take k distinct quadrants, each window inside its quadrant at its scale', () => {
  for (const [w, h] of [
    [1000, 800],
    [141, 141],
    [1392, 1040],
    [696, 520],
    [2304, 1536],
  ]) {
    for (let k = 1; k <= 4; k++) {
      for (let seed = 0; seed < 25; seed++) {
        const wins = planCrops(w, h, k, Rng.derive(seed, 'img', w, h));
        assert.equal(wins.length, k);
        assert.equal(new Set(wins.map((x) => x.quadrant)).size, k, 'distinct quadrants');
        if (k === 4)
          assert.deepEqual(
            wins.map((x) => x.quadrant),
            [0, 1, 2, 3],
          );
        const usable = usableScales(w, h);
        if (usable.length >= k)
          assert.equal(new Set(wins.map((x) => x.scale)).size, k, 'distinct scales while enough are usable');
        for (const win of wins) {
          assert.ok(usable.includes(win.scale));
          checkWindow(w, h, win);
        }
      }
    }
  }
});

test('a 140 px image with 4 crops gets its four 1/2-scale quadrants exactly', () => {
  const wins = planCrops(140, 140, 4, Rng.fromSeed(9));
  assert.deepEqual(
    wins.map((w) => [w.x_min, w.x_max, w.y_min, w.y_max, w.scale]),
    [
      [0, 70, 0, 70, 0.5],
      [70, 140, 0, 70, 0.5],
      [0, 70, 70, 140, 0.5],
      [70, 140, 70, 140, 0.5],
    ],
  );
});

test('the random position inside a quadrant reaches both ends (inclusive bounds)', () => {
  // 280×280 at scale 1/4: a 70 px crop in a 140 px quadrant, offset 0..70 inclusive.
  const xs = new Set<number>();
  for (let seed = 0; seed < 3000; seed++) {
    for (const win of planCrops(280, 280, 2, Rng.derive(seed, 'pos'))) {
      if (win.scale === 1 / 4) xs.add(win.x_min - QUADRANT(280, 280, win.quadrant).x0);
    }
  }
  assert.ok(xs.has(0) && xs.has(70), `offsets seen: min ${Math.min(...xs)}, max ${Math.max(...xs)}`);
  assert.ok([...xs].every((x) => x >= 0 && x <= 70));
});

test('the same seed gives the same windows; another seed moves them', () => {
  const a = planCrops(1392, 1040, 3, Rng.derive(5, 'image-42'));
  const b = planCrops(1392, 1040, 3, Rng.derive(5, 'image-42'));
  assert.deepEqual(a, b);
  const others = Array.from({ length: 10 }, (_, s) =>
    JSON.stringify(planCrops(1392, 1040, 3, Rng.derive(100 + s, 'image-42'))),
  );
  assert.ok(others.some((o) => o !== JSON.stringify(a)));
});

test('extractCrop copies rows [y_min, y_max) × [x_min, x_max)', () => {
  const w = 5,
    h = 4;
  const img = Float64Array.from({ length: w * h }, (_, i) => i);
  const crop = extractCrop(img, w, { x_min: 1, x_max: 3, y_min: 2, y_max: 4, scale: 0.5, quadrant: 2 });
  assert.deepEqual([...crop], [11, 12, 16, 17]);
});
