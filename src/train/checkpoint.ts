// Per-epoch checkpoints: OUT/checkpoints/epoch-NNN/{weights.bin, optimizer.pt, state.json}.
// A checkpoint is written into a temporary folder and renamed into place, then `latest.json` is
// replaced atomically; a run killed at any moment leaves the previous checkpoint intact.
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { UserError } from '../util/errors.js';
import type { Precision } from './engine.js';
import type { HistoryRow } from './history.js';

/** What makes two runs the same run (a resume must match it). */
export interface RunConfig {
  release: string;
  size: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  classes: string[];
  trainCount: number;
  valCount: number;
}

/** Running sums of the epoch in progress (mid-epoch checkpoints). */
export interface MeterState {
  lossSum: number;
  top1: number;
  top7: number;
  n: number;
  seconds: number;
}

export interface TrainState {
  format: 1;
  toolVersion: string;
  config: RunConfig;
  /** Epochs completed (the next epoch to run, 0-based). */
  epochsDone: number;
  /** Steps completed in total. */
  globalStep: number;
  /** Mid-epoch checkpoint: steps done in epoch `epochsDone` (0-based), and its running sums. */
  stepInEpoch?: number;
  trainMeter?: MeterState;
  /**
   * Every random choice is derived from the run seed: the epoch's order from
   * Rng.derive(seed, 'epoch', e), an image's angle from Rng.derive(seed, 'rotate', e, key), a step's
   * dropout seed from Rng.derive(seed, 'step', e, s). The position (epochsDone) is their whole state.
   */
  rng: { seed: number; streams: string[] };
  /** The step arithmetic the run used (absent in checkpoints of earlier versions: float32). */
  precision?: Precision;
  history: HistoryRow[];
  savedAt: string;
}

export const RNG_STREAMS = [
  "Rng.derive(seed, 'epoch', e)",
  "Rng.derive(seed, 'rotate', e, key)",
  "Rng.derive(seed, 'step', e, s)",
];

export function checkpointDir(out: string): string {
  return join(out, 'checkpoints');
}

/** `epoch-003` after epoch 3; `epoch-003-step-000500` 500 steps into epoch 3. */
function checkpointName(state: TrainState): string {
  if (state.stepInEpoch)
    return `epoch-${String(state.epochsDone + 1).padStart(3, '0')}-step-${String(state.stepInEpoch).padStart(6, '0')}`;
  return `epoch-${String(state.epochsDone).padStart(3, '0')}`;
}

/** Chronological order of checkpoint names (a finished epoch after its own mid-epoch ones). */
function checkpointKey(name: string): number {
  const m = /^epoch-(\d+)(?:-step-(\d+))?$/.exec(name);
  if (!m) return -1;
  return Number(m[1]) * 1e9 + (m[2] === undefined ? 1e9 - 1 : Number(m[2]));
}

async function writeSynced(path: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function writeCheckpoint(
  out: string,
  state: TrainState,
  weights: Buffer,
  optimizer: Buffer,
  keep = 2,
): Promise<string> {
  const root = checkpointDir(out);
  await mkdir(root, { recursive: true });
  const name = checkpointName(state);
  const tmp = join(root, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await mkdir(tmp);
  try {
    await writeSynced(join(tmp, 'weights.bin'), weights);
    await writeSynced(join(tmp, 'optimizer.pt'), optimizer);
    await writeSynced(join(tmp, 'state.json'), `${JSON.stringify(state, null, 1)}\n`);
    const final = join(root, name);
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await writeFileAtomic(
    join(root, 'latest.json'),
    `${JSON.stringify({ checkpoint: name, epochsDone: state.epochsDone, stepInEpoch: state.stepInEpoch ?? 0 }, null, 1)}\n`,
  );
  // Keep the newest `keep` checkpoints.
  const all = (await readdir(root))
    .filter((n) => checkpointKey(n) >= 0)
    .sort((a, b) => checkpointKey(a) - checkpointKey(b));
  for (const old of all.slice(0, Math.max(0, all.length - keep)))
    await rm(join(root, old), { recursive: true, force: true });
  // Left-over temporaries of killed runs.
  for (const t of (await readdir(root)).filter((n) => n.startsWith('.epoch-') && n.endsWith('.tmp'))) {
    if (!t.includes(`.${process.pid}.`)) await rm(join(root, t), { recursive: true, force: true });
  }
  return join(root, name);
}

export interface LoadedCheckpoint {
  state: TrainState;
  weights: Buffer;
  optimizer: Buffer;
  dir: string;
}

export function hasCheckpoint(out: string): boolean {
  return existsSync(join(checkpointDir(out), 'latest.json'));
}

export async function readCheckpoint(out: string): Promise<LoadedCheckpoint> {
  const latest = join(checkpointDir(out), 'latest.json');
  if (!existsSync(latest)) {
    throw new UserError(
      `nothing to resume: ${latest} does not exist`,
      { file: latest },
      'run without --resume to start training; a checkpoint is written after each epoch',
    );
  }
  const { checkpoint } = JSON.parse(await readFile(latest, 'utf8')) as { checkpoint: string };
  const dir = join(checkpointDir(out), checkpoint);
  const statePath = join(dir, 'state.json');
  if (!existsSync(statePath))
    throw new UserError(`checkpoint ${dir} is incomplete (no state.json)`, { file: statePath });
  const state = JSON.parse(await readFile(statePath, 'utf8')) as TrainState;
  if (state.format !== 1)
    throw new UserError(`checkpoint format ${String(state.format)} is not supported`, { file: statePath });
  return {
    state,
    weights: await readFile(join(dir, 'weights.bin')),
    optimizer: await readFile(join(dir, 'optimizer.pt')),
    dir,
  };
}

/** Differences that make a resume continue a different run than the one checkpointed. */
export function configDifferences(a: RunConfig, b: RunConfig): string[] {
  const diffs: string[] = [];
  // The release's path may change (a moved data disk); its content is checked by counts and classes.
  const keys: (keyof RunConfig)[] = ['size', 'batchSize', 'learningRate', 'seed', 'trainCount', 'valCount'];
  for (const k of keys) if (a[k] !== b[k]) diffs.push(`${k}: checkpoint ${String(a[k])}, now ${String(b[k])}`);
  if (a.classes.join('\u0000') !== b.classes.join('\u0000'))
    diffs.push(`classes: checkpoint ${a.classes.length} labels, now ${b.classes.length} (or in another order)`);
  return diffs;
}
