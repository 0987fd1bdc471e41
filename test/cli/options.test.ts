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
import { spawnSync } from 'node:child_process';
import { workerOptionsSchema } from '../../src/release/options.js';
import { startQueueWorker } from '../../src/release/queue-worker.js';
import { reportOptionsSchema } from '../../src/report/options.js';
import { ingestOptionsSchema } from '../../src/catalog/options.js';
import { demoOptionsSchema } from '../../src/sources/demo-options.js';
import { runDemo } from '../../src/cli/demo.js';
import { runReport } from '../../src/report/run-report.js';
import { makeProgram } from '../../src/cli/main.js';
import { flagOf } from '../../src/util/zod-options.js';
import { UserError } from '../../src/util/errors.js';
import { CLI } from '../helpers/data.js';

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

test('worker, report, ingest and demo: their help lists every flag of their schema, and a bad value is a UserError naming the flag (CLI and API)', async () => {
  for (const [name, schema] of [
    ['worker', workerOptionsSchema],
    ['report', reportOptionsSchema],
    ['ingest', ingestOptionsSchema],
    ['demo', demoOptionsSchema],
  ] as const) {
    const program = await makeProgram(['node', 'cytoimagenet', name]);
    const cmd = program.commands.find((c) => c.name() === name);
    assert.ok(cmd, name);
    const text = cmd.helpInformation().replace(/\s+/g, ' ');
    const flags = Object.values(schema.shape).flatMap((f) => flagOf(f as never)?.flag ?? []);
    assert.ok(flags.length >= 3, `${name}: its schema labels its flags`);
    for (const f of flags) assert.ok(text.includes(f), `${name} --help lists ${f}`);
    assert.equal(cmd.options.length, flags.length, `${name}: no flag outside its schema`);
  }
  assert.match(
    (await makeProgram(['node', 'cytoimagenet', 'worker'])).commands[0].helpInformation().replace(/\s+/g, ' '),
    /--concurrency <n> worker processes on this machine \(default: the number of cores\)/,
  );

  // The API validates with the same schema (before any connection or file is touched).
  assert.throws(
    () => startQueueWorker({ queue: 'redis://127.0.0.1:9', concurrency: 0 }),
    (e: unknown) => e instanceof UserError && /--concurrency must be at least 1, got 0/.test(e.message),
  );
  assert.throws(
    () => startQueueWorker({ queue: 'http://127.0.0.1:9' }),
    (e: unknown) => e instanceof UserError && /--queue must be/.test(e.message),
  );
  await assert.rejects(
    runReport({ release: 'r', out: 'o', seed: -1 }),
    (e: unknown) => e instanceof UserError && /--seed must be at least 0, got -1/.test(e.message),
  );
  await assert.rejects(
    runDemo({ out: 'o', workers: 0 }, () => {}),
    (e: unknown) => e instanceof UserError && /--workers must be at least 1, got 0/.test(e.message),
  );

  // The CLI: the same message, exit status 1, no stack.
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  const w = run(['worker', '--queue', 'redis://127.0.0.1:9', '--concurrency', 'two']);
  assert.equal(w.status, 1, w.stderr);
  assert.match(w.stderr, /invalid worker options:\n {2}--concurrency must be a positive whole number, got 'two'/);
  const r = run(['report', '--release', 'r', '--out', 'o', '--seed', '1.5']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /invalid report options:\n {2}--seed must be a whole number, got '1.5'/);
  const i = run(['ingest', '--catalog', 'c.duckdb', '--registry', '', '--root', '.']);
  assert.equal(i.status, 1, i.stderr);
  assert.match(i.stderr, /invalid ingest options:\n {2}--registry needs dataset names, got ''/);
  const d = run(['demo', '--out', 'o', '--seed', 'one']);
  assert.equal(d.status, 1, d.stderr);
  assert.match(d.stderr, /invalid demo options:\n {2}--seed must be a whole number, got 'one'/);
  assert.doesNotMatch(w.stderr + r.stderr + i.stderr + d.stderr, /\n\s+at /);
});

test('a repeatable flag (worker --path-map) reaches the schema as the list of its values, in order', () => {
  const cmd = addOptions(new Command('worker').exitOverride(), workerOptionsSchema);
  cmd.parse(['--queue', 'redis://h:1', '--path-map', '/a=/b', '--path-map', '/c=/d'], { from: 'user' });
  assert.deepEqual(workerOptionsSchema.parse(optionValues(cmd.opts(), workerOptionsSchema)).pathMap, [
    '/a=/b',
    '/c=/d',
  ]);
  const one = addOptions(new Command('worker').exitOverride(), workerOptionsSchema);
  one.parse(['--queue', 'redis://h:1'], { from: 'user' });
  const v = workerOptionsSchema.parse(optionValues(one.opts(), workerOptionsSchema));
  assert.deepEqual(v.pathMap, []);
  assert.ok(v.concurrency >= 1);
});

test("a variadic flag (ingest --registry, --synonyms) reaches the schema as the list of its values, however it's split", () => {
  const cmd = addOptions(new Command('ingest').exitOverride(), ingestOptionsSchema);
  cmd.parse(
    ['--catalog', 'c.duckdb', '--registry', 'a', 'b', '--root', 'r', '--synonyms', 's.csv', '--registry', 'c'],
    {
      from: 'user',
    },
  );
  const v = ingestOptionsSchema.parse(optionValues(cmd.opts(), ingestOptionsSchema));
  assert.deepEqual(v, { catalog: 'c.duckdb', registry: ['a', 'b', 'c'], root: 'r', synonyms: ['s.csv'] });
});
