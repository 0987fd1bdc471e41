// A labels folder is all of one run or refused: a re-run killed part-way, or CSVs copied in from
// another run, must not reach a release with the old labels.json's seed and cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, withTempDir } from '../helpers/data.js';
import { assignLabels } from '../../src/labels/assign-labels.js';
import { buildRelease } from '../../src/release/build-release.js';
import { UserError } from '../../src/util/errors.js';
import { makeCatalog } from './make-catalog.js';
import { syntheticRows } from './synthetic-rows.js';

const OPTS = { threshold: 30, cap: 100, presample: 200 };
const quiet = { progress: false, log: (): void => undefined };

test('build refuses a labels folder whose CSVs come from another run than its labels.json, before any work', async () => {
  await withTempDir(async (dir) => {
    const catalog = join(dir, 'catalog.duckdb');
    await makeCatalog(catalog, syntheticRows(3000));
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await assignLabels(catalog, a, { ...OPTS, seed: 1 });
    await assignLabels(catalog, b, { ...OPTS, seed: 2 });
    assert.notEqual(
      await readFile(join(a, 'assignments.csv'), 'utf8'),
      await readFile(join(b, 'assignments.csv'), 'utf8'),
    );
    // What a kill between the files' renames leaves: the new CSVs beside the old labels.json.
    await copyFile(join(b, 'labels.csv'), join(a, 'labels.csv'));
    await copyFile(join(b, 'assignments.csv'), join(a, 'assignments.csv'));
    const out = join(dir, 'release');
    await assert.rejects(
      buildRelease({ catalog, labels: a, out, minRelease: 1, ...quiet }),
      (e: unknown) =>
        e instanceof UserError &&
        /labels\.csv/.test(e.message) &&
        /labels\.json/.test(e.message) &&
        /re-run/.test(`${e.message} ${e.hint}`),
    );
    assert.ok(!existsSync(out), 'nothing was written');
  });
});

test('a labels re-run killed after writing assignments.csv leaves a folder build refuses, and the next run repairs it', async () => {
  await withTempDir(async (dir) => {
    const catalog = join(dir, 'catalog.duckdb');
    await makeCatalog(catalog, syntheticRows(3000));
    const folder = join(dir, 'labels');
    await assignLabels(catalog, folder, { ...OPTS, seed: 1 });
    const args = [
      'labels',
      '--catalog',
      catalog,
      '--out',
      folder,
      '--seed',
      '2',
      '--threshold',
      '30',
      '--cap',
      '100',
      '--presample',
      '200',
    ];
    const killed = spawnSync(process.execPath, [CLI, ...args], {
      env: { ...process.env, CYTOIMAGENET_LABELS_CRASH_AT: 'assignments' },
      encoding: 'utf8',
    });
    assert.equal(killed.signal, 'SIGKILL');
    await assert.rejects(
      buildRelease({ catalog, labels: folder, out: join(dir, 'release'), minRelease: 1, ...quiet }),
      (e: unknown) => e instanceof UserError && /labels\.json/.test(e.message),
    );
    const again = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    const fresh = join(dir, 'fresh');
    await assignLabels(catalog, fresh, { ...OPTS, seed: 2 });
    for (const f of ['labels.csv', 'assignments.csv', 'labels.json'])
      assert.equal(await readFile(join(folder, f), 'utf8'), await readFile(join(fresh, f), 'utf8'), f);
  });
});

test('labels killed with its scratch CSV written: the next run removes it; stopped with SIGTERM: it removes its own', async () => {
  await withTempDir(async (dir) => {
    const catalog = join(dir, 'catalog.duckdb');
    await makeCatalog(catalog, syntheticRows(3000));
    const folder = join(dir, 'labels');
    const args = [
      CLI,
      'labels',
      '--catalog',
      catalog,
      '--out',
      folder,
      '--threshold',
      '30',
      '--cap',
      '100',
      '--presample',
      '200',
    ];
    const scratch = async (): Promise<string[]> => (await readdir(folder)).filter((f) => f.startsWith('.'));
    const killed = spawnSync(process.execPath, args, {
      env: { ...process.env, CYTOIMAGENET_LABELS_CRASH_AT: 'rows' },
      encoding: 'utf8',
    });
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal((await scratch()).length > 0, true, 'the kill left the scratch CSV');
    const again = spawnSync(process.execPath, args, { encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(await scratch(), []);
    const stopped = spawnSync(process.execPath, args, {
      env: { ...process.env, CYTOIMAGENET_LABELS_CRASH_AT: 'rows-term' },
      encoding: 'utf8',
    });
    assert.equal(stopped.status, 143, stopped.stderr);
    assert.deepEqual(await scratch(), []);
  });
});
