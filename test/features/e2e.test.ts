// `cytoimagenet features` then `cytoimagenet evaluate`, through the real binary, on synthetic
// COOS-7 and CyCLOPS folders whose classes differ visibly: the whole transfer protocol.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdir, readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { Rng } from '../../src/util/rng.js';
import { CLI, withTempDir } from '../helpers/data.js';

const run = promisify(execFile);

async function cli(args: string[]): Promise<string> {
  try {
    return (await run(process.execPath, [CLI, ...args], { maxBuffer: 1 << 26 })).stdout;
  } catch (e) {
    const x = e as { stderr: string; stdout: string };
    throw new Error(`cytoimagenet ${args[0]} failed:\n${x.stderr}\n${x.stdout}`);
  }
}

const SIDE = 32;

/** A 32×32 8-bit cell: a disk (compact) or a ring (spread) at a jittered centre, with noise. */
async function cell(path: string, shape: 'disk' | 'ring', rng: Rng): Promise<void> {
  const cx = 16 + rng.int(-3, 3);
  const cy = 16 + rng.int(-3, 3);
  const px = Buffer.alloc(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++)
    for (let x = 0; x < SIDE; x++) {
      const r = Math.hypot(x - cx, y - cy);
      const on = shape === 'disk' ? r < 5 : r > 8 && r < 12;
      px[y * SIDE + x] = Math.min(255, (on ? 180 : 20) + rng.int(0, 30));
    }
  await sharp(px, { raw: { width: SIDE, height: SIDE, channels: 1 } })
    .tiff()
    .toFile(path);
}

test('features → evaluate on synthetic COOS-7 and CyCLOPS folders (random EfficientNetB0, concat-norm)', async () => {
  await withTempDir(async (dir) => {
    // COOS-7: the protein channel tells the class; the nucleus channel is a disk for both
    const coos = join(dir, 'CURATED-COOS7');
    const classes = [
      ['NUCLEUS', 'disk'],
      ['CYTOPLASM', 'ring'],
    ] as const;
    for (const [split, n] of [
      ['train', 12],
      ['test1', 5],
    ] as const) {
      for (const [label, shape] of classes) {
        await mkdir(join(coos, split, label), { recursive: true });
        for (let i = 0; i < n; i++) {
          const rng = Rng.derive(1, split, label, i);
          await cell(join(coos, split, label, `${i}_protein.tif`), shape, rng);
          await cell(join(coos, split, label, `${i}_nucleus.tif`), 'disk', rng);
        }
      }
    }
    const coosFeatures = join(dir, 'coos7.parquet');
    const said = await cli([
      'features',
      '--model',
      'random:0',
      '--method',
      'concat-norm',
      '--coos7',
      coos,
      '--out',
      coosFeatures,
      '--no-progress',
    ]);
    assert.match(said, /34 image sets \(68 images\) → 2560 features/);
    await cli(['evaluate', 'coos7', '--features', coosFeatures, '--out', join(dir, 'eval'), '--no-progress']);

    // CyCLOPS: gfp tells the class; DEAD is dropped by the protocol
    const cyc = join(dir, 'cyclops');
    for (const [label, shape] of [...classes, ['DEAD', 'disk']] as const) {
      await mkdir(join(cyc, label), { recursive: true });
      for (let i = 0; i < 14; i++) {
        const rng = Rng.derive(2, label, i);
        await cell(join(cyc, label, `c${i}_gfp.tif`), shape, rng);
        await cell(join(cyc, label, `c${i}_rfp.tif`), 'disk', rng);
      }
    }
    const cycFeatures = join(dir, 'cyclops.csv');
    await cli([
      'features',
      '--model',
      'random:0',
      '--method',
      'concat-norm',
      '--cyclops',
      cyc,
      '--out',
      cycFeatures,
      '--no-progress',
    ]);
    await cli(['evaluate', 'cyclops', '--features', cycFeatures, '--out', join(dir, 'eval'), '--no-progress']);

    type Acc = { correct: number; total: number; accuracy: number; ci95: number };
    const results = JSON.parse(await readFile(join(dir, 'eval', 'results.json'), 'utf8')) as {
      coos7: { test1: Acc };
      cyclops: { loo: Acc };
    };
    assert.equal(results.coos7.test1.total, 10);
    assert.equal(results.cyclops.loo.total, 28);
    // disks and rings are easy even for random features; chance is 50 %
    assert.ok(results.coos7.test1.accuracy >= 0.9, `COOS-7 test1 ${JSON.stringify(results.coos7.test1)}`);
    assert.ok(results.cyclops.loo.accuracy >= 0.9, `CyCLOPS ${JSON.stringify(results.cyclops.loo)}`);
  });
});
