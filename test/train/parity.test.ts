// With the same weights, the addon's forward pass equals the features stage's ONNX graph, going
// through the backbone .h5 the train command writes (so `features --model` sees what train trained).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { Rng } from '../../src/util/rng.js';
import { tryLoadEngine } from '../../src/train/engine.js';
import { trainGraph } from '../../src/train/graph.js';
import { initWeights, kerasWeightsOf, loadInitWeights } from '../../src/train/weights.js';
import { isUserError } from '../../src/util/errors.js';
import { loadPlane } from '../../src/train/pipeline.js';
import { writeKerasWeights } from '../../src/model/keras-h5.js';
import { loadModel } from '../../src/features/model.js';

const { engine, reason } = tryLoadEngine();
const skip = engine ? false : `training addon unavailable (${reason})`;

const IMAGES = [
  'images/malaria_nih_cells/test_images/infected/C37BP2_thinF_IMG_20150620_132847a_cell_76.png',
  'images/malaria_nih_cells/test_images/NotInfected/C1_thinF_IMG_20150604_104919_cell_134.png',
];

test('parity: addon GAP features equal the ONNX graph built from the exported backbone .h5 within 1e-4 relative', {
  skip,
}, async () => {
  await withTempDir(async (dir) => {
    const graph = trainGraph(3);
    const model = new engine!.Model(graph, { lr: 1e-3, threads: 2 });
    initWeights(model, graph, 11);
    // Non-trivial normalisation and BatchNorm statistics, as a trained model has.
    const rng = Rng.derive(11, 'parity');
    for (const w of graph.weights) {
      if (w.short === 'moving_mean' || w.short === 'beta' || w.short === 'mean') {
        model.setWeight(
          w.name,
          Float32Array.from({ length: w.shape[0] }, () => (rng.float() - 0.5) * 0.4),
        );
      } else if (w.short === 'moving_variance' || w.short === 'gamma' || w.short === 'variance') {
        model.setWeight(
          w.name,
          Float32Array.from({ length: w.shape[0] }, () => 0.5 + rng.float()),
        );
      }
    }
    const h5 = join(dir, 'backbone.h5');
    await writeKerasWeights(h5, kerasWeightsOf(model, { top: false }));

    const size = 64;
    const x = new Float32Array(IMAGES.length * size * size * 3);
    for (const [i, rel] of IMAGES.entries()) {
      const plane = await loadPlane(sharedPath(rel), size);
      for (let p = 0; p < plane.length; p++)
        x.fill(plane[p], (i * plane.length + p) * 3, (i * plane.length + p) * 3 + 3);
    }
    const ours = await model.forward(x, IMAGES.length, size, size, 'avg_pool');

    const fm = await loadModel(h5, { threads: 2 });
    assert.equal(fm.layout, 'NHWC');
    const res = await fm.session.run({ [fm.inputName]: new ort.Tensor('float32', x, [IMAGES.length, size, size, 3]) });
    const theirs = res[fm.outputName].data as Float32Array;
    await fm.session.release();

    assert.equal(ours.length, IMAGES.length * 1280);
    assert.equal(theirs.length, ours.length);
    let maxAbs = 0;
    let maxDiff = 0;
    for (let i = 0; i < ours.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(theirs[i]));
      maxDiff = Math.max(maxDiff, Math.abs(ours[i] - theirs[i]));
    }
    assert.ok(maxAbs > 1e-3, 'features are not all zero');
    assert.ok(
      maxDiff <= 1e-4 * maxAbs,
      `max |addon − onnx| = ${maxDiff}, max |onnx| = ${maxAbs}: relative ${maxDiff / maxAbs}`,
    );
    // Element-wise too, for every feature not near zero.
    for (let i = 0; i < ours.length; i++) {
      if (Math.abs(theirs[i]) > 1e-2 * maxAbs)
        assert.ok(
          Math.abs(ours[i] - theirs[i]) <= 1e-4 * Math.abs(theirs[i]) + 1e-6 * maxAbs,
          `feature ${i}: ${ours[i]} vs ${theirs[i]}`,
        );
    }
  });
});

test('weights set by Keras name come back unchanged, in Keras layout', { skip }, () => {
  const graph = trainGraph(5);
  const model = new engine!.Model(graph, { lr: 1e-3, threads: 1 });
  const rng = Rng.derive(3, 'roundtrip');
  for (const name of [
    'stem_conv/kernel:0',
    'block2a_dwconv/depthwise_kernel:0',
    'block1a_se_reduce/bias:0',
    'predictions/kernel:0',
    'normalization/count:0',
  ]) {
    const w = graph.weights.find((g) => g.name === name)!;
    const data = Float32Array.from({ length: w.shape.reduce((a, b) => a * b, 1) }, () => rng.float());
    model.setWeight(name, data);
    assert.deepEqual(model.getWeight(name), data, name);
  }
  assert.throws(() => model.setWeight('stem_conv/kernel:0', new Float32Array(3)), /needs 864 values/);
  assert.throws(() => model.getWeight('nope/kernel:0'), /unknown weight/);
});

test('forward returns any named layer (NHWC per sample) and refuses unknown names', { skip }, async () => {
  const graph = trainGraph(3);
  const model = new engine!.Model(graph, { lr: 1e-3, threads: 1 });
  initWeights(model, graph, 2);
  const x = new Float32Array(2 * 32 * 32 * 3).fill(100);
  assert.equal((await model.forward(x, 2, 32, 32, 'stem_conv')).length, 2 * 16 * 16 * 32);
  assert.equal((await model.forward(x, 2, 32, 32)).length, 2 * 3); // the logits
  await assert.rejects(model.forward(x, 2, 32, 32, 'no_such_layer'), /no layer output named no_such_layer/);
  assert.throws(() => model.trainStep(new Float32Array(5), new Int32Array(2), 2, 32, 32, 0), /n\*h\*w\*3/);
});

test('asking for a GPU that this LibTorch cannot reach is an error that says so', { skip }, () => {
  if (engine!.info().cuda) return; // a CUDA build on a GPU machine: nothing to refuse
  assert.throws(() => new engine!.Model(trainGraph(3), { lr: 1e-3, threads: 1, device: 'cuda' }), /no CUDA device/);
  assert.equal(new engine!.Model(trainGraph(3), { lr: 1e-3, threads: 1 }).device, 'cpu');
});

test('--init copies every backbone weight from a Keras .h5 and keeps the new classifier', { skip }, async () => {
  await withTempDir(async (dir) => {
    const a = new engine!.Model(trainGraph(7), { lr: 1e-3, threads: 1 });
    initWeights(a, trainGraph(7), 1);
    const full = join(dir, 'full.h5');
    await writeKerasWeights(full, kerasWeightsOf(a, { top: true })); // a 7-way full model
    const graph = trainGraph(3);
    const b = new engine!.Model(graph, { lr: 1e-3, threads: 1 });
    initWeights(b, graph, 2);
    const head = b.getWeight('predictions/kernel:0');
    const n = await loadInitWeights(b, graph, full);
    assert.equal(n, graph.weights.filter((w) => !w.name.startsWith('predictions/')).length);
    for (const w of graph.weights) {
      if (w.name.startsWith('predictions/')) continue;
      assert.deepEqual(b.getWeight(w.name), a.getWeight(w.name), w.name);
    }
    assert.deepEqual(b.getWeight('predictions/kernel:0'), head);
    await assert.rejects(
      loadInitWeights(b, graph, join(dir, 'missing.h5')),
      (e) => isUserError(e) && /not found/.test(e.message),
    );
  });
});
