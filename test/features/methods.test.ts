// The four extraction methods on a tiny ONNX model (1×1 conv → ReLU → global average pool) whose
// features can be worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { runFeatures } from '../../src/features/run-features.js';
import { resizeBilinear, METHODS, type Method } from '../../src/features/preprocess.js';
import { withTempDir } from '../helpers/data.js';
import { tinyModel, grayImage, parseCsv } from './fixtures.js';

/** A 4×4 8-bit gray PNG from 16 values (row-major). */
async function png(path: string, values: number[]): Promise<void> {
  await grayImage(path, values);
}

// Channel A: pixels 0–7 are 0, 8–15 are 200. Channel B: pixels 0–3 are 50, 4–15 are 100.
// Percentiles (NumPy linear, n = 16): A lo 0 / hi 200 → normalised {0, 1}; B lo 50 / hi 100 → {0, 1}.
const A = Array.from({ length: 16 }, (_, i) => (i < 8 ? 0 : 200));
const B = Array.from({ length: 16 }, (_, i) => (i < 4 ? 50 : 100));

// Worked by hand (f0 = mean x, f1 = mean relu(100 − x)):
//   concat-raw : A x∈{0×8, 200×8}: f0 100, f1 (8·100)/16 = 50; B x∈{50×4, 100×12}: f0 87.5, f1 (4·50)/16 = 12.5
//   concat-norm: A x∈{0×8, 255×8}: f0 127.5, f1 50;       B x∈{0×4, 255×12}: f0 191.25, f1 (4·100)/16 = 25
//   merge-raw  : x = (A + B)/2 ∈ {25×4, 50×4, 150×8}: f0 (100 + 200 + 1200)/16 = 93.75, f1 (4·75 + 4·50)/16 = 31.25
//   merge-norm : x = 255·(Â + B̂)/2 ∈ {0×4, 127.5×4, 255×8}: f0 (510 + 2040)/16 = 159.375, f1 (4·100)/16 = 25
const EXPECTED: Record<Method, number[]> = {
  'concat-raw': [100, 50, 87.5, 12.5],
  'concat-norm': [127.5, 50, 191.25, 25],
  'merge-raw': [93.75, 31.25],
  'merge-norm': [159.375, 25],
};

for (const layout of ['NCHW', 'NHWC'] as const) {
  test(`the tiny ${layout} model gives hand-computed features for each of the 4 methods`, async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'tiny.onnx'), tinyModel(layout));
      await png(join(dir, 'a, 1.png'), A); // a comma in a file name: the key must be quoted
      await png(join(dir, 'b.png'), B);
      const line = 'a, 1.png|b.png';
      await writeFile(join(dir, 'sets.txt'), `# one set, two channels\n${line}\n`);
      for (const method of METHODS) {
        const out = join(dir, `${method}.csv`);
        const report = await runFeatures({
          model: join(dir, 'tiny.onnx'),
          method,
          out,
          input: { files: join(dir, 'sets.txt') },
          progress: false,
        });
        assert.equal(report.sets, 1);
        const { readFile } = await import('node:fs/promises');
        const { header, rows } = parseCsv(await readFile(out, 'utf8'));
        const n = EXPECTED[method].length;
        assert.deepEqual(header, ['key', ...Array.from({ length: n }, (_, i) => `f${i}`)]);
        assert.equal(rows.length, 1);
        assert.equal(rows[0][0], line);
        const got = rows[0].slice(1).map(Number);
        got.forEach((v, i) =>
          assert.ok(Math.abs(v - EXPECTED[method][i]) < 1e-3, `${method} f${i}: ${v} vs ${EXPECTED[method][i]}`),
        );
      }
    });
  });
}

test('bilinear resize follows Pillow: exact on upscaling, antialiased on downscaling', () => {
  const up = resizeBilinear({ width: 2, height: 1, data: Float32Array.of(0, 10) }, 4, 1);
  assert.deepEqual(Array.from(up.data), [0, 2.5, 7.5, 10]);
  // Pillow: Image.fromarray(np.float32([[0, 10, 20, 30]]), 'F').resize((2, 1), Image.BILINEAR) → [7.142857, 22.857143]
  const down = resizeBilinear({ width: 4, height: 1, data: Float32Array.of(0, 10, 20, 30) }, 2, 1);
  assert.ok(Math.abs(down.data[0] - 50 / 7) < 1e-5 && Math.abs(down.data[1] - 160 / 7) < 1e-5, `${down.data}`);
  const flat = resizeBilinear({ width: 5, height: 3, data: new Float32Array(15).fill(42) }, 224, 224);
  assert.ok(flat.data.every((v) => Math.abs(v - 42) < 1e-4));
});

test('a model with a fixed batch and spatial size, or one input channel, is fed accordingly', async () => {
  const { GraphBuilder, encodeModel, intsAttr, intAttr, valueInfo } = await import('../../src/model/onnx-builder.js');
  // mean of the channels → GAP, input [1, C, 4, 4] (fixed) or [N, 1, H, W]
  const model = (dims: (number | string)[], c: number): Uint8Array => {
    const g = new GraphBuilder();
    const W = g.constFloat('W', [1, c, 1, 1], new Array(c).fill(1 / c));
    const conv = g.node('Conv', ['x', W], 'conv', [intsAttr('kernel_shape', [1, 1])]);
    g.node('Flatten', [g.node('GlobalAveragePool', [conv], 'gap')], 'y', [intAttr('axis', 1)]);
    return encodeModel(g, [valueInfo('x', dims)], [valueInfo('y', [dims[0], 1])], 'fixed');
  };
  await withTempDir(async (dir) => {
    const { readFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'fixed.onnx'), model([1, 3, 4, 4], 3));
    await writeFile(join(dir, 'gray.onnx'), model(['N', 1, 'H', 'W'], 1));
    // 8×8 constant images: resizing keeps the value, so f0 is the gray value
    const { default: sharp } = await import('sharp');
    for (const [name, v] of [
      ['a.png', 30],
      ['b.png', 70],
      ['c.png', 110],
    ] as const) {
      await sharp(Buffer.alloc(64, v), { raw: { width: 8, height: 8, channels: 1 } })
        .png()
        .toFile(join(dir, name));
    }
    await writeFile(join(dir, 'list.txt'), 'a.png\nb.png\nc.png\n');
    const notes: string[] = [];
    for (const m of ['fixed.onnx', 'gray.onnx']) {
      const out = join(dir, `${m}.csv`);
      const r = await runFeatures({
        model: join(dir, m),
        method: 'merge-raw',
        out,
        input: { files: join(dir, 'list.txt') },
        progress: false,
        batchSize: 16,
        log: (l) => notes.push(l),
      });
      assert.equal(r.featureDim, 1);
      const { rows } = parseCsv(await readFile(out, 'utf8'));
      assert.deepEqual(
        rows.map((x) => Math.round(Number(x[1]) * 1000) / 1000),
        [30, 70, 110],
      );
    }
    assert.ok(
      notes.some((n) => /4×4/.test(n)),
      notes.join('\n'),
    );
  });
});
