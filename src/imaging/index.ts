// The imaging library: everything the build and features stages use, from one import.
//   decode → gray → percentile-normalise → merge → QC → crop → encode
// processImageSet (image-set.ts) is the per-image executor the build runs; QC is the rule lists in qc.ts.
export type {
  SampleArray,
  SampleFormat,
  ImageFormat,
  DecodedImage,
  GrayImage,
  NormalizedImage,
  CropWindow,
  QcVerdict,
  QcVerdictKind,
} from './types.js';
export { ImageError, type ImageErrorKind } from './image-error.js';
export { useTypedArrayOutputs } from './sharp-output.js';
export { decodeImage, decodeBuffer, pageCount, type DecodeOptions } from './decode.js';
export { expandEntries, mayExpand } from './decode-entry.js';
export { decodePlainPng } from './png-fast.js';
export { sniffContainer, formatOf, type Container } from './sniff.js';
export { toGray, grayValues } from './gray.js';
export {
  lerp,
  percentile,
  percentilesOfFloats,
  percentilesFromHistogram,
  histogram,
  withIntegerHistogram,
  imagePercentiles,
} from './percentile.js';
export {
  normalize,
  normalizeValues,
  normalizationBounds,
  normalizationLut,
  accumulateNormalized,
  type NormalizeOptions,
} from './normalize.js';
export { mergeChannels } from './merge.js';
export { channelPlane, channelPlanes } from './channel-planes.js';
export {
  wholeImageQc,
  cropQc,
  percentileIsZero,
  distinctValues,
  runWholeImageRules,
  runCropRules,
  OK,
  WHOLE_IMAGE_RULES,
  CROP_RULES,
  QC_RULES,
  type ChannelBounds,
  type CropVerdict,
  type QcRules,
  type WholeImageRule,
  type WholeImageFacts,
  type FastBounds,
  type QcFailure,
  type CropRule,
  type CropFacts,
} from './qc.js';
export { cropCount, isCroppable, usableScales, planCrops, extractCrop } from './crops.js';
export { quantize, roundHalfUp, encodePng, type EncodeOptions, type OutputBitDepth } from './encode.js';
export {
  standardizeImageSet,
  channelFiles,
  cropsForImage,
  type StandardizeOptions,
  type StandardizedSet,
  type ChannelInfo,
  type CropOptions,
  type CropResult,
  type KeptCrop,
} from './standardize.js';
export {
  processImageSet,
  referenceImageSet,
  decodeSet,
  type DecodedSet,
  type DecodedFiles,
  type StripOptions,
  type ImageSetOptions,
  type ImageSetResult,
  type SetCrop,
} from './image-set.js';
export { standardizeMany, type StandardizeManyOptions, type StandardizedPng } from './standardize-many.js';
