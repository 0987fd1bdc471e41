// One options definition per stage: the command's flags, help and defaults come from the stage's
// schema, and the stage's API function validates with the same schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { BUILD, EVALUATE, LABELS, TRAIN } from '../../src/defaults.js';
import { addOptions, optionValues } from '../../src/cli/options.js';
import { buildOptionsSchema } from '../../src/release/options.js';
import { trainOptionsSchema } from '../../src/train/options.js';
import { labelsOptionsSchema } from '../../src/labels/options.js';
import { coos7OptionsSchema } from '../../src/evaluate/options.js';
import { buildRelease } from '../../src/release/build-release.js';
import { train } from '../../src/train/train.js';
import { runCoos7 } from '../../src/evaluate/run.js';
import { assignLabels } from '../../src/labels/assign-labels.js';

function help(schema: Parameters<typeof addOptions>[1]): string {
  return addOptions(new Command('x'), schema).helpInformation({ error: false });
}

test('help shows the defaults of src/defaults.ts, taken from the stage schema', () => {
  const flat = (s: string) => s.replace(/\s+/g, ' ');
  assert.match(flat(help(buildOptionsSchema)), new RegExp(`--min-release <n> .*\\(default: ${BUILD.minRelease}\\)`));
  const t = flat(help(trainOptionsSchema));
  assert.match(t, new RegExp(`--checkpoint-every <steps> .*\\(default: ${TRAIN.checkpointEvery}\\)`));
  assert.match(t, new RegExp(`--keep-checkpoints <n> .*\\(default: ${TRAIN.keepCheckpoints}\\)`));
  assert.match(t, new RegExp(`--epochs <n> .*\\(default: ${TRAIN.epochs}\\)`));
  assert.match(flat(help(labelsOptionsSchema)), new RegExp(`--threshold <n> .*\\(default: ${LABELS.threshold}\\)`));
  assert.match(flat(help(coos7OptionsSchema)), new RegExp(`--k <n> .*\\(default: ${EVALUATE.coos7K}\\)`));
});

test('parsed flags are keyed as the API keys them, and absent flags reach the schema as undefined', () => {
  const cmd = addOptions(new Command('train').exitOverride(), trainOptionsSchema);
  cmd.parse(['--release', 'r', '--out', 'o', '--lr', '0.01', '--keep-checkpoints', '3'], { from: 'user' });
  const v = trainOptionsSchema.parse(optionValues(cmd.opts(), trainOptionsSchema));
  assert.equal(v.learningRate, 0.01);
  assert.equal(v.keepCheckpoints, 3);
  assert.equal(v.checkpointEvery, TRAIN.checkpointEvery);
  assert.equal(v.epochs, TRAIN.epochs);
});

test('the API functions validate with the same schema (messages name the flag)', async () => {
  await assert.rejects(
    train({ release: 'r', out: 'o', keepCheckpoints: 0 }),
    /--keep-checkpoints must be between 1 and 1000, got 0/,
  );
  await assert.rejects(
    buildRelease({ catalog: 'c', labels: 'l', out: 'o', minRelease: 0 }),
    /--min-release must be at least 1, got 0/,
  );
  await assert.rejects(
    runCoos7({ features: ['f.csv'], out: 'o', k: 0, toolVersion: '0' }),
    /--k must be at least 1, got 0/,
  );
  await assert.rejects(assignLabels('c', 'o', { cap: 0 }), /--cap must be at least 1, got 0/);
});
