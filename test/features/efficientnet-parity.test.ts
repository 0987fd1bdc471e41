// Two independent routes through the same Keras .h5 must agree: the ONNX graph the builder makes
// (run by onnxruntime) and the plain float64 reference forward pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import {
  randomEfficientNetWeights,
  checkEfficientNetWeights,
  type EfficientNetWeights,
} from '../../src/model/efficientnet-weights.js';
import { readKerasH5, writeKerasWeights, type KerasWeights } from '../../src/model/keras-h5.js';
import { buildEfficientNetOnnx, ONNX_INPUT, ONNX_OUTPUT } from '../../src/model/onnx-builder.js';
import { referenceForward } from '../../src/features/reference-forward.js';
import { loadModel } from '../../src/features/model.js';
import { Rng } from '../../src/util/rng.js';
import { withTempDir } from '../helpers/data.js';

/** Keras-init weights with non-trivial BatchNorm and Normalization statistics, so folding is exercised. */
function trainedLookingWeights(seed: number, includeTop = false): KerasWeights {
  const w = randomEfficientNetWeights(seed, { includeTop, classes: 7 });
  const rng = Rng.derive(seed, 'bn-stats');
  for (const [layer, m] of w) {
    for (const [name, t] of m) {
      const d = t.data;
      if (name === 'gamma' || name === 'moving_variance') for (let i = 0; i < d.length; i++) d[i] = 0.5 + rng.float();
      if (name === 'beta' || name === 'moving_mean')
        for (let i = 0; i < d.length; i++) d[i] = 0.2 * (rng.float() - 0.5);
      if (name === 'bias') for (let i = 0; i < d.length; i++) d[i] = 0.2 * (rng.float() - 0.5);
      if (layer === 'normalization' && name === 'mean') d.set([0.485, 0.456, 0.406]);
      if (layer === 'normalization' && name === 'variance') d.set([0.229, 0.224, 0.225]);
    }
  }
  return w;
}

function testImage(h: number, w: number, seed: number): Float32Array {
  const rng = Rng.derive(seed, 'image', h, w);
  const img = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++)
        img[(y * w + x) * 3 + c] = Math.round(127 + 100 * Math.sin((x + 2 * y) / (5 + c)) + 20 * rng.float());
  return img;
}

async function onnxFeatures(bytes: Uint8Array, img: Float32Array, h: number, w: number): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  try {
    const r = await s.run({ [ONNX_INPUT]: new ort.Tensor('float32', img, [1, h, w, 3]) });
    return r[ONNX_OUTPUT].data as Float32Array;
  } finally {
    await s.release();
  }
}

/** max |a − b| / max |b|: the relative error of the whole feature vector. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

async function checkParity(net: EfficientNetWeights, sizes: [number, number][], fold: boolean): Promise<void> {
  const bytes = buildEfficientNetOnnx(net, { foldBatchNorm: fold });
  for (const [h, w] of sizes) {
    const img = testImage(h, w, 5);
    const viaOnnx = await onnxFeatures(bytes, img, h, w);
    const viaRef = referenceForward(net, { h, w, c: 3, data: Float64Array.from(img) });
    assert.equal(viaOnnx.length, 1280);
    assert.ok(
      viaRef.some((v) => Math.abs(v) > 1e-3),
      'features are not all ~0',
    );
    const err = relError(viaOnnx, viaRef);
    assert.ok(err < 1e-4, `${h}×${w} (fold ${fold}): relative error ${err}`);
  }
}

test('a Keras-layout no-top .h5 gives the same features through the ONNX graph and the reference pass (1e-4 relative)', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'efficientnetb0_notop.h5');
    await writeKerasWeights(path, trainedLookingWeights(11));
    const net = checkEfficientNetWeights((await readKerasH5(path)).weights, path);
    // even and odd sizes: Keras's correct_pad is asymmetric for input_shape (None, None, 3)
    await checkParity(
      net,
      [
        [64, 64],
        [33, 47],
      ],
      true,
    );
    await checkParity(net, [[32, 32]], false);
    // a file saved by Keras ≥ 2.10 with weights="imagenet" lists rescaling_1 after normalization
    const entries = [...(await readKerasH5(path)).weights];
    const at = entries.findIndex(([k]) => k === 'normalization') + 1;
    const fixed = checkEfficientNetWeights(
      new Map([...entries.slice(0, at), ['rescaling_1', new Map()], ...entries.slice(at)]),
      path,
    );
    assert.equal(fixed.imagenetStdFix, true);
    await checkParity(fixed, [[32, 32]], true);
  });
});

test('a full-model .h5 (with top) loads; its backbone features equal the no-top file of the same weights', async () => {
  await withTempDir(async (dir) => {
    const full = trainedLookingWeights(12, true);
    const fullPath = join(dir, 'full.h5');
    await writeKerasWeights(fullPath, full, { layout: 'model' });
    const notop: KerasWeights = new Map(
      [...full].filter(([k]) => !['avg_pool', 'top_dropout', 'predictions'].includes(k)),
    );
    const notopPath = join(dir, 'notop.h5');
    await writeKerasWeights(notopPath, notop);
    const img = testImage(40, 40, 6);
    const results: Float32Array[] = [];
    for (const p of [fullPath, notopPath]) {
      const m = await loadModel(p);
      assert.equal(m.layout, 'NHWC');
      assert.equal(m.channels, 3);
      const r = await m.session.run({ [m.inputName]: new ort.Tensor('float32', img, [1, 40, 40, 3]) });
      results.push(r[m.outputName].data as Float32Array);
      await m.session.release();
    }
    assert.deepEqual(results[0], results[1]);
    const net = checkEfficientNetWeights(full, fullPath);
    assert.ok(relError(results[0], referenceForward(net, { h: 40, w: 40, c: 3, data: Float64Array.from(img) })) < 1e-4);
  });
});

test('random:SEED is reproducible and seed-dependent', async () => {
  const a = randomEfficientNetWeights(7).get('block3b_dwconv')!.get('depthwise_kernel')!.data;
  const b = randomEfficientNetWeights(7).get('block3b_dwconv')!.get('depthwise_kernel')!.data;
  const c = randomEfficientNetWeights(8).get('block3b_dwconv')!.get('depthwise_kernel')!.data;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  // Keras's VarianceScaling(2.0, fan_out, truncated normal): std √(2/fan_out) with fan_out = k·k for a depthwise kernel
  let ss = 0;
  for (const v of a) ss += v * v;
  const std = Math.sqrt(ss / a.length);
  assert.ok(Math.abs(std - Math.sqrt(2 / 25)) < 0.05 * Math.sqrt(2 / 25), `std ${std}`);
});
