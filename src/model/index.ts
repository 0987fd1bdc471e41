// The model stage's public surface: EfficientNetB0's definition, its weight names and random
// init, Keras .h5 I/O and the ONNX builder, shared by features and train.
export {
  B0_BLOCK_ARGS,
  EFFICIENTNET,
  BACKBONE_OUTPUT,
  efficientNetB0Blocks,
  efficientNetB0Layers,
  weightedLayers,
  countParams,
  shapeSize,
  correctPad,
} from './efficientnet-spec.js';
export type {
  BlockArgs,
  BlockSpec,
  LayerSpec,
  LayerKind,
  WeightSpec,
  Activation,
  EfficientNetOptions,
} from './efficientnet-spec.js';
export { readKerasH5, readKerasWeights, writeKerasWeights, shortWeightName } from './keras-h5.js';
export type { KerasTensor, KerasWeights, KerasH5File, KerasH5Layout, WriteKerasOptions } from './keras-h5.js';
export {
  checkEfficientNetWeights,
  randomEfficientNetWeights,
  IMAGENET_STDDEV_RGB,
} from './efficientnet-weights.js';
export type { EfficientNetWeights } from './efficientnet-weights.js';
export { buildEfficientNetOnnx, ONNX_INPUT, ONNX_OUTPUT, ONNX_OPSET } from './onnx-builder.js';
