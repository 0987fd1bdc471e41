// Loads the LibTorch addon (native/, built by `npm run build:native`) and wraps it in a typed API.
// The addon is optional: everything else in cytoimagenet runs without LibTorch, and `train` says
// exactly what is missing when it cannot load.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.js';
import type { TrainGraph } from './graph.js';

export interface StepStats {
  /** Cross-entropy summed over the batch. */
  lossSum: number;
  top1: number;
  top7: number;
  n: number;
  /** LibTorch threads the step ran with (set on the worker thread). */
  threads: number;
}

/** CPU kernels: "own" (this project's fused ones, docs/train.md "Engine") or LibTorch's alone. */
export const KERNELS = ['own', 'libtorch'] as const;
export type Kernels = (typeof KERNELS)[number];

/**
 * Arithmetic of a training step. "float32": everything in float32. "mixed_bfloat16" (Keras's
 * policy name): the 1×1 and depthwise convolutions run in bfloat16 on bfloat16 activations and
 * bfloat16 copies of the weights; the weights themselves, optimiser state, BatchNorm statistics,
 * the squeeze-and-excitation MLPs, the loss and all evaluation stay float32.
 */
export const PRECISIONS = ['float32', 'mixed_bfloat16'] as const;
export type Precision = (typeof PRECISIONS)[number];

export interface NativeModel {
  readonly numClasses: number;
  /** Where the weights and steps live: "cpu" or "cuda:N". */
  readonly device: string;
  /** "own": this project's fused CPU kernels (BatchNorm+swish, squeeze-excitation, depthwise weight gradient); "libtorch": LibTorch's alone. */
  readonly kernels: Kernels;
  readonly precision: Precision;
  weightNames(): { name: string; shape: number[]; trainable: boolean }[];
  getWeight(name: string): Float32Array;
  setWeight(name: string, data: Float32Array): void;
  trainStep(x: Float32Array, labels: Int32Array, n: number, h: number, w: number, seed: number): Promise<StepStats>;
  evalStep(x: Float32Array, labels: Int32Array, n: number, h: number, w: number): Promise<StepStats>;
  /** Eval-mode value of a named layer output (default the logits), flattened per sample (NHWC for maps). */
  forward(x: Float32Array, n: number, h: number, w: number, layer?: string): Promise<Float32Array>;
  saveOptimizer(): Buffer;
  loadOptimizer(state: Buffer): void;
  setLearningRate(lr: number): void;
}

export interface EngineInfo {
  torchVersion: string;
  mkldnn: boolean;
  openmp: boolean;
  mallopt: boolean;
  cachingAllocator: boolean;
  /** OpenBLAS was set to one thread (its spinning threads slowed LibTorch's OpenMP ones); OPENBLAS_NUM_THREADS overrides. */
  blasOneThread: boolean;
  /** The CPU has bfloat16 dot products in hardware (AVX512-BF16, also on AMX machines). */
  nativeBf16: boolean;
  /** oneDNN can run bfloat16 convolutions here at all (AVX-512 BW, VL, DQ); mixed_bfloat16 is refused without. */
  bf16Supported: boolean;
  parallelInfo: string;
  /** A CUDA build of LibTorch with a visible GPU. */
  cuda: boolean;
  cudaDevices: number;
}

export interface Engine {
  Model: new (
    graph: TrainGraph,
    options: { lr: number; threads: number; device?: string; kernels?: Kernels; precision?: Precision },
  ) => NativeModel;
  info(): EngineInfo;
  /** Own CPU kernels against plain LibTorch ops on random tensors: worst relative difference per output and gradient. */
  checkKernels(): Record<string, number>;
  path: string;
}

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root from dist/src/train (compiled) or src/train. */
function repoRoot(): string {
  for (const up of ['../../..', '../..']) {
    const r = resolve(here, up);
    if (existsSync(join(r, 'native', 'binding.gyp'))) return r;
  }
  return resolve(here, '../../..');
}

export const BUILD_COMMAND = 'npm run build:native';
export const INSTALL_COMMAND = 'apt-get install -y libtorch-dev libopenblas0-pthread';

/** Where the built addon is expected (CYTOIMAGENET_TRAIN_ADDON overrides, e.g. for tests). */
export function addonPath(): string {
  return (
    process.env.CYTOIMAGENET_TRAIN_ADDON ?? join(repoRoot(), 'native', 'build', 'Release', 'cytoimagenet_train.node')
  );
}

/** The LibTorch headers the build would use, and whether they are there. */
export function libtorchLocation(): { root: string; found: boolean; fromEnv: boolean } {
  const env = process.env.CYTOIMAGENET_LIBTORCH;
  if (env)
    return {
      root: env,
      fromEnv: true,
      found: existsSync(join(env, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h')),
    };
  return { root: '/usr', fromEnv: false, found: existsSync('/usr/include/torch/csrc/api/include/torch/torch.h') };
}

/** The user-facing explanation of why the engine cannot load (exported for the test). */
export function missingEngineError(loadError?: string): UserError {
  const lt = libtorchLocation();
  const path = addonPath();
  const where = lt.fromEnv ? `CYTOIMAGENET_LIBTORCH=${lt.root}` : 'the system (/usr/include/torch)';
  if (!lt.found) {
    return new UserError(
      `training needs LibTorch, which is not installed: no torch/torch.h in ${where}; and the training addon is ${existsSync(path) ? 'built but cannot load' : `not built (${path} is missing)`}`,
      {},
      `on Debian/Ubuntu run \`${INSTALL_COMMAND}\` (as root); elsewhere unzip a LibTorch release and set CYTOIMAGENET_LIBTORCH=/path/to/libtorch (the folder with include/ and lib/). Then build the addon with \`${BUILD_COMMAND}\`. See docs/train.md`,
    );
  }
  if (!existsSync(path)) {
    return new UserError(
      `the training addon is not built: ${path} is missing (LibTorch found in ${where})`,
      {},
      `build it with \`${BUILD_COMMAND}\` (about a minute; see docs/train.md)`,
    );
  }
  return new UserError(
    `the training addon ${path} cannot load: ${loadError ?? 'unknown error'}`,
    {},
    `rebuild it against the installed LibTorch with \`${BUILD_COMMAND}\`; if a LibTorch library is missing at run time, install \`libtorch-dev libopenblas0-pthread\` or set CYTOIMAGENET_LIBTORCH to the LibTorch it was built with`,
  );
}

let cached: Engine | undefined;

/** Load the addon or throw a UserError that says what is missing and the command to fix it. */
export function loadEngine(): Engine {
  if (cached) return cached;
  const path = addonPath();
  if (!existsSync(path)) throw missingEngineError();
  let mod: Pick<Engine, 'Model' | 'info' | 'checkKernels'>;
  try {
    mod = createRequire(import.meta.url)(path) as typeof mod;
  } catch (e) {
    throw missingEngineError((e as Error).message.split('\n')[0]);
  }
  cached = { Model: mod.Model, info: mod.info, checkKernels: mod.checkKernels, path };
  return cached;
}

/** The engine, or the reason it is unavailable (for tests that skip without it). */
export function tryLoadEngine(): { engine?: Engine; reason?: string } {
  try {
    return { engine: loadEngine() };
  } catch (e) {
    return { reason: e instanceof UserError ? e.message : String(e) };
  }
}

/**
 * "auto" is mixed_bfloat16 where it pays: on the CPU, with oneDNN and the own kernels (they read
 * and write the bfloat16 activations without copies), on a CPU with bfloat16 dot products. There
 * a step is about 1.35–1.4× as fast (docs/train.md "Speed"); elsewhere bfloat16 is emulated or
 * missing, so float32. A resumed run (`startedWith`) keeps its own under "auto": only then is it
 * bit-identical to an uninterrupted one.
 */
export function resolvePrecision(
  requested: Precision | 'auto',
  ctx: { device: string; kernels: Kernels; info: Pick<EngineInfo, 'mkldnn' | 'nativeBf16'>; startedWith?: Precision },
): Precision {
  if (requested !== 'auto') return requested;
  if (ctx.startedWith) return ctx.startedWith;
  return ctx.device === 'cpu' && ctx.kernels === 'own' && ctx.info.mkldnn && ctx.info.nativeBf16
    ? 'mixed_bfloat16'
    : 'float32';
}
