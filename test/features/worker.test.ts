// Preparing images in the worker thread (the default) must not change anything a user sees: the same
// table byte for byte, the same skipped sets, the same error naming the same file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { loadModel, type FeatureModel } from '../../src/features/model.js';
import { extractFeatures } from '../../src/features/extract.js';
import { filesInput } from '../../src/features/inputs.js';
import { FeatureTableWriter } from '../../src/features/table-writer.js';
import type { Method } from '../../src/features/preprocess.js';
import { UserError, messageOf } from '../../src/util/errors.js';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { parseCsv } from './fixtures.js';

const HUMAN = ['d0', 'd1', 'd2'].map((d) =>
  sharedPath('images/cellprofiler_examples/ExampleHuman/images', `AS_09125_050116030001_D03f00${d}.tif`),
);
const WORMS = [
  'w1_[9AA4D9EA-18E4-4354-8C7D-0202029A8048]',
  'w2_[EFB0F53A-F40F-46D8-A61A-51C2BE61E460]',
  'w3_[E3E9B145-D9B7-49E1-8159-496F065708F7]',
].map((w) => sharedPath('images/cellprofiler_examples/ExampleStraightenWorms/images', `101210OranePlt1_C16_${w}.tif`));

/**
 * Tiles of the real 3-channel sets at their own bit depth, in two sizes (so chunks hold groups of
 * different sizes) and a corrupt file between them. Returns the list file.
 */
async function tiles(dir: string): Promise<string> {
  const lines: string[] = [];
  const tile = async (
    files: string[],
    tag: string,
    left: number,
    top: number,
    width: number,
    height: number,
  ): Promise<void> => {
    const names: string[] = [];
    for (const [c, f] of files.entries()) {
      const name = `${tag}-${left}-${top}-${width}x${height}-c${c}.tif`;
      await sharp(f, { failOn: 'error' })
        .extract({ left, top, width, height })
        .tiff({ compression: 'none' })
        .toFile(join(dir, name));
      names.push(name);
    }
    lines.push(names.join('|'));
  };
  await tile(HUMAN, 'human', 0, 0, 48, 48);
  await tile(WORMS, 'worms', 100, 100, 48, 48);
  await tile(HUMAN, 'human', 200, 120, 40, 56);
  await writeFile(join(dir, 'broken.png'), 'not a png');
  lines.push('broken.png');
  await tile(WORMS, 'worms', 300, 50, 40, 56);
  await tile(HUMAN, 'human', 150, 300, 48, 48);
  await tile(WORMS, 'worms', 20, 250, 48, 48);
  await writeFile(join(dir, 'list.txt'), lines.join('\n') + '\n');
  return join(dir, 'list.txt');
}

async function table(
  model: FeatureModel,
  list: string,
  out: string,
  method: Method,
  worker: boolean,
): Promise<{ csv: string; skipped: string[] }> {
  const source = await filesInput(list);
  const writer = new FeatureTableWriter(out, source.keyColumns);
  const skipped: string[] = [];
  // batch 4: a 3-channel set straddles two onnxruntime calls; native size: one chunk, two sizes
  await extractFeatures(model, source.sets, {
    method,
    batchSize: 4,
    worker,
    skipUnreadable: true,
    onRow: (k, f) => writer.writeRow(k, f),
    onSkip: (job, reason) => skipped.push(`${job.key.join(',')}: ${reason}`),
  });
  await writer.finish();
  return { csv: await readFile(out, 'utf8'), skipped };
}

test('the worker thread gives byte-identical tables to the main thread (real tiles, two sizes, a corrupt file skipped)', async () => {
  await withTempDir(async (dir) => {
    const list = await tiles(dir);
    const model = await loadModel('random:0');
    try {
      for (const method of ['concat-norm', 'merge-raw'] as const) {
        const inThread = await table(model, list, join(dir, `${method}-main.csv`), method, false);
        const inWorker = await table(model, list, join(dir, `${method}-worker.csv`), method, true);
        assert.equal(inWorker.csv, inThread.csv, method);
        assert.deepEqual(inWorker.skipped, inThread.skipped);
        assert.equal(inWorker.skipped.length, 1);
        assert.match(inWorker.skipped[0], /broken\.png/);
        const t = parseCsv(inWorker.csv);
        assert.equal(t.rows.length, 6);
        assert.equal(t.header.length, 1 + (method === 'concat-norm' ? 3 : 1) * 1280);
        assert.notDeepEqual(t.rows[0].slice(1, 20), t.rows[1].slice(1, 20));
      }
    } finally {
      await model.session.release();
    }
  });
});

test('a corrupt image read in the worker stops the run with the same UserError, naming the file, as on the main thread', async () => {
  await withTempDir(async (dir) => {
    const list = await tiles(dir);
    const model = await loadModel('random:0');
    try {
      const failure = async (worker: boolean): Promise<UserError> => {
        const source = await filesInput(list);
        try {
          await extractFeatures(model, source.sets, {
            method: 'merge-norm',
            batchSize: 4,
            worker,
            onRow: () => undefined,
          });
        } catch (e) {
          assert.ok(e instanceof UserError, `worker ${worker}: ${String(e)}`);
          return e;
        }
        assert.fail(`worker ${worker}: the corrupt file did not stop the run`);
      };
      const inThread = await failure(false);
      const inWorker = await failure(true);
      assert.equal(messageOf(inWorker), messageOf(inThread));
      assert.equal(inWorker.name, inThread.name);
      assert.equal(inWorker.location.file, join(dir, 'broken.png'));
      assert.match(messageOf(inWorker), /broken\.png/);
    } finally {
      await model.session.release();
    }
  });
});
