// The features stage's public surface: the EfficientNetB0 definition and Keras .h5 I/O shared with
// train, the ONNX builder and reference pass, and the extraction pipeline.
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
} from '../model/efficientnet-spec.js';
export type {
  BlockArgs,
  BlockSpec,
  LayerSpec,
  LayerKind,
  WeightSpec,
  Activation,
  EfficientNetOptions,
} from '../model/efficientnet-spec.js';
export { readKerasH5, readKerasWeights, writeKerasWeights, shortWeightName } from '../model/keras-h5.js';
export type { KerasTensor, KerasWeights, KerasH5File, KerasH5Layout, WriteKerasOptions } from '../model/keras-h5.js';
export {
  checkEfficientNetWeights,
  randomEfficientNetWeights,
  IMAGENET_STDDEV_RGB,
} from '../model/efficientnet-weights.js';
export type { EfficientNetWeights } from '../model/efficientnet-weights.js';
export { buildEfficientNetOnnx, ONNX_INPUT, ONNX_OUTPUT, ONNX_OPSET } from '../model/onnx-builder.js';
export { referenceForward, type Hwc } from './reference-forward.js';
export { loadModel, modelBytes, type FeatureModel, type Layout, type LoadModelOptions } from './model.js';
export { METHODS, planesForSet, resizeBilinear, packBatch, type Method, type Plane } from './preprocess.js';
export { extractFeatures, runPlanes, MAX_BATCH_PIXELS, type ExtractOptions, type ExtractStats } from './extract.js';
export { FeatureTableWriter, tableFormatOf } from './table-writer.js';
export { runFeatures, type RunFeaturesOptions, type RunFeaturesReport, type InputForm } from './run-features.js';
