// EfficientNetB0 weights keyed by Keras layer name: checked against the spec (a mismatch names the
// layer), or made from a seed (the paper's "random" baseline).
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import type { KerasTensor, KerasWeights } from './keras-h5.js';
import { efficientNetB0Layers, shapeSize, type LayerSpec } from './efficientnet-spec.js';

/** What the ONNX builder and the reference forward pass need: the backbone layers plus their tensors. */
export interface EfficientNetWeights {
  /** The backbone spec (no top, no pooling), possibly with an ImageNet std-fix rescaling (see below). */
  layers: LayerSpec[];
  /** layer → weight short name → tensor, for every backbone layer with weights. */
  tensors: Map<string, Map<string, KerasTensor>>;
  /**
   * Keras ≥ 2.10 builds EfficientNet with weights="imagenet" with an extra Rescaling(1/sqrt(std))
   * after `normalization` (a TensorFlow change to EfficientNet's ImageNet weights). A file whose layer_names lists `rescaling_1` there was
   * saved from such a model, and the same layer is applied here.
   */
  imagenetStdFix: boolean;
}

/** Keras's IMAGENET_STDDEV_RGB, used by the std-fix rescaling. */
export const IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225] as const;

function fmt(shape: readonly number[]): string {
  return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
}

/**
 * Check the weights of an .h5 against EfficientNetB0 and return the backbone. The classifier top
 * (predictions) and anything after top_activation are ignored; every backbone weight must be
 * present with Keras's exact shape (normalization's mean/variance may be stored broadcast, e.g.
 * (1, 1, 1, 3)). Errors name the layer and the weight.
 */
export function checkEfficientNetWeights(weights: KerasWeights, file?: string): EfficientNetWeights {
  const spec = efficientNetB0Layers({ pooling: false });
  const layerNames = [...weights.keys()];
  const where = { file };
  const known = new Set(spec.map((l) => l.name));
  // Keras numbers auto-named layers per session (normalization_1, rescaling_2, …): a model built
  // after another one in the same process saves its preprocessing layers under such names.
  const isRescaling = (n: string): boolean => /^rescaling(_\d+)?$/.test(n);
  const normName = layerNames.find((n) => /^normalization(_\d+)?$/.test(n));
  const ignorable = new Set(['avg_pool', 'max_pool', 'top_dropout', 'predictions']);
  // Weighted layers EfficientNetB0 does not have are a head when they all come after its last
  // layer (a fine-tuned classifier); anywhere else they mean another architecture.
  const order = [...weights.entries()].filter(([, ws]) => ws.size > 0).map(([n]) => n);
  const lastKnown = Math.max(-1, ...order.map((n, i) => (known.has(n) || n === normName ? i : -1)));
  order.forEach((name, i) => {
    if (known.has(name) || name === normName || ignorable.has(name) || i > lastKnown) return;
    throw new UserError(
      `layer '${name}' is not a layer of Keras EfficientNetB0`,
      where,
      'expected an EfficientNetB0 saved by tf.keras (layer names like stem_conv, block1a_dwconv, top_conv); for other architectures export the model to ONNX',
    );
  });
  const tensors = new Map<string, Map<string, KerasTensor>>();
  for (const l of spec) {
    if (l.weights.length === 0) continue;
    const got = weights.get(l.kind === 'normalization' && normName ? normName : l.name);
    if (!got || got.size === 0) {
      if (l.kind === 'normalization') continue; // older Keras EfficientNets had no Normalization layer
      throw new UserError(
        `layer '${l.name}' is missing from the weights file`,
        where,
        'the file must hold a full Keras EfficientNetB0 backbone (include_top=False or the full model)',
      );
    }
    const out = new Map<string, KerasTensor>();
    for (const w of l.weights) {
      const t = got.get(w.name);
      if (!t) {
        throw new UserError(
          `layer '${l.name}': weight '${w.name}' is missing (has ${[...got.keys()].join(', ') || 'none'})`,
          where,
        );
      }
      const sameShape = t.shape.length === w.shape.length && t.shape.every((d, i) => d === w.shape[i]);
      const broadcastOk = l.kind === 'normalization' && t.data.length === shapeSize(w.shape);
      if (!sameShape && !broadcastOk) {
        throw new UserError(
          `layer '${l.name}': weight '${w.name}' has shape ${fmt(t.shape)}, EfficientNetB0 expects ${fmt(w.shape)}`,
          where,
        );
      }
      if (t.data.length !== shapeSize(w.shape)) {
        throw new UserError(
          `layer '${l.name}': weight '${w.name}' holds ${t.data.length} values, expected ${shapeSize(w.shape)}`,
          where,
        );
      }
      out.set(w.name, { shape: [...w.shape], data: t.data });
    }
    tensors.set(l.name, out);
  }
  let layers = spec;
  if (!tensors.has('normalization')) layers = layers.filter((l) => l.kind !== 'normalization');
  // A file lists its weightless layers too: follow it on whether Keras's own rescaling is there
  // (a nested model's sublayers are not listed, weightless ones not even expanded, so there the
  // standard layers are assumed).
  const flat = layerNames.includes('stem_activation');
  if (flat && !layerNames.some(isRescaling)) layers = layers.filter((l) => l.name !== 'rescaling');
  const normIdx = normName ? layerNames.indexOf(normName) : -1;
  const imagenetStdFix =
    normIdx > 0 && isRescaling(layerNames[normIdx + 1] ?? '') && layerNames.slice(0, normIdx).some(isRescaling);
  return { layers, tensors, imagenetStdFix };
}

/** Standard normal by Box–Muller from the seeded stream. */
function normal(rng: Rng): number {
  let u = rng.float();
  while (u === 0) u = rng.float();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.float());
}

/**
 * Keras's initialisers for EfficientNet, seeded: conv kernels VarianceScaling(2.0, fan_out,
 * truncated normal) — for a depthwise kernel (k, k, C, 1) fan_out is k·k — the dense kernel
 * VarianceScaling(1/3, fan_out, uniform), biases 0, BatchNorm gamma 1 / beta 0 / mean 0 / variance 1,
 * Normalization mean 0 / variance 1 / count 0 (an un-adapted layer, as in weights=None).
 * Each layer draws from its own stream Rng.derive(seed, 'efficientnetb0', layer), so a layer's
 * values do not depend on the others.
 */
export function randomEfficientNetWeights(
  seed: number | string,
  options: { includeTop?: boolean; classes?: number } = {},
): KerasWeights {
  const layers = efficientNetB0Layers({
    includeTop: options.includeTop ?? false,
    classes: options.classes,
    pooling: !options.includeTop,
  });
  const out: KerasWeights = new Map();
  for (const l of layers) {
    const m = new Map<string, KerasTensor>();
    out.set(l.name, m);
    const rng = Rng.derive(seed, 'efficientnetb0', l.name);
    for (const w of l.weights) {
      const n = shapeSize(w.shape);
      const data = new Float32Array(n);
      if (w.name === 'kernel' || w.name === 'depthwise_kernel') {
        const fanOut = w.shape.length === 4 ? w.shape[0] * w.shape[1] * w.shape[3] : w.shape[w.shape.length - 1];
        if (l.kind === 'dense') {
          const limit = Math.sqrt((3 * (1 / 3)) / fanOut);
          for (let i = 0; i < n; i++) data[i] = (2 * rng.float() - 1) * limit;
        } else {
          // truncated at ±2σ; 0.8796… corrects the variance lost by truncation (as Keras does)
          const std = Math.sqrt(2 / fanOut) / 0.87962566103423978;
          for (let i = 0; i < n; i++) {
            let z = normal(rng);
            while (Math.abs(z) > 2) z = normal(rng);
            data[i] = z * std;
          }
        }
      } else if (w.name === 'gamma' || w.name === 'moving_variance' || w.name === 'variance') {
        data.fill(1);
      }
      m.set(w.name, { shape: [...w.shape], data });
    }
  }
  return out;
}
