// The real command in a child process, on real microscopy files from shared/data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { CLI, sharedPath, withTempDir } from '../helpers/data.js';
import { randomEfficientNetWeights } from '../../src/model/efficientnet-weights.js';
import { writeKerasWeights } from '../../src/model/keras-h5.js';
import { loadPlane } from '../../src/features/preprocess.js';

const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { maxBuffer: 1 << 26 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

async function readParquet(path: string): Promise<{ columns: string[]; rows: unknown[][] }> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    const r = await con.runAndReadAll(`SELECT * FROM read_parquet('${path.replace(/'/g, "''")}')`);
    return { columns: r.columnNames(), rows: r.getRows() as unknown[][] };
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}

const HUMAN = 'images/cellprofiler_examples/ExampleHuman/images';
const WORMS = 'images/cellprofiler_examples/ExampleStraightenWorms/images';

test('features on real 8- and 16-bit 3-channel sets: random EfficientNetB0, concat-norm at 64×64 → Parquet keyed by the list line', async () => {
  await withTempDir(async (dir) => {
    const human = ['d0', 'd1', 'd2'].map((d) => sharedPath(HUMAN, `AS_09125_050116030001_D03f00${d}.tif`));
    const worms = [
      'w1_[9AA4D9EA-18E4-4354-8C7D-0202029A8048]',
      'w2_[EFB0F53A-F40F-46D8-A61A-51C2BE61E460]',
      'w3_[E3E9B145-D9B7-49E1-8159-496F065708F7]',
    ].map((w) => sharedPath(WORMS, `101210OranePlt1_C16_${w}.tif`));
    const lines = [human.join('|'), worms.map((f) => relative(dir, f)).join('|')];
    await writeFile(join(dir, 'sets.txt'), lines.join('\n') + '\n');
    const out = join(dir, 'features.parquet');
    const r = await cli([
      'features',
      '--model',
      'random:0',
      '--method',
      'concat-norm',
      '--size',
      '64',
      '--files',
      join(dir, 'sets.txt'),
      '--out',
      out,
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 image sets \(6 images\) → 3840 features/);
    const t = await readParquet(out);
    assert.equal(t.columns.length, 1 + 3 * 1280);
    assert.equal(t.columns[0], 'key');
    assert.equal(t.columns[1], 'f0');
    assert.equal(t.columns.at(-1), 'f3839');
    assert.deepEqual(
      t.rows.map((row) => row[0]),
      lines,
    );
    for (const row of t.rows) assert.ok(row.slice(1).every((v) => typeof v === 'number' && Number.isFinite(v)));
    assert.notDeepEqual(t.rows[0].slice(1, 50), t.rows[1].slice(1, 50));
  });
});

test('raw intensities of a 16-bit file reach the model on the 0–255 scale (12-bit data stays dim)', async () => {
  // 1-162hrh2ax2.tif: 16-bit container, values 628–4095
  const p = await loadPlane(sharedPath('images/cellprofiler_examples/ExampleSpeckles/images/1-162hrh2ax2.tif'), false);
  let max = -Infinity;
  let min = Infinity;
  for (const v of p.data) (max = Math.max(max, v)), (min = Math.min(min, v));
  assert.ok(Math.abs(max - (4095 * 255) / 65535) < 1e-3, `max ${max}`);
  assert.ok(Math.abs(min - (628 * 255) / 65535) < 1e-3, `min ${min}`);
  const n = await loadPlane(sharedPath('images/cellprofiler_examples/ExampleSpeckles/images/1-162hrh2ax2.tif'), true);
  assert.ok(n.data.every((v) => v >= 0 && v <= 255));
  assert.ok(
    n.data.some((v) => v === 255),
    'normalised: stretched to 255',
  );
});

test('an .h5 that is not EfficientNetB0 is refused with a message naming the layer; bad options are sentences', async () => {
  await withTempDir(async (dir) => {
    const w = randomEfficientNetWeights(1);
    w.get('top_conv')!.set('kernel', { shape: [1, 1, 320, 1536], data: new Float32Array(320 * 1536) });
    const h5 = join(dir, 'b3ish.h5');
    await writeKerasWeights(h5, w);
    await writeFile(join(dir, 'sets.txt'), sharedPath(HUMAN, 'AS_09125_050116030001_D03f00d0.tif') + '\n');
    const r = await cli([
      'features',
      '--model',
      h5,
      '--method',
      'merge-raw',
      '--files',
      join(dir, 'sets.txt'),
      '--out',
      join(dir, 'f.csv'),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /top_conv/);
    assert.match(r.stderr, /\(1, 1, 320, 1280\)/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const none = await cli(['features', '--model', 'random:1', '--method', 'merge-raw', '--out', join(dir, 'f.csv')]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no input given/);
    const badMethod = await cli([
      'features',
      '--model',
      'random:1',
      '--method',
      'concat',
      '--files',
      join(dir, 'sets.txt'),
      '--out',
      join(dir, 'f.csv'),
    ]);
    assert.equal(badMethod.code, 1);
    assert.match(badMethod.stderr, /method/);
  });
});
