import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countParams, efficientNetB0Layers } from '../../src/model/efficientnet-spec.js';
import { trainGraph } from '../../src/train/graph.js';

test('the training graph has exactly the Keras EfficientNetB0 weights (names, shapes, count) of the shared spec', () => {
  const g = trainGraph(894);
  const spec = efficientNetB0Layers({ includeTop: true, classes: 894 });
  const want = spec.flatMap((l) => l.weights.map((w) => [`${l.name}/${w.name}:0`, w.shape.join('x')]));
  assert.deepEqual(
    g.weights.map((w) => [w.name, w.shape.join('x')]),
    want,
  );
  const n = g.weights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(n, countParams(spec));
  // Keras's model.summary(): 4,049,571 for the backbone + the 894-way dense layer.
  assert.equal(n, 4_049_571 + 1280 * 894 + 894);
  assert.equal(g.weights.filter((w) => !w.trainable).length, 3 + 49 * 2); // normalization mean/variance/count + 49 BN layers' moving stats
});

test('every op reads tensors defined before it, and the graph ends in the logits', () => {
  const g = trainGraph(10);
  const defined = new Set<string>();
  for (const op of g.ops) {
    for (const i of op.in) assert.ok(defined.has(i), `${op.out} reads ${i} first`);
    defined.add(op.out);
  }
  assert.equal(g.output, 'predictions');
  assert.ok(defined.has('avg_pool'));
  const drops = g.ops.filter((o) => o.kind === 'dropout');
  assert.equal(drops.filter((o) => o.fn === 'sample').length, 9); // drop-connect before each residual add with rate > 0
  assert.equal(drops.filter((o) => o.fn === 'element').length, 1); // top_dropout
  assert.throws(() => trainGraph(1), RangeError);
});
