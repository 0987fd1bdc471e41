// Real (tiny) training runs through the addon. One uninterrupted run in this process is both the
// smoke test and the reference that a killed-then-resumed run in child processes must reproduce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, withTempDir } from '../helpers/data.js';
import { resolvePrecision, tryLoadEngine } from '../../src/train/engine.js';
import { train, BACKBONE_FILE, type TrainResult } from '../../src/train/train.js';
import type { HistoryRow } from '../../src/train/history.js';
import { readKerasH5 } from '../../src/model/keras-h5.js';
import { checkEfficientNetWeights } from '../../src/model/efficientnet-weights.js';
import { makeSyntheticRelease, SYNTHETIC_LABELS } from './synthetic-release.js';

const { engine, reason } = tryLoadEngine();
const skip = engine ? false : `training addon unavailable (${reason})`;
const ARGS = { epochs: 4, size: 64, batchSize: 16, seed: 1, threads: 2 };

function metrics(rows: readonly HistoryRow[]): unknown[] {
  return rows.map((r) => [
    r.epoch,
    r.train_loss,
    r.train_top1,
    r.train_top7,
    r.val_loss,
    r.val_top1,
    r.val_top7,
    r.images,
  ]);
}

function cliArgs(release: string, out: string, extra: string[] = [], size = 64): string[] {
  return [
    CLI,
    'train',
    '--release',
    release,
    '--out',
    out,
    '--epochs',
    '4',
    '--size',
    String(size),
    '--batch-size',
    '16',
    '--seed',
    '1',
    '--threads',
    '2',
    ...extra,
  ];
}

test('training: smoke run, then kill -9 and --resume reproduce it exactly', { skip }, async (t) => {
  await withTempDir(async (dir) => {
    const release = await makeSyntheticRelease(join(dir, 'release'), { perLabelTrain: 32, perLabelVal: 4, size: 64 });
    const ref = join(dir, 'reference');
    let r: TrainResult | undefined;

    await t.test(
      'smoke: 4 labels at 64×64, 32 steps: the loss falls, train accuracy beats chance, outputs are written',
      async () => {
        const lines: string[] = [];
        r = await train({ release, out: ref, ...ARGS, log: (l) => lines.push(l) });
        assert.equal(r.history.length, 4);
        assert.deepEqual(r.classes, [...SYNTHETIC_LABELS]);
        const first = r.history[0];
        const last = r.history.at(-1)!;
        assert.equal(first.images, 128); // 8 steps of 16
        assert.ok(
          last.train_loss < first.train_loss,
          `loss did not fall: ${r.history.map((h) => h.train_loss.toFixed(3)).join(' → ')}`,
        );
        assert.ok(last.train_top1 > 0.25 + 0.1, `train top-1 ${last.train_top1} is not above chance (0.25)`);
        assert.equal(last.train_top7, 1); // 4 classes: top-7 always hits
        assert.ok(last.val_loss !== null && Number.isFinite(last.val_loss));
        const csv = (await readFile(join(ref, 'history.csv'), 'utf8')).trim().split('\n');
        assert.equal(
          csv[0],
          'epoch,train_loss,train_top1,train_top7,val_loss,val_top1,val_top7,images,seconds,images_per_second',
        );
        assert.equal(csv.length, 5);
        assert.match(await readFile(join(ref, 'history.svg'), 'utf8'), /<svg/);
        assert.deepEqual([...(await readFile(join(ref, 'history.png'))).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
        assert.match(
          await readFile(join(ref, 'classes.csv'), 'utf8'),
          /^index,label,train_images,val_images\n0,dots,32,4\n/,
        );
        // The backbone is a Keras no-top EfficientNetB0 that the features stage accepts.
        const h5 = await readKerasH5(join(ref, BACKBONE_FILE));
        const net = checkEfficientNetWeights(h5.weights, BACKBONE_FILE);
        assert.ok(
          net.layers.some((l) => l.name === 'rescaling'),
          "Keras's rescaling layer is kept",
        );
        assert.equal(h5.weights.has('predictions'), false, 'the backbone has no classifier top');
        assert.equal(lines.filter((l) => /^epoch \d\/4: loss/.test(l)).length, 4);
        // run.json and every checkpoint record the arithmetic "auto" chose on this machine.
        const precision = resolvePrecision('auto', { device: 'cpu', kernels: 'own', info: engine!.info() });
        assert.equal(
          (JSON.parse(await readFile(join(ref, 'run.json'), 'utf8')) as { precision: string }).precision,
          precision,
        );
        const st = JSON.parse(await readFile(join(ref, 'checkpoints', 'epoch-004', 'state.json'), 'utf8')) as {
          precision: string;
        };
        assert.equal(st.precision, precision);
      },
    );

    await t.test(
      'a run killed with SIGKILL during epoch 2 and resumed ends bit-identical to the uninterrupted run',
      async () => {
        assert.ok(r, 'the reference run must have succeeded');
        const out = join(dir, 'killed');
        const child = spawn(process.execPath, cliArgs(release, out), { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
        // Kill as soon as the first epoch's checkpoint is complete (latest.json is written last).
        for (
          let i = 0;
          i < 6000 && child.exitCode === null && !existsSync(join(out, 'checkpoints', 'latest.json'));
          i++
        ) {
          await new Promise((res) => setTimeout(res, 20));
        }
        child.kill('SIGKILL');
        assert.equal(await exited, 'SIGKILL', `the run ended before it could be killed: ${stderr}`);
        const latest = JSON.parse(await readFile(join(out, 'checkpoints', 'latest.json'), 'utf8')) as {
          epochsDone: number;
        };
        assert.ok(latest.epochsDone >= 1 && latest.epochsDone < 4, `killed after epoch ${latest.epochsDone}`);

        // Without --resume the folder is refused rather than overwritten.
        const refused = spawnSync(process.execPath, cliArgs(release, out), { encoding: 'utf8' });
        assert.equal(refused.status, 1);
        assert.match(refused.stderr, /already holds a training run.*\n.*--resume/);

        const resumed = spawnSync(process.execPath, cliArgs(release, out, ['--resume']), { encoding: 'utf8' });
        assert.equal(resumed.status, 0, resumed.stderr);
        assert.match(resumed.stderr, new RegExp(`resuming after epoch ${latest.epochsDone}`));
        const state = JSON.parse(await readFile(join(out, 'checkpoints', 'epoch-004', 'state.json'), 'utf8')) as {
          history: HistoryRow[];
          globalStep: number;
        };
        assert.deepEqual(metrics(state.history), metrics(r!.history));
        assert.equal(state.globalStep, 32);
        const a = await readFile(join(out, 'checkpoints', 'epoch-004', 'weights.bin'));
        const b = await readFile(join(ref, 'checkpoints', 'epoch-004', 'weights.bin'));
        assert.ok(a.equals(b), 'final weights differ from the uninterrupted run');
        // (Equal final weights also prove the Adam moments and step count were restored: epochs 2–4
        // would diverge otherwise.)
        // A resume with other options is refused, naming the difference.
        const other = spawnSync(process.execPath, cliArgs(release, out, ['--resume'], 96), { encoding: 'utf8' });
        assert.equal(other.status, 1);
        assert.match(other.stderr, /size: checkpoint 64, now 96/);
      },
    );

    await t.test('a run stopped mid-epoch resumes from its step checkpoint and still ends bit-identical', async () => {
      assert.ok(r, 'the reference run must have succeeded');
      const out = join(dir, 'mid');
      // Steps 1–8 are epoch 1; checkpoints every 3 steps; stop after step 5 of epoch 2 (13 steps).
      const stopped = await train({ release, out, ...ARGS, checkpointEvery: 3, stopAfterSteps: 13 });
      assert.equal(stopped.stopped, true);
      const latest = JSON.parse(await readFile(join(out, 'checkpoints', 'latest.json'), 'utf8')) as {
        checkpoint: string;
      };
      assert.equal(latest.checkpoint, 'epoch-002-step-000003');
      const lines: string[] = [];
      const resumed = await train({
        release,
        out,
        ...ARGS,
        checkpointEvery: 3,
        resume: true,
        log: (l) => lines.push(l),
      });
      assert.ok(
        lines.some((l) => /resuming after epoch 1, step 3 of epoch 2/.test(l)),
        lines.join('\n'),
      );
      assert.deepEqual(metrics(resumed.history), metrics(r!.history));
      const a = await readFile(join(out, 'checkpoints', 'epoch-004', 'weights.bin'));
      const b = await readFile(join(ref, 'checkpoints', 'epoch-004', 'weights.bin'));
      assert.ok(a.equals(b), 'final weights differ from the uninterrupted run');
    });
  });
});

test('a resumed run keeps the precision it started with; naming another is noted in the log', { skip }, async () => {
  await withTempDir(async (dir) => {
    const release = await makeSyntheticRelease(join(dir, 'release'), { perLabelTrain: 8, perLabelVal: 2, size: 32 });
    const out = join(dir, 'run');
    const base = { release, out, size: 32, batchSize: 16, seed: 2, threads: 2 };
    const precisionOf = async (epoch: number) =>
      (
        JSON.parse(await readFile(join(out, 'checkpoints', `epoch-00${epoch}`, 'state.json'), 'utf8')) as {
          precision: string;
        }
      ).precision;
    await train({ ...base, epochs: 1, precision: 'float32' });
    assert.equal(await precisionOf(1), 'float32');
    const lines: string[] = [];
    await train({ ...base, epochs: 2, resume: true, log: (l) => lines.push(l) }); // precision "auto"
    assert.equal(await precisionOf(2), 'float32');
    assert.ok(!lines.some((l) => /continues in/.test(l)), lines.join('\n'));
    if (!engine!.info().bf16Supported) return;
    await train({ ...base, epochs: 3, resume: true, precision: 'mixed_bfloat16', log: (l) => lines.push(l) });
    assert.equal(await precisionOf(3), 'mixed_bfloat16');
    assert.ok(
      lines.some((l) => l === 'note: the run started in float32 and continues in mixed_bfloat16'),
      lines.join('\n'),
    );
  });
});
