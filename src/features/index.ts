// The features stage's public surface: the reference forward pass, model loading and the extraction
// pipeline. EfficientNetB0 itself (spec, weights, Keras .h5, ONNX) is src/model/index.ts.
export { referenceForward, type Hwc } from './reference-forward.js';
export { loadModel, modelBytes, type FeatureModel, type Layout, type LoadModelOptions } from './model.js';
export { METHODS, planesForSet, resizeBilinear, packBatch, type Method, type Plane } from './preprocess.js';
export { extractFeatures, runPlanes, MAX_BATCH_PIXELS, type ExtractOptions, type ExtractStats } from './extract.js';
export { FeatureTableWriter, tableFormatOf } from './table-writer.js';
export { runFeatures, type RunFeaturesOptions, type RunFeaturesReport, type InputForm } from './run-features.js';
