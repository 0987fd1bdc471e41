// Moving weights between the addon, the features stage's Keras-h5 layout, and checkpoint bytes.
import { efficientNetB0Layers, shapeSize } from '../model/efficientnet-spec.js';
import { checkEfficientNetWeights, randomEfficientNetWeights } from '../model/efficientnet-weights.js';
import { readKerasH5, type KerasTensor, type KerasWeights } from '../model/keras-h5.js';
import { UserError } from '../util/errors.js';
import type { NativeModel } from './engine.js';
import { storedName, type TrainGraph } from './graph.js';

/** Keras-like random init (the features stage's seeded initialisers) for the full classifier. */
export function initWeights(model: NativeModel, graph: TrainGraph, seed: number): void {
  const classes = model.numClasses;
  setKerasWeights(model, graph, randomEfficientNetWeights(seed, { includeTop: true, classes }));
}

/** Set every weight the graph has from a KerasWeights map (all must be present). */
export function setKerasWeights(model: NativeModel, graph: TrainGraph, weights: KerasWeights): void {
  for (const w of graph.weights) {
    const t = weights.get(w.layer)?.get(w.short);
    if (!t) throw new Error(`weights: ${w.name} is missing`);
    if (t.data.length !== shapeSize(w.shape))
      throw new Error(`weights: ${w.name} has ${t.data.length} values, expected ${shapeSize(w.shape)}`);
    model.setWeight(w.name, t.data);
  }
}

/**
 * The model's weights in Keras's layout and layer order. `top: false` gives the no-top backbone
 * with its avg_pool (what Keras's *_notop.h5 holds and `features --model` loads).
 */
export function kerasWeightsOf(model: NativeModel, options: { top: boolean }): KerasWeights {
  const layers = efficientNetB0Layers(
    options.top ? { includeTop: true, classes: model.numClasses } : { includeTop: false, pooling: true },
  );
  const out: KerasWeights = new Map();
  for (const l of layers) {
    const m = new Map<string, KerasTensor>();
    for (const w of l.weights)
      m.set(w.name, { shape: [...w.shape], data: model.getWeight(storedName(l.name, w.name)) });
    out.set(l.name, m);
  }
  return out;
}

const MAGIC = 'CINW1';

/** All graph weights as one buffer: MAGIC, u32 header length, JSON header, float32 data. */
export function encodeWeights(model: NativeModel, graph: TrainGraph): Buffer {
  const index: { name: string; shape: number[]; offset: number }[] = [];
  const parts: Float32Array[] = [];
  let offset = 0;
  for (const w of graph.weights) {
    const data = model.getWeight(w.name);
    index.push({ name: w.name, shape: w.shape, offset });
    parts.push(data);
    offset += data.length;
  }
  const header = Buffer.from(JSON.stringify(index), 'utf8');
  const out = Buffer.alloc(MAGIC.length + 4 + header.length + offset * 4);
  out.write(MAGIC, 0, 'ascii');
  out.writeUInt32LE(header.length, MAGIC.length);
  header.copy(out, MAGIC.length + 4);
  let pos = MAGIC.length + 4 + header.length;
  for (const p of parts) {
    Buffer.from(p.buffer, p.byteOffset, p.byteLength).copy(out, pos);
    pos += p.byteLength;
  }
  return out;
}

export function decodeWeights(buf: Buffer): Map<string, Float32Array> {
  if (buf.toString('ascii', 0, MAGIC.length) !== MAGIC) throw new Error('not a cytoimagenet weights file');
  const hlen = buf.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  const index = JSON.parse(buf.toString('utf8', start, start + hlen)) as {
    name: string;
    shape: number[];
    offset: number;
  }[];
  const base = start + hlen;
  const out = new Map<string, Float32Array>();
  for (const e of index) {
    const n = shapeSize(e.shape);
    const copy = new Float32Array(n);
    Buffer.from(copy.buffer).set(buf.subarray(base + e.offset * 4, base + (e.offset + n) * 4));
    out.set(e.name, copy);
  }
  return out;
}

export function loadEncodedWeights(model: NativeModel, graph: TrainGraph, buf: Buffer): void {
  const m = decodeWeights(buf);
  for (const w of graph.weights) {
    const d = m.get(w.name);
    if (!d) throw new Error(`checkpoint lacks weight ${w.name}`);
    model.setWeight(w.name, d);
  }
}

/**
 * Start from a Keras EfficientNetB0 .h5 (no-top or full, e.g. ImageNet or CytoImageNet weights):
 * every backbone weight is copied; the classifier top stays as initialised (a new Dense head, as
 * the spec's "ImageNet start" does). Returns the number of tensors set.
 */
export async function loadInitWeights(model: NativeModel, graph: TrainGraph, file: string): Promise<number> {
  const h5 = await readKerasH5(file);
  const net = checkEfficientNetWeights(h5.weights, file);
  if (net.imagenetStdFix) {
    throw new UserError(
      'this .h5 comes from a Keras ≥ 2.10 ImageNet EfficientNet with an extra per-channel rescaling (rescaling_1) that the training graph does not have',
      { file },
      'save the backbone from a model built with weights=None and load_weights, or start from random weights',
    );
  }
  if (!net.layers.some((l) => l.name === 'rescaling')) {
    throw new UserError(
      "this .h5 has no 'rescaling' layer, so it expects another input scale than 0–255 images ÷ 255",
      { file },
    );
  }
  const wanted = new Set(graph.weights.map((w) => w.name));
  let n = 0;
  for (const [layer, ws] of net.tensors) {
    for (const [short, t] of ws) {
      const name = storedName(layer, short);
      if (!wanted.has(name)) continue;
      model.setWeight(name, t.data);
      n++;
    }
  }
  return n;
}
