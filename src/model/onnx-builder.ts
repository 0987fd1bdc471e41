// EfficientNetB0 (spec + Keras weights) → a serialised ONNX model that onnxruntime runs on CPU.
//
//   image [N, H, W, 3] float 0–255 (NHWC, like Keras) → Transpose → Keras rescaling/normalisation
//   → stem → 16 MBConv blocks → top → GlobalAveragePool → features [N, 1280]
//
// Keras ZeroPadding2D becomes Pad, DepthwiseConv2D a grouped Conv (group = C), swish x·sigmoid(x),
// squeeze-excitation GlobalAveragePool → 1×1 convs → Mul. BatchNorm is folded into the preceding
// convolution by default (in float64), or kept as BatchNormalization nodes.
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';
import type { EfficientNetWeights } from './efficientnet-weights.js';
import { IMAGENET_STDDEV_RGB } from './efficientnet-weights.js';
import { EFFICIENTNET, type LayerSpec } from './efficientnet-spec.js';

// onnx-proto is CommonJS: its namespace comes through the default export under ESM.
const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export const ONNX_INPUT = 'image';
export const ONNX_OUTPUT = 'features';
export const ONNX_OPSET = 13;

export interface BuildOnnxOptions {
  /** Fold BatchNorm into the convolutions (default true); false keeps BatchNormalization nodes. */
  foldBatchNorm?: boolean;
  /** Model doc string (e.g. where the weights came from). */
  docString?: string;
}

/** A tiny graph-building helper: unique names, initialisers, nodes. */
export class GraphBuilder {
  readonly nodes: P.INodeProto[] = [];
  readonly initializers: P.ITensorProto[] = [];
  private n = 0;

  fresh(base: string): string {
    return `${base}__${this.n++}`;
  }

  constFloat(name: string, dims: number[], values: ArrayLike<number>): string {
    const f = Float32Array.from(values);
    this.initializers.push({
      name,
      dims,
      dataType: FLOAT,
      rawData: new Uint8Array(f.buffer, f.byteOffset, f.byteLength),
    });
    return name;
  }

  constInt64(name: string, dims: number[], values: readonly number[]): string {
    this.initializers.push({ name, dims, dataType: INT64, int64Data: values.map((v) => v) });
    return name;
  }

  node(opType: string, inputs: string[], output: string, attrs: P.IAttributeProto[] = [], name?: string): string {
    this.nodes.push({ opType, input: inputs, output: [output], name: name ?? output, attribute: attrs });
    return output;
  }
}

export function intsAttr(name: string, ints: number[]): P.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints };
}
export function intAttr(name: string, i: number): P.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}
export function floatAttr(name: string, f: number): P.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f };
}

export function valueInfo(name: string, dims: (number | string)[]): P.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function encodeModel(
  g: GraphBuilder,
  inputs: P.IValueInfoProto[],
  outputs: P.IValueInfoProto[],
  name: string,
  docString = '',
): Uint8Array {
  const model: P.IModelProto = {
    irVersion: 7,
    producerName: 'cytoimagenet',
    docString,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    graph: { name, node: g.nodes, initializer: g.initializers, input: inputs, output: outputs },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** HWIO (Keras) → OIHW (ONNX). */
function hwioToOihw(k: Float32Array, kh: number, kw: number, cin: number, cout: number): Float64Array {
  const out = new Float64Array(k.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = k[((y * kw + x) * cin + i) * cout + o];
  return out;
}

/** Build the ONNX model bytes for an EfficientNetB0 with these weights. */
export function buildEfficientNetOnnx(net: EfficientNetWeights, options: BuildOnnxOptions = {}): Uint8Array {
  const fold = options.foldBatchNorm ?? true;
  const g = new GraphBuilder();
  const out = new Map<string, string>();
  const tensor = (layer: string, w: string): Float32Array => {
    const t = net.tensors.get(layer)?.get(w);
    if (!t) throw new Error(`onnx-builder: missing ${layer}/${w}`);
    return t.data;
  };
  const byName = new Map(net.layers.map((l) => [l.name, l]));
  // Which BN layers are folded into the conv that feeds them (the conv has no other consumer).
  const consumers = new Map<string, number>();
  for (const l of net.layers) for (const i of l.inputs) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  const foldedInto = new Map<string, LayerSpec>(); // conv name → bn layer
  if (fold) {
    for (const l of net.layers) {
      if (l.kind !== 'batch_norm') continue;
      const src = byName.get(l.inputs[0]);
      if (
        src &&
        (src.kind === 'conv' || src.kind === 'depthwise_conv') &&
        (src.activation ?? 'linear') === 'linear' &&
        consumers.get(src.name) === 1
      ) {
        foldedInto.set(src.name, l);
      }
    }
  }
  const skip = new Set([...foldedInto.values()].map((l) => l.name));

  let last = g.node('Transpose', [ONNX_INPUT], 'nchw_input', [intsAttr('perm', [0, 3, 1, 2])]);
  const inputOf = (l: LayerSpec, i = 0): string => out.get(l.inputs[i]) ?? last;

  const applyActivation = (x: string, a: LayerSpec['activation'], name: string): string => {
    if (!a || a === 'linear') return x;
    const s = g.node('Sigmoid', [x], a === 'sigmoid' ? name : `${name}__sigmoid`);
    return a === 'sigmoid' ? s : g.node('Mul', [x, s], name);
  };

  for (const l of net.layers) {
    let y: string;
    switch (l.kind) {
      case 'input':
        y = last;
        break;
      case 'rescaling': {
        const s = g.constFloat(`${l.name}/scale`, [], [l.scale ?? 1]);
        y = g.node('Mul', [inputOf(l), s], l.offset ? `${l.name}__mul` : l.name);
        if (l.offset) y = g.node('Add', [y, g.constFloat(`${l.name}/offset`, [], [l.offset])], l.name);
        break;
      }
      case 'normalization': {
        const mean = tensor(l.name, 'mean');
        const variance = tensor(l.name, 'variance');
        const C = EFFICIENTNET.channels;
        const inv = Array.from({ length: C }, (_, c) => {
          let d = Math.max(Math.sqrt(variance[c]), EFFICIENTNET.normalizationEpsilon);
          if (net.imagenetStdFix) d *= Math.sqrt(IMAGENET_STDDEV_RGB[c]);
          return 1 / d;
        });
        const m = g.constFloat(`${l.name}/mean`, [1, C, 1, 1], Array.from(mean));
        const k = g.constFloat(`${l.name}/inv_std`, [1, C, 1, 1], inv);
        y = g.node('Mul', [g.node('Sub', [inputOf(l), m], `${l.name}__sub`), k], l.name);
        break;
      }
      case 'zero_padding': {
        const [[t, b], [le, r]] = l.pad!;
        const pads = g.constInt64(`${l.name}/pads`, [8], [0, 0, t, le, 0, 0, b, r]);
        y = g.node('Pad', [inputOf(l), pads], l.name);
        break;
      }
      case 'conv':
      case 'depthwise_conv': {
        const k = l.kernel!;
        const depthwise = l.kind === 'depthwise_conv';
        const cout = l.channels;
        const cin = depthwise ? 1 : net.tensors.get(l.name)!.get('kernel')!.shape[2];
        const W = depthwise
          ? (() => {
              // (k, k, C, 1) → (C, 1, k, k)
              const src = tensor(l.name, 'depthwise_kernel');
              const o = new Float64Array(src.length);
              for (let y0 = 0; y0 < k; y0++)
                for (let x0 = 0; x0 < k; x0++)
                  for (let c = 0; c < cout; c++) o[(c * k + y0) * k + x0] = src[(y0 * k + x0) * cout + c];
              return o;
            })()
          : hwioToOihw(tensor(l.name, 'kernel'), k, k, cin, cout);
        let B: Float64Array | undefined = l.useBias ? Float64Array.from(tensor(l.name, 'bias')) : undefined;
        const bn = foldedInto.get(l.name);
        if (bn) {
          const gamma = tensor(bn.name, 'gamma');
          const beta = tensor(bn.name, 'beta');
          const mean = tensor(bn.name, 'moving_mean');
          const variance = tensor(bn.name, 'moving_variance');
          const eps = bn.epsilon ?? EFFICIENTNET.bnEpsilon;
          const per = W.length / cout;
          const nb = new Float64Array(cout);
          for (let o = 0; o < cout; o++) {
            const s = gamma[o] / Math.sqrt(variance[o] + eps);
            for (let i = 0; i < per; i++) W[o * per + i] *= s;
            nb[o] = beta[o] + ((B ? B[o] : 0) - mean[o]) * s;
          }
          B = nb;
        }
        const p = l.padding === 'same' ? (k - 1) / 2 : 0;
        const inputs = [inputOf(l), g.constFloat(`${l.name}/W`, [cout, cin, k, k], W)];
        if (B) inputs.push(g.constFloat(`${l.name}/B`, [cout], B));
        const attrs = [
          intsAttr('kernel_shape', [k, k]),
          intsAttr('strides', [l.stride!, l.stride!]),
          intsAttr('pads', [p, p, p, p]),
        ];
        if (depthwise) attrs.push(intAttr('group', cout));
        const convName = bn ? bn.name : l.name;
        const act = l.activation ?? 'linear';
        y = g.node('Conv', inputs, act === 'linear' ? convName : `${convName}__conv`, attrs);
        y = applyActivation(y, act, convName);
        if (bn) out.set(bn.name, y);
        break;
      }
      case 'batch_norm': {
        if (skip.has(l.name)) continue;
        const C = l.channels;
        y = g.node(
          'BatchNormalization',
          [
            inputOf(l),
            g.constFloat(`${l.name}/gamma`, [C], tensor(l.name, 'gamma')),
            g.constFloat(`${l.name}/beta`, [C], tensor(l.name, 'beta')),
            g.constFloat(`${l.name}/moving_mean`, [C], tensor(l.name, 'moving_mean')),
            g.constFloat(`${l.name}/moving_variance`, [C], tensor(l.name, 'moving_variance')),
          ],
          l.name,
          [floatAttr('epsilon', l.epsilon ?? EFFICIENTNET.bnEpsilon)],
        );
        break;
      }
      case 'activation':
        y = applyActivation(inputOf(l), l.activation, l.name);
        break;
      case 'global_avg_pool':
        y = g.node('GlobalAveragePool', [inputOf(l)], l.name);
        break;
      case 'reshape': // [N, C, 1, 1] already
      case 'dropout':
        y = inputOf(l);
        break;
      case 'multiply':
        y = g.node('Mul', [inputOf(l, 0), inputOf(l, 1)], l.name);
        break;
      case 'add':
        y = g.node('Add', [inputOf(l, 0), inputOf(l, 1)], l.name);
        break;
      default:
        throw new Error(`onnx-builder: layer kind ${l.kind} not supported`);
    }
    out.set(l.name, y);
    last = y;
  }
  const pooled = g.node('GlobalAveragePool', [last], 'avg_pool');
  g.node('Flatten', [pooled], ONNX_OUTPUT, [intAttr('axis', 1)]);
  return encodeModel(
    g,
    [valueInfo(ONNX_INPUT, ['N', 'H', 'W', EFFICIENTNET.channels])],
    [valueInfo(ONNX_OUTPUT, ['N', EFFICIENTNET.featureDim])],
    'efficientnetb0',
    options.docString,
  );
}
