import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  efficientNetB0Blocks,
  efficientNetB0Layers,
  countParams,
  correctPad,
} from '../../src/model/efficientnet-spec.js';
import { readKerasH5, writeKerasWeights, type KerasWeights } from '../../src/model/keras-h5.js';
import { checkEfficientNetWeights, randomEfficientNetWeights } from '../../src/model/efficientnet-weights.js';
import { UserError } from '../../src/util/errors.js';
import { withTempDir } from '../helpers/data.js';

test('the spec is Keras EfficientNetB0: 16 blocks, Keras parameter counts and layer names', () => {
  const blocks = efficientNetB0Blocks();
  assert.equal(blocks.length, 16);
  assert.deepEqual(
    blocks.map((b) => b.name),
    [
      'block1a',
      'block2a',
      'block2b',
      'block3a',
      'block3b',
      'block4a',
      'block4b',
      'block4c',
      'block5a',
      'block5b',
      'block5c',
      'block6a',
      'block6b',
      'block6c',
      'block6d',
      'block7a',
    ],
  );
  // model.summary() of tf.keras.applications.EfficientNetB0: 4,049,571 (include_top=False), 5,330,571 (1000 classes)
  assert.equal(countParams(efficientNetB0Layers()), 4_049_571);
  assert.equal(countParams(efficientNetB0Layers({ includeTop: true })), 5_330_571);
  const names = efficientNetB0Layers().map((l) => l.name);
  assert.deepEqual(names.slice(0, 17), [
    'input_1',
    'rescaling',
    'normalization',
    'stem_conv_pad',
    'stem_conv',
    'stem_bn',
    'stem_activation',
    'block1a_dwconv',
    'block1a_bn',
    'block1a_activation',
    'block1a_se_squeeze',
    'block1a_se_reshape',
    'block1a_se_reduce',
    'block1a_se_expand',
    'block1a_se_excite',
    'block1a_project_conv',
    'block1a_project_bn',
  ]);
  assert.ok(names.includes('block2a_dwconv_pad') && names.includes('block2b_add') && names.includes('block2b_drop'));
  assert.deepEqual(names.slice(-4), ['top_conv', 'top_bn', 'top_activation', 'avg_pool']);
  const se = efficientNetB0Layers().find((l) => l.name === 'block6b_se_reduce')!;
  assert.deepEqual(
    se.weights.map((w) => w.shape),
    [[1, 1, 1152, 48], [48]],
  );
  const dw = efficientNetB0Layers().find((l) => l.name === 'block3a_dwconv')!;
  assert.deepEqual(dw.weights[0].shape, [5, 5, 144, 1]);
  assert.deepEqual(correctPad(5), [
    [1, 2],
    [1, 2],
  ]);
  assert.deepEqual(correctPad(3, [225, 225]), [
    [1, 1],
    [1, 1],
  ]);
});

test('weights-only and full-model .h5 files round-trip in Keras layout', async () => {
  await withTempDir(async (dir) => {
    const w = randomEfficientNetWeights(3);
    const a = join(dir, 'notop.h5');
    await writeKerasWeights(a, w);
    const ra = await readKerasH5(a);
    assert.equal(ra.layout, 'weights');
    assert.equal(ra.kerasVersion, '2.4.0');
    assert.equal(ra.backend, 'tensorflow');
    assert.deepEqual(ra.layerNames, [...w.keys()]);
    const k = ra.weights.get('block2a_expand_conv')!.get('kernel')!;
    assert.deepEqual(k.shape, [1, 1, 16, 96]);
    assert.deepEqual(k.data, w.get('block2a_expand_conv')!.get('kernel')!.data);
    assert.deepEqual(ra.weights.get('normalization')!.get('count')!.shape, []);

    const full = randomEfficientNetWeights(3, { includeTop: true, classes: 894 });
    const b = join(dir, 'full.h5');
    await writeKerasWeights(b, full, { layout: 'model' });
    const rb = await readKerasH5(b);
    assert.equal(rb.layout, 'model');
    assert.deepEqual(rb.weights.get('predictions')!.get('kernel')!.shape, [1280, 894]);
    // the top is ignored by the backbone check, and the backbones agree
    const net = checkEfficientNetWeights(rb.weights, b);
    assert.equal(net.layers.at(-1)!.name, 'top_activation');
    assert.deepEqual(net.tensors.get('top_bn')!.get('gamma')!.data, full.get('top_bn')!.get('gamma')!.data);
  });
});

function cloneWith(w: KerasWeights, edit: (m: KerasWeights) => void): KerasWeights {
  const m: KerasWeights = new Map([...w].map(([k, v]) => [k, new Map(v)]));
  edit(m);
  return m;
}

test('layer-name and shape mismatches name the layer', async () => {
  const w = randomEfficientNetWeights(1);
  const wrongShape = cloneWith(w, (m) =>
    m.get('block4b_se_expand')!.set('kernel', { shape: [1, 1, 20, 400], data: new Float32Array(8000) }),
  );
  assert.throws(
    () => checkEfficientNetWeights(wrongShape, 'x.h5'),
    (e: unknown) =>
      e instanceof UserError && /block4b_se_expand/.test(e.message) && /\(1, 1, 20, 480\)/.test(e.message),
  );
  const missing = cloneWith(w, (m) => m.delete('block5c_project_bn'));
  assert.throws(
    () => checkEfficientNetWeights(missing, 'x.h5'),
    (e: unknown) => e instanceof UserError && /block5c_project_bn/.test(e.message),
  );
  // a layer EfficientNetB0 lacks, in the middle of the network: another architecture
  const entries = [...w];
  const mid = entries.findIndex(([k]) => k === 'block3a_bn');
  const foreign: KerasWeights = new Map([
    ...entries.slice(0, mid),
    ['conv_1x1_extra', new Map([['kernel', { shape: [1], data: new Float32Array(1) }]])],
    ...entries.slice(mid),
  ]);
  assert.throws(
    () => checkEfficientNetWeights(foreign, 'x.h5'),
    (e: unknown) => e instanceof UserError && /conv_1x1_extra/.test(e.message),
  );
  // after the backbone it is a fine-tuned head, ignored
  const head = cloneWith(w, (m) =>
    m.set('dense_7', new Map([['kernel', { shape: [1280, 5], data: new Float32Array(6400) }]])),
  );
  assert.equal(checkEfficientNetWeights(head, 'x.h5').layers.at(-1)!.name, 'top_activation');
  // the same through a real file
  await withTempDir(async (dir) => {
    const p = join(dir, 'bad.h5');
    await writeKerasWeights(p, wrongShape);
    const r = await readKerasH5(p);
    assert.throws(
      () => checkEfficientNetWeights(r.weights, p),
      (e: unknown) => e instanceof UserError && e.location.file === p && /block4b_se_expand/.test(e.message),
    );
  });
});

test('a file that is not Keras HDF5 gets a sentence, not a stack', async () => {
  await withTempDir(async (dir) => {
    const { writeFile } = await import('node:fs/promises');
    const p = join(dir, 'not.h5');
    await writeFile(p, 'hello');
    await assert.rejects(readKerasH5(p), (e: unknown) => e instanceof UserError && /HDF5/.test(e.message));
  });
});

test('session-numbered preprocessing layers (normalization_1, rescaling_2) and the Keras ≥ 2.10 ImageNet rescaling are recognised', () => {
  const w = randomEfficientNetWeights(4);
  const renamed: KerasWeights = new Map(
    [...w].map(([k, v]) => [k === 'normalization' ? 'normalization_1' : k === 'rescaling' ? 'rescaling_2' : k, v]),
  );
  const net = checkEfficientNetWeights(renamed, 'x.h5');
  assert.equal(net.imagenetStdFix, false);
  assert.ok(net.layers.some((l) => l.kind === 'rescaling') && net.layers.some((l) => l.kind === 'normalization'));
  assert.equal(net.tensors.get('normalization')!.get('variance')!.data, w.get('normalization')!.get('variance')!.data);
  // weights="imagenet" under Keras ≥ 2.10: input_1, rescaling, normalization, rescaling_1, stem_conv_pad, …
  const entries = [...w];
  const at = entries.findIndex(([k]) => k === 'normalization') + 1;
  const withFix: KerasWeights = new Map([...entries.slice(0, at), ['rescaling_1', new Map()], ...entries.slice(at)]);
  assert.equal(checkEfficientNetWeights(withFix, 'x.h5').imagenetStdFix, true);
  // no preprocessing layers listed at all (an old Keras EfficientNet): none applied
  const bare: KerasWeights = new Map(entries.filter(([k]) => k !== 'rescaling' && k !== 'normalization'));
  const b = checkEfficientNetWeights(bare, 'x.h5');
  assert.ok(!b.layers.some((l) => l.kind === 'rescaling' || l.kind === 'normalization'));
});

test('a nested model (Sequential([EfficientNetB0, Dense]) saved by Keras) is expanded into its sublayers', async () => {
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  await withTempDir(async (dir) => {
    const w = randomEfficientNetWeights(5);
    const p = join(dir, 'nested.h5');
    const f = new h5wasm.File(p, 'w');
    const names = ['efficientnetb0', 'dense'];
    f.create_attribute('layer_names', names, [2], 'A20');
    const g = f.create_group('efficientnetb0');
    const stored: string[] = [];
    for (const [layer, ws] of w) {
      if (!ws.size) continue;
      const sub = g.create_group(layer);
      for (const [name, t] of ws) {
        sub.create_dataset({ name: `${name}:0`, data: t.data, shape: t.shape, dtype: '<f' });
        stored.push(`${layer}/${name}:0`);
      }
    }
    g.create_attribute('weight_names', stored, [stored.length], 'A64');
    const d = f.create_group('dense');
    d.create_group('dense').create_dataset({
      name: 'kernel:0',
      data: new Float32Array(1280 * 3),
      shape: [1280, 3],
      dtype: '<f',
    });
    d.create_attribute('weight_names', ['dense/kernel:0'], [1], 'A20');
    f.close();
    const r = await readKerasH5(p);
    assert.deepEqual(r.nested, ['efficientnetb0']);
    const net = checkEfficientNetWeights(r.weights, p);
    assert.deepEqual(
      net.tensors.get('block7a_project_conv')!.get('kernel')!.data,
      w.get('block7a_project_conv')!.get('kernel')!.data,
    );
    // the standard rescaling and normalisation are kept
    assert.deepEqual(
      net.layers.slice(0, 3).map((l) => l.kind),
      ['input', 'rescaling', 'normalization'],
    );
  });
});
