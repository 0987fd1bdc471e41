// Keras's EfficientNetB0 (tf.keras.applications.efficientnet, Keras 2.x) as plain data: every layer
// in model.layers order with its Keras name, kind, hyper-parameters, graph inputs and the weights it
// stores in an .h5 file. This is the one architecture definition shared by features (h5 import, ONNX
// graph, reference forward pass, random init) and train (libtorch model, backbone export), so that
// names and shapes can never drift apart.
//
// Stored weight names: a weight `w` of layer `L` is the h5 dataset `L/L/w:0` (weights-only file) or
// `model_weights/L/L/w:0` (full-model file); `weights[i].name` here is the short name `w`.

/** One B0 stage as Keras writes it in DEFAULT_BLOCKS_ARGS (width and depth coefficients are 1.0). */
export interface BlockArgs {
  kernel: number;
  repeats: number;
  filtersIn: number;
  filtersOut: number;
  expandRatio: number;
  stride: number;
}

export const B0_BLOCK_ARGS: readonly BlockArgs[] = [
  { kernel: 3, repeats: 1, filtersIn: 32, filtersOut: 16, expandRatio: 1, stride: 1 },
  { kernel: 3, repeats: 2, filtersIn: 16, filtersOut: 24, expandRatio: 6, stride: 2 },
  { kernel: 5, repeats: 2, filtersIn: 24, filtersOut: 40, expandRatio: 6, stride: 2 },
  { kernel: 3, repeats: 3, filtersIn: 40, filtersOut: 80, expandRatio: 6, stride: 2 },
  { kernel: 5, repeats: 3, filtersIn: 80, filtersOut: 112, expandRatio: 6, stride: 1 },
  { kernel: 5, repeats: 4, filtersIn: 112, filtersOut: 192, expandRatio: 6, stride: 2 },
  { kernel: 3, repeats: 1, filtersIn: 192, filtersOut: 320, expandRatio: 6, stride: 1 },
];

/** Keras EfficientNet constants. */
export const EFFICIENTNET = {
  stemFilters: 32,
  topFilters: 1280,
  seRatio: 0.25,
  /** BatchNormalization(axis=3) default epsilon in the EfficientNet code. */
  bnEpsilon: 1e-3,
  /** keras.backend.epsilon(): Normalization divides by max(sqrt(variance), this). */
  normalizationEpsilon: 1e-7,
  /** drop_connect_rate: block i of n gets Dropout(rate·i/n) before its residual add (no-op at inference). */
  dropConnectRate: 0.2,
  /** top_dropout rate of the full model. */
  topDropout: 0.2,
  /** Input channels (RGB). */
  channels: 3,
  /** Output width of the global average pool. */
  featureDim: 1280,
  /** Keras ImageNet classifier width. */
  imagenetClasses: 1000,
} as const;

/** One MBConv block after Keras's repeat expansion: block1a, block2a, block2b, ... (16 for B0). */
export interface BlockSpec {
  /** Keras prefix without the trailing underscore, e.g. "block2b". */
  name: string;
  kernel: number;
  stride: number;
  filtersIn: number;
  filtersOut: number;
  expandRatio: number;
  /** filtersIn · expandRatio: the width of the depthwise conv and SE. */
  expanded: number;
  /** max(1, floor(filtersIn · 0.25)) — note: of the block input, not the expanded width. */
  seFilters: number;
  /** Residual add: id_skip and stride 1 and filtersIn == filtersOut. */
  residual: boolean;
  /** drop_connect_rate · (block index) / (number of blocks); Keras adds a Dropout layer only when > 0. */
  dropRate: number;
}

export function efficientNetB0Blocks(): BlockSpec[] {
  const total = B0_BLOCK_ARGS.reduce((s, a) => s + a.repeats, 0);
  const out: BlockSpec[] = [];
  let b = 0;
  B0_BLOCK_ARGS.forEach((args, i) => {
    for (let j = 0; j < args.repeats; j++) {
      const filtersIn = j === 0 ? args.filtersIn : args.filtersOut;
      const stride = j === 0 ? args.stride : 1;
      out.push({
        name: `block${i + 1}${String.fromCharCode(97 + j)}`,
        kernel: args.kernel,
        stride,
        filtersIn,
        filtersOut: args.filtersOut,
        expandRatio: args.expandRatio,
        expanded: filtersIn * args.expandRatio,
        seFilters: Math.max(1, Math.floor(filtersIn * EFFICIENTNET.seRatio)),
        residual: stride === 1 && filtersIn === args.filtersOut,
        dropRate: (EFFICIENTNET.dropConnectRate * b) / total,
      });
      b++;
    }
  });
  return out;
}

export type LayerKind =
  | 'input'
  | 'rescaling'
  | 'normalization'
  | 'zero_padding'
  | 'conv'
  | 'depthwise_conv'
  | 'batch_norm'
  | 'activation'
  | 'global_avg_pool'
  | 'reshape'
  | 'multiply'
  | 'add'
  | 'dropout'
  | 'dense';

export type Activation = 'linear' | 'swish' | 'sigmoid' | 'softmax';

export interface WeightSpec {
  /** Short Keras weight name: kernel, bias, depthwise_kernel, gamma, beta, moving_mean, moving_variance, mean, variance, count. */
  name: string;
  /** Shape as stored in the .h5: conv kernel HWIO, depthwise kernel (H, W, C, 1), dense (in, out), count []. */
  shape: number[];
}

export interface LayerSpec {
  name: string;
  kind: LayerKind;
  /** Names of the layers feeding this one (Keras inbound nodes), in call order. */
  inputs: string[];
  /** Channels of this layer's output. */
  channels: number;
  /** Conv / depthwise conv. */
  kernel?: number;
  stride?: number;
  /** Keras padding of the conv itself; stride-2 convs are preceded by a ZeroPadding2D and use 'valid'. */
  padding?: 'same' | 'valid';
  filters?: number;
  useBias?: boolean;
  /** Activation applied by the layer (conv/dense `activation=`, or an Activation layer). */
  activation?: Activation;
  /** ZeroPadding2D ((top, bottom), (left, right)). */
  pad?: [[number, number], [number, number]];
  /** BatchNormalization epsilon. */
  epsilon?: number;
  /** Rescaling: y = x · scale + offset. */
  scale?: number;
  offset?: number;
  /** Dropout rate (inference no-op). */
  rate?: number;
  /** Reshape target (without batch). */
  targetShape?: number[];
  /** Block this layer belongs to (e.g. "block2b"); absent for stem/top. */
  block?: string;
  /** Part of the classifier top (avg_pool of include_top, top_dropout, predictions). */
  top?: boolean;
  weights: WeightSpec[];
}

/**
 * imagenet_utils.correct_pad: ZeroPadding2D before a stride-2 'valid' conv. With input_shape
 * (None, None, 3) — and for every even spatial size — it is ((k//2 − 1, k//2), (k//2 − 1, k//2)):
 * one pixel less on the top/left, TensorFlow's 'same' for stride 2 on even sizes.
 */
export function correctPad(
  kernel: number,
  inputSize?: readonly [number, number],
): [[number, number], [number, number]] {
  const adjust = inputSize ? [1 - (inputSize[0] % 2), 1 - (inputSize[1] % 2)] : [1, 1];
  const c = Math.floor(kernel / 2);
  return [
    [c - adjust[0], c],
    [c - adjust[1], c],
  ];
}

export interface EfficientNetOptions {
  /** Full model (GAP → Dropout → Dense softmax) instead of the no-top backbone. Default false. */
  includeTop?: boolean;
  /** Classifier width with includeTop (Keras default 1000; CytoImageNet 894). */
  classes?: number;
  /** No-top only: add the avg_pool GlobalAveragePooling2D (pooling="avg"). Default true. */
  pooling?: boolean;
  /** Keras's name of the input layer ("input_1" in TF 2.x Keras). */
  inputName?: string;
}

function bnWeights(c: number): WeightSpec[] {
  return [
    { name: 'gamma', shape: [c] },
    { name: 'beta', shape: [c] },
    { name: 'moving_mean', shape: [c] },
    { name: 'moving_variance', shape: [c] },
  ];
}

/** Every layer of EfficientNetB0 in Keras's model.layers order. */
export function efficientNetB0Layers(options: EfficientNetOptions = {}): LayerSpec[] {
  const includeTop = options.includeTop ?? false;
  const classes = options.classes ?? EFFICIENTNET.imagenetClasses;
  const pooling = options.pooling ?? true;
  const eps = EFFICIENTNET.bnEpsilon;
  const L: LayerSpec[] = [];
  const add = (l: LayerSpec): string => {
    L.push(l);
    return l.name;
  };
  const C = EFFICIENTNET.channels;

  let x = add({ name: options.inputName ?? 'input_1', kind: 'input', inputs: [], channels: C, weights: [] });
  x = add({ name: 'rescaling', kind: 'rescaling', inputs: [x], channels: C, scale: 1 / 255, offset: 0, weights: [] });
  x = add({
    name: 'normalization',
    kind: 'normalization',
    inputs: [x],
    channels: C,
    weights: [
      { name: 'mean', shape: [C] },
      { name: 'variance', shape: [C] },
      { name: 'count', shape: [] },
    ],
  });
  const stem = EFFICIENTNET.stemFilters;
  x = add({ name: 'stem_conv_pad', kind: 'zero_padding', inputs: [x], channels: C, pad: correctPad(3), weights: [] });
  x = add({
    name: 'stem_conv',
    kind: 'conv',
    inputs: [x],
    channels: stem,
    kernel: 3,
    stride: 2,
    padding: 'valid',
    filters: stem,
    useBias: false,
    activation: 'linear',
    weights: [{ name: 'kernel', shape: [3, 3, C, stem] }],
  });
  x = add({ name: 'stem_bn', kind: 'batch_norm', inputs: [x], channels: stem, epsilon: eps, weights: bnWeights(stem) });
  x = add({
    name: 'stem_activation',
    kind: 'activation',
    inputs: [x],
    channels: stem,
    activation: 'swish',
    weights: [],
  });

  for (const b of efficientNetB0Blocks()) {
    const p = `${b.name}_`;
    const blockInput = x;
    const f = b.expanded;
    if (b.expandRatio !== 1) {
      x = add({
        name: `${p}expand_conv`,
        kind: 'conv',
        inputs: [x],
        channels: f,
        kernel: 1,
        stride: 1,
        padding: 'same',
        filters: f,
        useBias: false,
        activation: 'linear',
        block: b.name,
        weights: [{ name: 'kernel', shape: [1, 1, b.filtersIn, f] }],
      });
      x = add({
        name: `${p}expand_bn`,
        kind: 'batch_norm',
        inputs: [x],
        channels: f,
        epsilon: eps,
        block: b.name,
        weights: bnWeights(f),
      });
      x = add({
        name: `${p}expand_activation`,
        kind: 'activation',
        inputs: [x],
        channels: f,
        activation: 'swish',
        block: b.name,
        weights: [],
      });
    }
    if (b.stride === 2) {
      x = add({
        name: `${p}dwconv_pad`,
        kind: 'zero_padding',
        inputs: [x],
        channels: f,
        pad: correctPad(b.kernel),
        block: b.name,
        weights: [],
      });
    }
    x = add({
      name: `${p}dwconv`,
      kind: 'depthwise_conv',
      inputs: [x],
      channels: f,
      kernel: b.kernel,
      stride: b.stride,
      padding: b.stride === 2 ? 'valid' : 'same',
      useBias: false,
      activation: 'linear',
      block: b.name,
      weights: [{ name: 'depthwise_kernel', shape: [b.kernel, b.kernel, f, 1] }],
    });
    x = add({
      name: `${p}bn`,
      kind: 'batch_norm',
      inputs: [x],
      channels: f,
      epsilon: eps,
      block: b.name,
      weights: bnWeights(f),
    });
    const act = add({
      name: `${p}activation`,
      kind: 'activation',
      inputs: [x],
      channels: f,
      activation: 'swish',
      block: b.name,
      weights: [],
    });
    let se = add({
      name: `${p}se_squeeze`,
      kind: 'global_avg_pool',
      inputs: [act],
      channels: f,
      block: b.name,
      weights: [],
    });
    se = add({
      name: `${p}se_reshape`,
      kind: 'reshape',
      inputs: [se],
      channels: f,
      targetShape: [1, 1, f],
      block: b.name,
      weights: [],
    });
    se = add({
      name: `${p}se_reduce`,
      kind: 'conv',
      inputs: [se],
      channels: b.seFilters,
      kernel: 1,
      stride: 1,
      padding: 'same',
      filters: b.seFilters,
      useBias: true,
      activation: 'swish',
      block: b.name,
      weights: [
        { name: 'kernel', shape: [1, 1, f, b.seFilters] },
        { name: 'bias', shape: [b.seFilters] },
      ],
    });
    se = add({
      name: `${p}se_expand`,
      kind: 'conv',
      inputs: [se],
      channels: f,
      kernel: 1,
      stride: 1,
      padding: 'same',
      filters: f,
      useBias: true,
      activation: 'sigmoid',
      block: b.name,
      weights: [
        { name: 'kernel', shape: [1, 1, b.seFilters, f] },
        { name: 'bias', shape: [f] },
      ],
    });
    x = add({ name: `${p}se_excite`, kind: 'multiply', inputs: [act, se], channels: f, block: b.name, weights: [] });
    x = add({
      name: `${p}project_conv`,
      kind: 'conv',
      inputs: [x],
      channels: b.filtersOut,
      kernel: 1,
      stride: 1,
      padding: 'same',
      filters: b.filtersOut,
      useBias: false,
      activation: 'linear',
      block: b.name,
      weights: [{ name: 'kernel', shape: [1, 1, f, b.filtersOut] }],
    });
    x = add({
      name: `${p}project_bn`,
      kind: 'batch_norm',
      inputs: [x],
      channels: b.filtersOut,
      epsilon: eps,
      block: b.name,
      weights: bnWeights(b.filtersOut),
    });
    if (b.residual) {
      if (b.dropRate > 0) {
        x = add({
          name: `${p}drop`,
          kind: 'dropout',
          inputs: [x],
          channels: b.filtersOut,
          rate: b.dropRate,
          block: b.name,
          weights: [],
        });
      }
      x = add({
        name: `${p}add`,
        kind: 'add',
        inputs: [x, blockInput],
        channels: b.filtersOut,
        block: b.name,
        weights: [],
      });
    }
  }

  const top = EFFICIENTNET.topFilters;
  const last = efficientNetB0Blocks().at(-1)!.filtersOut;
  x = add({
    name: 'top_conv',
    kind: 'conv',
    inputs: [x],
    channels: top,
    kernel: 1,
    stride: 1,
    padding: 'same',
    filters: top,
    useBias: false,
    activation: 'linear',
    weights: [{ name: 'kernel', shape: [1, 1, last, top] }],
  });
  x = add({ name: 'top_bn', kind: 'batch_norm', inputs: [x], channels: top, epsilon: eps, weights: bnWeights(top) });
  x = add({ name: 'top_activation', kind: 'activation', inputs: [x], channels: top, activation: 'swish', weights: [] });
  if (includeTop) {
    x = add({ name: 'avg_pool', kind: 'global_avg_pool', inputs: [x], channels: top, top: true, weights: [] });
    x = add({
      name: 'top_dropout',
      kind: 'dropout',
      inputs: [x],
      channels: top,
      rate: EFFICIENTNET.topDropout,
      top: true,
      weights: [],
    });
    add({
      name: 'predictions',
      kind: 'dense',
      inputs: [x],
      channels: classes,
      activation: 'softmax',
      useBias: true,
      top: true,
      weights: [
        { name: 'kernel', shape: [top, classes] },
        { name: 'bias', shape: [classes] },
      ],
    });
  } else if (pooling) {
    add({ name: 'avg_pool', kind: 'global_avg_pool', inputs: [x], channels: top, weights: [] });
  }
  return L;
}

/** Layers that store weights, in model.layers order (the order Keras's load_weights matches by). */
export function weightedLayers(layers: readonly LayerSpec[]): LayerSpec[] {
  return layers.filter((l) => l.weights.length > 0);
}

export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Parameter count as Keras's model.summary() prints it (B0 no-top: 4,049,571; full 1000-class: 5,330,571). */
export function countParams(layers: readonly LayerSpec[]): number {
  let n = 0;
  for (const l of layers) for (const w of l.weights) n += shapeSize(w.shape);
  return n;
}

/** The backbone's output layer (before any pooling): top_activation. */
export const BACKBONE_OUTPUT = 'top_activation';
