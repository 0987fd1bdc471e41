import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withTempDir } from '../helpers/data.js';
import { isUserError } from '../../src/util/errors.js';
import {
  configDifferences,
  hasCheckpoint,
  readCheckpoint,
  RNG_STREAMS,
  writeCheckpoint,
  type RunConfig,
  type TrainState,
} from '../../src/train/checkpoint.js';

const CONFIG: RunConfig = {
  release: '/r',
  size: 224,
  batchSize: 64,
  learningRate: 1e-3,
  seed: 0,
  classes: ['a', 'b'],
  trainCount: 90,
  valCount: 10,
};

function state(epochsDone: number, stepInEpoch = 0): TrainState {
  return {
    format: 1,
    toolVersion: 't',
    config: CONFIG,
    epochsDone,
    globalStep: epochsDone * 10 + stepInEpoch,
    ...(stepInEpoch ? { stepInEpoch, trainMeter: { lossSum: 1, top1: 2, top7: 3, n: 4, seconds: 5 } } : {}),
    rng: { seed: 0, streams: RNG_STREAMS },
    history: [],
    savedAt: 'now',
  };
}

test('checkpoints: latest.json names the newest, only the newest N are kept (a finished epoch after its own step checkpoints), killed temporaries are swept', async () => {
  await withTempDir(async (out) => {
    assert.equal(hasCheckpoint(out), false);
    await assert.rejects(readCheckpoint(out), (e) => isUserError(e) && /nothing to resume/.test(e.message));
    // A half-written checkpoint of a killed process.
    await mkdir(join(out, 'checkpoints', '.epoch-001.99999.deadbeef.tmp'), { recursive: true });
    await writeCheckpoint(out, state(1), Buffer.from('w1'), Buffer.from('o1'), 2);
    await writeCheckpoint(out, state(1, 500), Buffer.from('w2'), Buffer.from('o2'), 2);
    await writeCheckpoint(out, state(1, 1000), Buffer.from('w3'), Buffer.from('o3'), 2);
    assert.deepEqual((await readdir(join(out, 'checkpoints'))).sort(), [
      'epoch-002-step-000500',
      'epoch-002-step-001000',
      'latest.json',
    ]);
    await writeCheckpoint(out, state(2), Buffer.from('w4'), Buffer.from('o4'), 2);
    assert.deepEqual((await readdir(join(out, 'checkpoints'))).sort(), [
      'epoch-002',
      'epoch-002-step-001000',
      'latest.json',
    ]);
    const ck = await readCheckpoint(out);
    assert.equal(ck.state.epochsDone, 2);
    assert.equal(ck.weights.toString(), 'w4');
    assert.equal(ck.optimizer.toString(), 'o4');
    assert.deepEqual(JSON.parse(await readFile(join(out, 'checkpoints', 'latest.json'), 'utf8')), {
      checkpoint: 'epoch-002',
      epochsDone: 2,
      stepInEpoch: 0,
    });
  });
});

test('a checkpoint folder without state.json is reported, not half-loaded', async () => {
  await withTempDir(async (out) => {
    await writeCheckpoint(out, state(1), Buffer.from('w'), Buffer.from('o'));
    await writeFile(
      join(out, 'checkpoints', 'latest.json'),
      JSON.stringify({ checkpoint: 'epoch-009', epochsDone: 9 }),
    );
    await assert.rejects(readCheckpoint(out), (e) => isUserError(e) && /incomplete/.test(e.message));
  });
});

test('a resume with other settings lists every difference', () => {
  assert.deepEqual(configDifferences(CONFIG, { ...CONFIG }), []);
  const d = configDifferences(CONFIG, { ...CONFIG, size: 128, seed: 3, classes: ['a', 'c'] });
  assert.deepEqual(d, [
    'size: checkpoint 224, now 128',
    'seed: checkpoint 0, now 3',
    'classes: checkpoint 2 labels, now 2 (or in another order)',
  ]);
});
