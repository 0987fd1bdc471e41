// `cytoimagenet features` as a function: model + input form + method → a features table.
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { validateOptions } from '../util/zod-options.js';
import { runFeaturesSchema } from './options.js';
import { UserError } from '../util/errors.js';
import { loadModel, type Layout } from './model.js';
import { extractFeatures, type ExtractStats } from './extract.js';
import { WorkerPreparer } from './prep-client.js';
import { bbbc021Input, coos7Input, cyclopsInput, filesInput, releaseInput, type InputSource } from './inputs.js';
import { FeatureTableWriter } from './table-writer.js';
import type { Method } from './preprocess.js';

export type InputForm =
  | { release: string }
  | { bbbc021: string; images: string }
  | { coos7: string }
  | { cyclops: string }
  | { files: string };

export interface RunFeaturesOptions {
  model: string;
  method: Method;
  out: string;
  input: InputForm;
  /** Square side, or undefined for native size. */
  size?: number;
  batchSize?: number;
  outputName?: string;
  layout?: Layout;
  threads?: number;
  skipUnreadable?: boolean;
  /** Prepare images in a worker thread (default true; see extract.ts). The table is the same either way. */
  worker?: boolean;
  /** Show a progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Where skipped sets and notes go (default stderr). */
  log?: (line: string) => void;
}

export interface RunFeaturesReport extends ExtractStats {
  out: string;
  keyColumns: string[];
  featureDim: number;
  seconds: number;
  /** Of which: opening the model (reading/building and onnxruntime's graph optimisation). */
  modelSeconds: number;
  model: string;
}

export async function openInput(input: InputForm): Promise<InputSource> {
  if ('release' in input) return releaseInput(input.release);
  if ('bbbc021' in input) return bbbc021Input(input.bbbc021, input.images);
  if ('coos7' in input) return coos7Input(input.coos7);
  if ('cyclops' in input) return cyclopsInput(input.cyclops);
  if ('files' in input) return filesInput(input.files);
  throw new UserError(
    'no input given',
    {},
    'give one of --release, --bbbc021 with --images, --coos7, --cyclops, --files',
  );
}

export async function runFeatures(input: RunFeaturesOptions): Promise<RunFeaturesReport> {
  const t0 = Date.now();
  const o = { ...input, ...validateOptions(runFeaturesSchema, input, 'features') };
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const source = await openInput(o.input);
  // started first: its start-up (loading sharp and the imaging library) overlaps opening the model
  const preparer = (o.worker ?? true) ? new WorkerPreparer() : undefined;
  try {
    return await extract(o, source, preparer, log, t0);
  } finally {
    await preparer?.close();
  }
}

async function extract(
  o: RunFeaturesOptions,
  source: InputSource,
  preparer: WorkerPreparer | undefined,
  log: (line: string) => void,
  t0: number,
): Promise<RunFeaturesReport> {
  const tModel = Date.now();
  const model = await loadModel(o.model, { outputName: o.outputName, layout: o.layout, threads: o.threads });
  const modelSeconds = (Date.now() - tModel) / 1000;
  if (model.fixedSize && o.size && (model.fixedSize.width !== o.size || model.fixedSize.height !== o.size)) {
    log(
      `note: the model takes ${model.fixedSize.width}×${model.fixedSize.height} images; resizing to that instead of ${o.size}`,
    );
  } else if (model.fixedSize && !o.size) {
    log(`note: the model takes ${model.fixedSize.width}×${model.fixedSize.height} images; resizing to that`);
  }
  const out = resolve(o.out);
  const writer = new FeatureTableWriter(out, source.keyColumns);
  const showBar = o.progress ?? Boolean(process.stderr.isTTY);
  const bar = showBar
    ? new cliProgress.SingleBar(
        {
          format: 'features |{bar}| {value}/{total} image sets | {eta_formatted} left',
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(source.total ?? 0, 0);
  let stats: ExtractStats;
  let done = 0;
  try {
    stats = await extractFeatures(model, source.sets, {
      method: o.method,
      size: o.size,
      batchSize: o.batchSize,
      skipUnreadable: o.skipUnreadable,
      worker: o.worker,
      preparer,
      onRow: (key, features) => writer.writeRow(key, features),
      onSkip: (job, reason) => {
        bar?.stop();
        log(`skipped ${job.key.join(', ')}: ${reason}`);
        bar?.start(source.total ?? 0, done);
      },
      onProgress: (n) => {
        done = n;
        bar?.update(n);
      },
    });
    bar?.stop();
    await writer.finish();
  } catch (e) {
    bar?.stop();
    await writer.abort();
    throw e;
  } finally {
    await model.session.release();
  }
  return {
    ...stats,
    out,
    keyColumns: source.keyColumns,
    featureDim: writer.featureDim,
    seconds: (Date.now() - t0) / 1000,
    modelSeconds,
    model: model.description,
  };
}
