import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, sharedPath, withTempDir } from '../helpers/data.js';
import { loadBbbc021ImageSets } from '../../src/datasets/bbbc021-tables.js';
import { csv, featureHeader, clusters, writeBbbc021Table } from './planted.js';

const run = promisify(execFile);
const META = sharedPath('metadata', 'bbbc021');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args]);
    return { code: 0, ...r };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

test('the three evaluate commands fill one results.json and one Table 2; evaluate table gathers folders', async () => {
  await withTempDir(async (dir) => {
    const sets = loadBbbc021ImageSets(META);
    const moas = [...new Set(sets.map((s) => s.moa!))].sort();
    const b = join(dir, 'bbbc021.csv');
    await writeBbbc021Table(b, sets, moas.length, (s) => moas.map((m) => (m === s.moa ? 1 : 0)), 0.05);
    const labels = ['er', 'golgi'].flatMap((l) => Array(12).fill(l) as string[]);
    const c7 = join(dir, 'coos7.csv');
    await writeFile(
      c7,
      csv(
        ['split', 'label', ...featureHeader(3)],
        clusters([...labels, ...labels], 3, 1, 4).map((v, i) => [
          i < labels.length ? 'train' : 'test3',
          labels[i % labels.length],
          ...v,
        ]),
      ),
    );
    const cy = join(dir, 'cyclops.csv');
    await writeFile(
      cy,
      csv(
        ['label', ...featureHeader(3)],
        clusters(labels, 3, 1, 5).map((v, i) => [labels[i], ...v]),
      ),
    );
    const out = join(dir, 'out');
    const r1 = await cli([
      'evaluate',
      'bbbc021',
      '--metadata',
      META,
      '--features',
      b,
      '--out',
      out,
      '--name',
      'planted',
    ]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, /NSC +100\.00 ± 0\.00 % \(103\/103\)/);
    const r2 = await cli(['evaluate', 'coos7', '--features', c7, '--out', out, '--name', 'planted']);
    assert.equal(r2.code, 0, r2.stderr);
    const r3 = await cli(['evaluate', 'cyclops', '--features', cy, '--out', out, '--k', '3', '--name', 'planted']);
    assert.equal(r3.code, 0, r3.stderr);
    const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    assert.deepEqual(Object.keys(json).sort(), ['bbbc021', 'coos7', 'cyclops']);
    for (const [task, subset] of [
      ['bbbc021', 'nsc'],
      ['bbbc021', 'nscb'],
      ['coos7', 'test3'],
      ['cyclops', 'loo'],
    ]) {
      assert.deepEqual(
        Object.keys(json[task][subset]).sort(),
        ['accuracy', 'ci95', 'correct', 'total'],
        `${task}.${subset}`,
      );
    }
    assert.equal(json.bbbc021.nscb.total, 92);
    assert.equal(json.cyclops.k, 3);
    const table = await readFile(join(out, 'table2.md'), 'utf8');
    const order = ['BBBC021 (NSC)', 'BBBC021 (NSCB)', 'CYCLoPs (LOO)', 'COOS-7 test 3'].map((t) => table.indexOf(t));
    assert.ok(
      order.every((p, i) => p >= 0 && (i === 0 || p > order[i - 1])),
      table,
    );
    const predictions = await readFile(join(out, 'bbbc021_predictions.csv'), 'utf8');
    assert.equal(predictions.trim().split('\n').length, 104);
    // A second feature set in another folder: one column each.
    const out2 = join(dir, 'out2');
    assert.equal(
      (await cli(['evaluate', 'cyclops', '--features', cy, '--out', out2, '--scaler', 'none', '--name', 'other'])).code,
      0,
    );
    const r4 = await cli(['evaluate', 'table', out, out2, '--out', join(dir, 'summary')]);
    assert.equal(r4.code, 0, r4.stderr);
    assert.match(await readFile(join(dir, 'summary', 'table2.md'), 'utf8'), /\| Task \| planted \| other \|/);
  });
});

test('bad input ends with a located sentence on stderr and exit code 1, no stack trace', async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, 'x.csv');
    await writeFile(f, 'label,f0\nA,1\nB,oops\n');
    const r = await cli(['evaluate', 'cyclops', '--features', f, '--out', join(dir, 'o')]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3, column 'f0': feature value is not a number: 'oops'`),
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const k = await cli(['evaluate', 'coos7', '--features', f, '--out', join(dir, 'o'), '--k', 'zero']);
    assert.equal(k.code, 1);
    assert.match(k.stderr, /--k must be a positive whole number/);
  });
});

test('evaluate bbbc021 says how many labelled image sets have no features and lists them in results.json', async () => {
  await withTempDir(async (dir) => {
    const sets = loadBbbc021ImageSets(META);
    const moas = [...new Set(sets.map((s) => s.moa!))].sort();
    // Drop every fifth non-DMSO image set and all DMSO ones (the default scaler does not use them);
    // every treatment keeps images.
    const nonDmso = sets.filter((s) => s.compound !== 'DMSO');
    const dropped = nonDmso.filter((_, i) => i % 5 === 0).map((s) => s.key);
    const gone = new Set(dropped);
    const kept = nonDmso.filter((s) => !gone.has(s.key));
    const b = join(dir, 'bbbc021.csv');
    await writeBbbc021Table(b, kept, moas.length, (s) => moas.map((m) => (m === s.moa ? 1 : 0)), 0.05);
    const out = join(dir, 'out');
    const r = await cli(['evaluate', 'bbbc021', '--metadata', META, '--features', b, '--out', out, '--k', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`${dropped.length} of the ${nonDmso.length} labelled image sets have no features`),
    );
    const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    assert.equal(json.bbbc021.counts.missingImages, dropped.length);
    assert.deepEqual([...json.bbbc021.withoutFeatures].sort(), [...dropped].sort());
  });
});
