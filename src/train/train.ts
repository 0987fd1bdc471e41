// Pretraining loop: release → batches (TS) → LibTorch steps (addon) → per-epoch history,
// checkpoint and Keras-layout backbone. Every random choice derives from the run seed and the
// position, so a resumed run continues exactly where the checkpoint left it.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { csvField } from '../util/csv.js';
import { UserError } from '../util/errors.js';
import { validateOptions } from '../util/zod-options.js';
import { trainOptionsSchema } from './options.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { Rng } from '../util/rng.js';
import { resolveInside } from '../util/safe-path.js';
import { writeKerasWeights } from '../model/keras-h5.js';
import {
  configDifferences,
  hasCheckpoint,
  readCheckpoint,
  RNG_STREAMS,
  writeCheckpoint,
  type MeterState,
  type RunConfig,
  type TrainState,
} from './checkpoint.js';
import {
  loadEngine,
  resolvePrecision,
  type Kernels,
  type NativeModel,
  type Precision,
  type StepStats,
} from './engine.js';
import { trainGraph, type TrainGraph } from './graph.js';
import { writeHistory, type HistoryRow } from './history.js';
import { batchLoader, defaultLoaderThreads } from './loader-pool.js';
import { prefetch, rotationAngle } from './pipeline.js';
import { readReleaseSplit, type TrainItem } from './release.js';
import { encodeWeights, initWeights, kerasWeightsOf, loadEncodedWeights, loadInitWeights } from './weights.js';

/** train()'s options: those of src/train/options.ts (validated there, defaults from src/defaults.ts), and callbacks. */
export interface TrainOptions {
  release: string;
  out: string;
  epochs?: number;
  size?: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  labelsSubset?: string[];
  resume?: boolean;
  /** LibTorch intra-op threads (default: all cores). */
  threads?: number;
  /** "cpu" (default) or "cuda[:N]" with a CUDA build of LibTorch. */
  device?: string;
  /** CPU kernels: "own" (default; fused, see docs/train.md) or LibTorch's alone. Same results within float rounding. */
  kernels?: Kernels;
  /**
   * Step arithmetic: "auto" (default: mixed_bfloat16 on CPUs with bfloat16 dot products, else
   * float32; a resumed run keeps the precision it started with), "float32" or "mixed_bfloat16".
   */
  precision?: Precision | 'auto';
  /** Start the backbone from this Keras EfficientNetB0 .h5 instead of random weights (new runs only). */
  init?: string;
  /** Batches loaded ahead of the step being computed. */
  prefetch?: number;
  /** Loader threads decoding and rotating images (default: one per core; 0: this thread). */
  loaderThreads?: number;
  /** Checkpoints kept (newest first; default TRAIN.keepCheckpoints). */
  keepCheckpoints?: number;
  /** Also checkpoint every this many steps inside an epoch (0: at epoch ends only; default TRAIN.checkpointEvery). */
  checkpointEvery?: number;
  /** Stop (as if killed) after this many steps of this invocation; for tests of mid-epoch resume. */
  stopAfterSteps?: number;
  toolVersion?: string;
  onProgress?: (p: TrainProgress) => void;
  log?: (line: string) => void;
}

export interface TrainProgress {
  phase: 'train' | 'val';
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  top1: number;
  imagesPerSecond: number;
  /** Seconds left for the whole run, from the current rate. */
  etaSeconds: number;
}

export interface TrainResult {
  out: string;
  history: HistoryRow[];
  backbone: string;
  classes: string[];
  resumedFrom?: number;
  /** Stopped early by stopAfterSteps. */
  stopped?: boolean;
}

export const BACKBONE_FILE = 'efficientnetb0-notop.h5';
export const FULL_MODEL_FILE = 'efficientnetb0-full.h5';

/** Steps per epoch: the spec's n // batch, at least one. */
export function stepsPerEpoch(n: number, batch: number): number {
  return Math.max(1, Math.floor(n / batch));
}

/** The training order of one epoch. */
export function epochOrder(items: readonly TrainItem[], seed: number, epoch: number): TrainItem[] {
  return Rng.derive(seed, 'epoch', epoch).shuffle([...items]);
}

/** The dropout seed of one step (the addon seeds LibTorch's generator with it). */
export function stepSeed(seed: number, epoch: number, step: number): number {
  return Rng.derive(seed, 'step', epoch, step).int(0, 2 ** 31 - 1);
}

class Meter {
  lossSum = 0;
  top1 = 0;
  top7 = 0;
  n = 0;
  /** Training seconds of the epoch so far (across a resume). */
  seconds = 0;
  constructor(from?: MeterState) {
    if (from) Object.assign(this, from);
  }
  add(s: StepStats): void {
    this.lossSum += s.lossSum;
    this.top1 += s.top1;
    this.top7 += s.top7;
    this.n += s.n;
  }
  state(): MeterState {
    return { lossSum: this.lossSum, top1: this.top1, top7: this.top7, n: this.n, seconds: this.seconds };
  }
  get loss(): number {
    return this.n ? this.lossSum / this.n : NaN;
  }
  get acc1(): number {
    return this.n ? this.top1 / this.n : NaN;
  }
  get acc7(): number {
    return this.n ? this.top7 / this.n : NaN;
  }
}

async function exportModels(out: string, model: NativeModel): Promise<string> {
  const backbone = resolveInside(out, BACKBONE_FILE);
  await writeKerasWeights(backbone, kerasWeightsOf(model, { top: false }));
  await writeKerasWeights(resolveInside(out, FULL_MODEL_FILE), kerasWeightsOf(model, { top: true }));
  return backbone;
}

export async function train(input: TrainOptions): Promise<TrainResult> {
  // Validated first (before the addon loads), with the command's schema and defaults.
  const options = { ...input, ...validateOptions(trainOptionsSchema, input, 'train') };
  const engine = loadEngine();
  const log = options.log ?? (() => undefined);
  const out = resolve(options.out);
  const release = resolve(options.release);
  const split = readReleaseSplit(release, options.labelsSubset);
  const config: RunConfig = {
    release,
    size: options.size,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
    seed: options.seed,
    classes: split.classes,
    trainCount: split.train.length,
    valCount: split.val.length,
  };
  const epochs = options.epochs;
  const threads = options.threads ?? availableParallelism();
  const depth = options.prefetch;

  await mkdir(out, { recursive: true });
  let state: TrainState | undefined;
  let resumed: { weights: Buffer; optimizer: Buffer } | undefined;
  if (options.init && !existsSync(options.init)) {
    throw new UserError(
      `--init: no such file ${options.init}`,
      { file: options.init },
      'give a Keras EfficientNetB0 .h5 (no-top or full model)',
    );
  }
  if (options.resume && options.init) {
    throw new UserError(
      '--init and --resume do not go together',
      {},
      'a resumed run continues from its checkpoint; --init starts a new run',
    );
  }
  if (options.resume) {
    const ck = await readCheckpoint(out);
    const diffs = configDifferences(ck.state.config, config);
    if (diffs.length > 0) {
      throw new UserError(
        `--resume: the options or the release differ from the checkpointed run (${diffs.join('; ')})`,
        { file: ck.dir },
        'resume with the same release, --size, --batch-size, --lr, --seed and --labels-subset, or start a new run in another --out',
      );
    }
    if (ck.state.config.release !== config.release)
      log(`note: the release was at ${ck.state.config.release} when the run started; now ${config.release}`);
    state = { ...ck.state, config };
    resumed = { weights: ck.weights, optimizer: ck.optimizer };
    log(
      `resuming after epoch ${state.epochsDone}${state.stepInEpoch ? `, step ${state.stepInEpoch} of epoch ${state.epochsDone + 1}` : ''} from ${ck.dir}`,
    );
  } else if (hasCheckpoint(out)) {
    throw new UserError(
      `${out} already holds a training run (checkpoints/latest.json)`,
      { file: out },
      'pass --resume to continue it, or choose another --out',
    );
  }

  const graph: TrainGraph = trainGraph(split.classes.length);
  const device = options.device;
  const kernels = options.kernels;
  const startedWith = state ? (state.precision ?? 'float32') : undefined;
  const precision = resolvePrecision(options.precision, {
    device,
    kernels,
    info: engine.info(),
    startedWith,
  });
  if (startedWith && precision !== startedWith)
    log(`note: the run started in ${startedWith} and continues in ${precision}`);
  let model: NativeModel;
  try {
    model = new engine.Model(graph, { lr: config.learningRate, threads, device, kernels, precision });
  } catch (e) {
    throw new UserError(
      `cannot create the model: ${(e as Error).message}`,
      {},
      options.device && options.device !== 'cpu'
        ? 'build the addon against a CUDA LibTorch (CYTOIMAGENET_LIBTORCH, docs/train.md) on a machine with a GPU, or use --device cpu'
        : undefined,
    );
  }
  if (resumed) {
    loadEncodedWeights(model, graph, resumed.weights);
    model.loadOptimizer(resumed.optimizer);
  } else {
    initWeights(model, graph, config.seed);
    if (options.init) {
      const n = await loadInitWeights(model, graph, resolve(options.init));
      log(
        `backbone initialised from ${options.init} (${n} tensors; the ${split.classes.length}-way classifier is new)`,
      );
    }
  }
  const history: HistoryRow[] = state ? [...state.history] : [];
  let globalStep = state?.globalStep ?? 0;
  const startEpoch = state?.epochsDone ?? 0;
  const resumeStep = state?.stepInEpoch ?? 0;
  const every = options.checkpointEvery;
  let stepsThisRun = 0;
  const stateAt = (epochsDone: number, stepInEpoch: number, meter?: MeterState): TrainState => ({
    format: 1,
    toolVersion: options.toolVersion ?? '0.0.0',
    config,
    epochsDone,
    globalStep,
    ...(stepInEpoch > 0 ? { stepInEpoch, trainMeter: meter } : {}),
    rng: { seed: config.seed, streams: RNG_STREAMS },
    precision: model.precision,
    history,
    savedAt: new Date().toISOString(),
  });

  const perClass = split.classes.map(() => [0, 0]);
  for (const t of split.train) perClass[t.classIndex][0]++;
  for (const t of split.val) perClass[t.classIndex][1]++;
  await writeFileAtomic(
    resolveInside(out, 'classes.csv'),
    'index,label,train_images,val_images\n' +
      split.classes.map((c, i) => `${i},${csvField(c)},${perClass[i][0]},${perClass[i][1]}`).join('\n') +
      '\n',
  );
  await writeFileAtomic(
    resolveInside(out, 'run.json'),
    `${JSON.stringify({ ...config, epochs, threads, init: options.init ?? null, engine: engine.info().torchVersion, kernels: model.kernels, precision: model.precision, toolVersion: options.toolVersion }, null, 1)}\n`,
  );

  const B = config.batchSize;
  const S = config.size;
  const trainSteps = stepsPerEpoch(split.train.length, B);
  const valSteps = Math.ceil(split.val.length / B);
  let backbone = resolveInside(out, BACKBONE_FILE);
  const rate = { images: 0, seconds: 0 };
  const ei = engine.info();
  log(
    `EfficientNetB0 on ${split.classes.length} labels: ${split.train.length} training images (${trainSteps} steps of ${B} per epoch), ` +
      `${split.val.length} validation images, ${S}×${S}; LibTorch ${ei.torchVersion}${ei.mkldnn ? ' (oneDNN)' : ''} on ${model.device}, ${threads} thread(s), ${model.kernels === 'own' ? 'own fused CPU kernels' : "LibTorch's kernels"}, ${model.precision}`,
  );

  // Decoding and rotation run on loader threads (loader-pool.ts) while the engine steps.
  const loader = batchLoader(options.loaderThreads ?? defaultLoaderThreads());
  try {
    for (let e = startEpoch; e < epochs; e++) {
      const order = epochOrder(split.train, config.seed, e);
      const first = e === startEpoch ? resumeStep : 0;
      const trainMeter = new Meter(e === startEpoch && first > 0 ? state?.trainMeter : undefined);
      const t0 = performance.now();
      const imagesBefore = trainMeter.n;
      const secondsBefore = trainMeter.seconds;
      let step = first;
      const batchItems = (i: number): TrainItem[] => (order.length < B ? order : order.slice(i * B, (i + 1) * B));
      for await (const batch of prefetch(trainSteps - first, depth, (i) => {
        const items = batchItems(first + i);
        return loader.load(items, { size: S, angles: items.map((it) => rotationAngle(config.seed, e, it.key)) });
      })) {
        const r = await model.trainStep(batch.x, batch.labels, batch.n, S, S, stepSeed(config.seed, e, step));
        trainMeter.add(r);
        step++;
        globalStep++;
        stepsThisRun++;
        const secs = (performance.now() - t0) / 1000;
        trainMeter.seconds = secondsBefore + secs;
        const ips = (trainMeter.n - imagesBefore) / secs;
        const left = (trainSteps - step + (epochs - e - 1) * trainSteps) * B + (epochs - e) * split.val.length;
        options.onProgress?.({
          phase: 'train',
          epoch: e + 1,
          epochs,
          step,
          steps: trainSteps,
          loss: trainMeter.loss,
          top1: trainMeter.acc1,
          imagesPerSecond: ips,
          etaSeconds: left / ((rate.images + trainMeter.n - imagesBefore) / (rate.seconds + secs)),
        });
        if (every > 0 && step % every === 0 && step < trainSteps) {
          await writeCheckpoint(
            out,
            stateAt(e, step, trainMeter.state()),
            encodeWeights(model, graph),
            model.saveOptimizer(),
            options.keepCheckpoints,
          );
        }
        if (options.stopAfterSteps !== undefined && stepsThisRun >= options.stopAfterSteps) {
          return { out, history, backbone, classes: split.classes, resumedFrom: state?.epochsDone, stopped: true };
        }
      }
      const trainSeconds = trainMeter.seconds;
      rate.images += trainMeter.n - imagesBefore;
      rate.seconds += (performance.now() - t0) / 1000;

      const valMeter = new Meter();
      let vstep = 0;
      for await (const batch of prefetch(valSteps, depth, (i) =>
        loader.load(split.val.slice(i * B, (i + 1) * B), { size: S }),
      )) {
        valMeter.add(await model.evalStep(batch.x, batch.labels, batch.n, S, S));
        vstep++;
        options.onProgress?.({
          phase: 'val',
          epoch: e + 1,
          epochs,
          step: vstep,
          steps: valSteps,
          loss: valMeter.loss,
          top1: valMeter.acc1,
          imagesPerSecond: trainMeter.n / trainSeconds,
          etaSeconds: NaN,
        });
      }
      const row: HistoryRow = {
        epoch: e + 1,
        train_loss: trainMeter.loss,
        train_top1: trainMeter.acc1,
        train_top7: trainMeter.acc7,
        val_loss: valMeter.n ? valMeter.loss : null,
        val_top1: valMeter.n ? valMeter.acc1 : null,
        val_top7: valMeter.n ? valMeter.acc7 : null,
        images: trainMeter.n,
        seconds: Math.round(trainSeconds * 1000) / 1000,
        images_per_second: Math.round((trainMeter.n / trainSeconds) * 100) / 100,
      };
      history.push(row);
      const newState = stateAt(e + 1, 0);
      // Outputs first, checkpoint last: a run killed in between redoes this epoch and rewrites them.
      await writeHistory(
        out,
        history,
        `EfficientNetB0 on ${split.classes.length} labels (batch ${B}, ${S}×${S}, Adam lr ${config.learningRate})`,
      );
      backbone = await exportModels(out, model);
      await writeCheckpoint(out, newState, encodeWeights(model, graph), model.saveOptimizer(), options.keepCheckpoints);
      log(
        `epoch ${e + 1}/${epochs}: loss ${fmt(row.train_loss)} top-1 ${pct(row.train_top1)} top-7 ${pct(row.train_top7)}` +
          (row.val_loss !== null
            ? ` | val loss ${fmt(row.val_loss)} top-1 ${pct(row.val_top1!)} top-7 ${pct(row.val_top7!)}`
            : '') +
          ` | ${row.images_per_second} images/s`,
      );
    }
  } finally {
    await loader.close();
  }
  if (startEpoch >= epochs) log(`nothing to do: ${startEpoch} epoch(s) already done (raise --epochs to train further)`);
  return { out, history, backbone, classes: split.classes, resumedFrom: state?.epochsDone };
}

function fmt(v: number): string {
  return v.toFixed(4);
}
function pct(v: number): string {
  return `${(v * 100).toFixed(2)}%`;
}
