// The features stage's EfficientNetB0 spec (Keras layers as data) → the op list the LibTorch addon
// interprets. The addon has no architecture of its own: names, shapes and wiring all come from
// src/features/efficientnet-spec.ts, so the trained model and the ONNX graph cannot drift apart.
import { efficientNetB0Layers, type LayerSpec } from '../model/efficientnet-spec.js';

export type WeightLayout = 'conv' | 'depthwise' | 'dense' | 'flat';

export interface GraphWeight {
  /** Stored Keras name, `<layer>/<weight>:0`. */
  name: string;
  layer: string;
  short: string;
  /** Keras shape. */
  shape: number[];
  layout: WeightLayout;
  trainable: boolean;
}

export interface GraphOp {
  kind:
    | 'input'
    | 'rescale'
    | 'normalize'
    | 'pad'
    | 'conv'
    | 'bn'
    | 'act'
    | 'gap'
    | 'reshape4'
    | 'mul'
    | 'add'
    | 'dropout'
    | 'dense';
  in: string[];
  out: string;
  w?: string[];
  stride?: number;
  groups?: number;
  pad?: number;
  pads?: number[];
  eps?: number;
  momentum?: number;
  rate?: number;
  scale?: number;
  offset?: number;
  fn?: string;
  keepdims?: boolean;
}

export interface TrainGraph {
  weights: GraphWeight[];
  ops: GraphOp[];
  /** Logits (the predictions layer before its softmax). */
  output: string;
  /** Global-average-pooled backbone features. */
  features: string;
  layers: LayerSpec[];
}

/** Keras BatchNormalization momentum (moving = 0.99·moving + 0.01·batch). */
export const BN_MOMENTUM = 0.99;

export function storedName(layer: string, weight: string): string {
  return `${layer}/${weight}:0`;
}

function layoutOf(l: LayerSpec, weight: string): WeightLayout {
  if (l.kind === 'conv' && weight === 'kernel') return 'conv';
  if (l.kind === 'depthwise_conv') return 'depthwise';
  if (l.kind === 'dense' && weight === 'kernel') return 'dense';
  return 'flat';
}

function trainableOf(l: LayerSpec, weight: string): boolean {
  if (l.kind === 'normalization') return false;
  return !(l.kind === 'batch_norm' && (weight === 'moving_mean' || weight === 'moving_variance'));
}

/** The full classifier (backbone → avg_pool → top_dropout → predictions) for `classes` labels. */
export function trainGraph(classes: number): TrainGraph {
  if (!Number.isInteger(classes) || classes < 2)
    throw new RangeError(`a classifier needs at least 2 classes, got ${classes}`);
  const layers = efficientNetB0Layers({ includeTop: true, classes });
  const weights: GraphWeight[] = [];
  const ops: GraphOp[] = [];
  const w = (l: LayerSpec, ...names: string[]): string[] => names.map((n) => storedName(l.name, n));
  for (const l of layers) {
    for (const ws of l.weights) {
      weights.push({
        name: storedName(l.name, ws.name),
        layer: l.name,
        short: ws.name,
        shape: [...ws.shape],
        layout: layoutOf(l, ws.name),
        trainable: trainableOf(l, ws.name),
      });
    }
    const io = { in: [...l.inputs], out: l.name };
    // A conv/dense with its own activation: the op writes `<name>/linear` and an act op `<name>`.
    const act = l.activation && l.activation !== 'linear' && l.kind !== 'activation' ? l.activation : undefined;
    const linearOut = act && act !== 'softmax' ? `${l.name}/linear` : l.name;
    switch (l.kind) {
      case 'input':
        ops.push({ kind: 'input', in: [], out: l.name });
        break;
      case 'rescaling':
        ops.push({ kind: 'rescale', ...io, scale: l.scale ?? 1, offset: l.offset ?? 0 });
        break;
      case 'normalization':
        ops.push({ kind: 'normalize', ...io, w: w(l, 'mean', 'variance') });
        break;
      case 'zero_padding': {
        const p = l.pad ?? [
          [0, 0],
          [0, 0],
        ];
        ops.push({ kind: 'pad', ...io, pads: [p[0][0], p[0][1], p[1][0], p[1][1]] });
        break;
      }
      case 'conv':
      case 'depthwise_conv': {
        const k = l.kernel ?? 1;
        const same = (l.padding ?? 'valid') === 'same';
        if (same && (l.stride ?? 1) !== 1)
          throw new Error(`graph: ${l.name}: 'same' padding with stride ${l.stride} is not supported`);
        const names =
          l.kind === 'depthwise_conv' ? w(l, 'depthwise_kernel') : l.useBias ? w(l, 'kernel', 'bias') : w(l, 'kernel');
        ops.push({
          kind: 'conv',
          in: io.in,
          out: linearOut,
          w: names,
          stride: l.stride ?? 1,
          pad: same ? Math.floor(k / 2) : 0,
          groups: l.kind === 'depthwise_conv' ? l.channels : 1,
        });
        break;
      }
      case 'batch_norm':
        ops.push({
          kind: 'bn',
          ...io,
          w: w(l, 'gamma', 'beta', 'moving_mean', 'moving_variance'),
          eps: l.epsilon ?? 1e-3,
          momentum: BN_MOMENTUM,
        });
        break;
      case 'activation':
        ops.push({ kind: 'act', ...io, fn: l.activation ?? 'linear' });
        break;
      case 'global_avg_pool':
        ops.push({ kind: 'gap', ...io, keepdims: false });
        break;
      case 'reshape':
        ops.push({ kind: 'reshape4', ...io });
        break;
      case 'multiply':
        ops.push({ kind: 'mul', ...io });
        break;
      case 'add':
        ops.push({ kind: 'add', ...io });
        break;
      case 'dropout':
        // Keras's drop-connect uses noise_shape (None, 1, 1, 1): whole samples; top_dropout elements.
        ops.push({ kind: 'dropout', ...io, rate: l.rate ?? 0, fn: l.block ? 'sample' : 'element' });
        break;
      case 'dense':
        ops.push({ kind: 'dense', in: io.in, out: linearOut, w: w(l, 'kernel', 'bias') });
        break;
      default: {
        const never: never = l.kind;
        throw new Error(`graph: unsupported layer kind ${String(never)}`);
      }
    }
    if (act && act !== 'softmax') ops.push({ kind: 'act', in: [linearOut], out: l.name, fn: act });
  }
  const last = layers.at(-1);
  if (last?.kind !== 'dense') throw new Error('graph: the model must end in a dense layer');
  return { weights, ops, output: last.name, features: 'avg_pool', layers };
}
