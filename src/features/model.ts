// `--model FILE|random:SEED` → an onnxruntime session plus what the pipeline needs to feed it:
// the image input's name, layout (NCHW or NHWC), channel count and any fixed spatial size.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import ort from 'onnxruntime-node';
import { disableOnnxRuntimeTelemetry } from '../util/onnx-runtime-env.js';
import { UserError } from '../util/errors.js';
import { readKerasH5 } from '../model/keras-h5.js';
import { checkEfficientNetWeights, randomEfficientNetWeights } from '../model/efficientnet-weights.js';
import { buildEfficientNetOnnx } from '../model/onnx-builder.js';

export type Layout = 'NCHW' | 'NHWC';

export interface FeatureModel {
  session: ort.InferenceSession;
  inputName: string;
  outputName: string;
  layout: Layout;
  /** Channels the model takes: 1 (gray) or 3 (gray copied into R, G, B). */
  channels: 1 | 3;
  /** Spatial size the model requires, when its input shape fixes one. */
  fixedSize?: { height: number; width: number };
  /** Largest batch the model accepts (its batch dimension when fixed). */
  maxBatch?: number;
  /** Human description for logs and the dataset card. */
  description: string;
}

export interface LoadModelOptions {
  /** Output to read (default: the model's first output). */
  outputName?: string;
  /** Override the layout guess for an ONNX model whose input shape does not tell. */
  layout?: Layout;
  /** onnxruntime intra-op threads (default: onnxruntime's choice, all cores). */
  threads?: number;
}

/** The ONNX bytes for a --model argument (Keras .h5 and random:SEED are built here). */
export async function modelBytes(spec: string): Promise<{ bytes: Uint8Array; description: string }> {
  const random = /^random:(.+)$/.exec(spec);
  if (random) {
    const seed = /^-?\d+$/.test(random[1]) ? Number(random[1]) : random[1];
    const net = checkEfficientNetWeights(randomEfficientNetWeights(seed));
    return {
      bytes: buildEfficientNetOnnx(net, { docString: `EfficientNetB0, Keras-like random init, seed ${seed}` }),
      description: `EfficientNetB0 random init (seed ${seed})`,
    };
  }
  if (!existsSync(spec)) {
    throw new UserError(
      `model not found: ${spec}`,
      { file: spec },
      'give an .onnx file, a Keras EfficientNetB0 .h5, or random:SEED',
    );
  }
  const ext = extname(spec).toLowerCase();
  if (ext === '.h5' || ext === '.hdf5' || ext === '.keras') {
    const h5 = await readKerasH5(spec);
    const net = checkEfficientNetWeights(h5.weights, spec);
    return {
      bytes: buildEfficientNetOnnx(net, { docString: `EfficientNetB0 from ${spec}` }),
      description: `EfficientNetB0 from Keras ${h5.layout === 'model' ? 'model' : 'weights'} file ${spec}${net.imagenetStdFix ? ' (ImageNet std rescaling)' : ''}`,
    };
  }
  if (ext !== '.onnx' && ext !== '.ort') {
    throw new UserError(
      `unknown model type '${ext || '(no extension)'}'`,
      { file: spec },
      'give an .onnx file, a Keras EfficientNetB0 .h5, or random:SEED',
    );
  }
  return { bytes: new Uint8Array(await readFile(spec)), description: `ONNX model ${spec}` };
}

function guessLayout(shape: readonly (number | string)[], file: string): Layout {
  const isC = (d: number | string): boolean => d === 1 || d === 3;
  if (isC(shape[1]) && !isC(shape[3])) return 'NCHW';
  if (isC(shape[3]) && !isC(shape[1])) return 'NHWC';
  if (isC(shape[1]) && isC(shape[3])) return 'NCHW';
  throw new UserError(
    `cannot tell the image layout of input shape [${shape.join(', ')}]`,
    { file },
    'the image input must be 4-D with 1 or 3 channels, NCHW [N, C, H, W] or NHWC [N, H, W, C]; pass --layout to say which',
  );
}

/** Open a model for feature extraction. */
export async function loadModel(spec: string, options: LoadModelOptions = {}): Promise<FeatureModel> {
  const { bytes, description } = await modelBytes(spec);
  let session: ort.InferenceSession;
  try {
    disableOnnxRuntimeTelemetry();
    session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: 'all',
      // idle onnxruntime threads sleep instead of spinning, leaving the cores to decoding between runs
      extra: { session: { intra_op: { allow_spinning: '0' } } },
      ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    });
  } catch (e) {
    throw new UserError(`onnxruntime cannot load the model: ${(e as Error).message}`, { file: spec });
  }
  const inputs = session.inputMetadata.filter((m) => m.isTensor);
  if (inputs.length !== 1) {
    await session.release();
    throw new UserError(
      `the model has ${inputs.length} inputs (${session.inputNames.join(', ')}); feature extraction needs exactly one image input`,
      { file: spec },
    );
  }
  const input = inputs[0];
  const shape = input.isTensor ? input.shape : [];
  if (shape.length !== 4) {
    await session.release();
    throw new UserError(`input '${input.name}' has shape [${shape.join(', ')}]; expected a 4-D image batch`, {
      file: spec,
    });
  }
  const layout = options.layout ?? guessLayout(shape, spec);
  const c = layout === 'NCHW' ? shape[1] : shape[3];
  if (c !== 1 && c !== 3) {
    await session.release();
    throw new UserError(`input '${input.name}' takes ${c} channels; only 1 or 3 are supported`, { file: spec });
  }
  const [h, w] = layout === 'NCHW' ? [shape[2], shape[3]] : [shape[1], shape[2]];
  const fixedSize =
    typeof h === 'number' && typeof w === 'number' && h > 0 && w > 0 ? { height: h, width: w } : undefined;
  const outputName = options.outputName ?? session.outputNames[0];
  if (!session.outputNames.includes(outputName)) {
    await session.release();
    throw new UserError(`the model has no output '${outputName}' (outputs: ${session.outputNames.join(', ')})`, {
      file: spec,
    });
  }
  const maxBatch = typeof shape[0] === 'number' && shape[0] > 0 ? shape[0] : undefined;
  return { session, inputName: input.name, outputName, layout, channels: c, fixedSize, maxBatch, description };
}
