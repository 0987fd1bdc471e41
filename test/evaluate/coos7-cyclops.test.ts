import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withTempDir } from '../helpers/data.js';
import { runCoos7, runCyclops } from '../../src/evaluate/run.js';
import { evaluateCyclops } from '../../src/evaluate/cyclops.js';
import { csv, featureHeader, clusters } from './planted.js';

const LABELS = ['er', 'golgi', 'nucleus'];

/** Train: 3 well-separated clusters. test1: same clusters; test2: labels rotated (known 0 %). */
async function coos7Table(path: string, dim = 8): Promise<void> {
  const rows: (string | number)[][] = [];
  const centre = (l: string): number[] => Array.from({ length: dim }, (_, j) => (j === LABELS.indexOf(l) ? 10 : 0));
  const add = (split: string, labels: string[], seed: number, rename: (l: string) => string = (l) => l) => {
    clusters(labels, dim, 1, seed, centre).forEach((v, i) => rows.push([split, rename(labels[i]), ...v]));
  };
  const each = (n: number) => LABELS.flatMap((l) => Array.from({ length: n }, () => l));
  add('train', each(15), 1);
  add('test1', each(6), 2);
  add('test2', each(4), 3, (l) => LABELS[(LABELS.indexOf(l) + 1) % 3]);
  await writeFile(path, csv(['split', 'label', ...featureHeader(dim)], rows));
}

test('COOS-7: 11-NN fit on train; per-test accuracy and per-class rows with known answers', async () => {
  await withTempDir(async (dir) => {
    const table = join(dir, 'coos7.csv');
    await coos7Table(table);
    const out = join(dir, 'out');
    const { result } = await runCoos7({ features: [table], out, k: 11, scaler: 'standard', toolVersion: 'test' });
    assert.deepEqual([result.test1!.correct, result.test1!.total], [18, 18]);
    assert.deepEqual([result.test2!.correct, result.test2!.total], [0, 12]);
    assert.equal(result.test3, undefined);
    assert.equal(result.counts.train, 45);
    const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    assert.deepEqual(Object.keys(json.coos7.test1).sort(), ['accuracy', 'ci95', 'correct', 'total']);
    const perClass = await readFile(join(out, 'per_class.csv'), 'utf8');
    assert.match(perClass, /^task,subset,label,correct,total,accuracy,ci95\n/);
    assert.match(perClass, /\ncoos7,test1,golgi,6,6,1,0\n/);
    assert.match(perClass, /\ncoos7,test2,er,0,4,0,0\n/);
    assert.match(
      await readFile(join(out, 'table2.md'), 'utf8'),
      /\| COOS-7 test 1, 11-NN \| 100\.00 ± 0\.00 % \(18\/18\) \|/,
    );
  });
});

test('fusion: two tables joined row by row give the concatenated features; a mismatched row is named', async () => {
  await withTempDir(async (dir) => {
    const a = join(dir, 'a.csv');
    await coos7Table(a, 8);
    // A second table whose features alone are noise: fusion must still classify (signal in a).
    const text = await readFile(a, 'utf8');
    const noise = text
      .split('\n')
      .map((line, i) =>
        i === 0
          ? 'split,label,g0,g1'
          : line
            ? `${line.split(',').slice(0, 2).join(',')},${(i * 7919) % 13},${(i * 104729) % 11}`
            : '',
      )
      .join('\n');
    const b = join(dir, 'b.csv');
    await writeFile(b, noise);
    const { result } = await runCoos7({
      features: [a, b],
      out: join(dir, 'out'),
      k: 11,
      scaler: 'standard',
      toolVersion: 'test',
    });
    assert.equal(result.test1!.total, 18);
    assert.ok(result.test1!.correct >= 16);
    const lines = noise.split('\n');
    [lines[3], lines[20]] = [lines[20], lines[3]];
    const swapped = join(dir, 'c.csv');
    await writeFile(swapped, lines.join('\n'));
    await assert.rejects(
      runCoos7({ features: [a, swapped], out: join(dir, 'out2'), k: 11, scaler: 'standard', toolVersion: 'test' }),
      (e: Error & { location: { file: string; line: number; column: string } }) =>
        e.location.file === swapped && e.location.line === 4 && e.location.column === 'label',
    );
  });
});

test('fusion with an id column joins by (split, label, id), whatever the row order', async () => {
  await withTempDir(async (dir) => {
    const a = join(dir, 'a.csv');
    await coos7Table(a, 8);
    const lines = (await readFile(a, 'utf8')).trim().split('\n');
    const withId = (ls: string[]) =>
      ls.map((l, i) =>
        i === 0 ? l.replace('split,label,', 'split,label,id,') : l.replace(/^([^,]*,[^,]*,)/, `$1cell${i},`),
      );
    const idA = withId(lines);
    await writeFile(a, idA.join('\n') + '\n');
    // The second table: the same features under other names, rows reversed.
    const b = join(dir, 'b.csv');
    const header = idA[0].replace(/f(\d+)/g, 'g$1');
    await writeFile(b, [header, ...idA.slice(1).reverse()].join('\n') + '\n');
    const { result } = await runCoos7({
      features: [a, b],
      out: join(dir, 'out'),
      k: 11,
      scaler: 'standard',
      toolVersion: 'test',
    });
    assert.deepEqual([result.test1!.correct, result.test1!.total], [18, 18]);
    assert.deepEqual([result.test2!.correct, result.test2!.total], [0, 12]);
  });
});

test('CyCLOPS: leave-one-out drops DEAD/GHOST rows, counts SPINDLEPOLE as SPINDLE', async () => {
  await withTempDir(async (dir) => {
    const labels = [
      ...Array(14).fill('ACTIN'),
      ...Array(8).fill('SPINDLE'),
      ...Array(6).fill('SPINDLEPOLE'),
      ...Array(5).fill('DEAD'),
      ...Array(3).fill('GHOST'),
    ];
    const centre = (l: string): number[] =>
      l === 'ACTIN' ? [10, 0, 0, 0] : l.startsWith('SPINDLE') ? [0, 10, 0, 0] : [0, 0, 10, 0];
    const rows = clusters(labels, 4, 1, 9, centre).map((v, i) => [labels[i], ...v]);
    const table = join(dir, 'cyclops.csv');
    await writeFile(table, csv(['label', ...featureHeader(4)], rows));
    const { result } = await runCyclops({
      features: [table],
      out: join(dir, 'out'),
      k: 11,
      scaler: 'standard',
      toolVersion: 'test',
    });
    assert.deepEqual(result.counts, { cells: 28, classes: 2, droppedRows: 8, mergedRows: 6 });
    assert.deepEqual([result.loo.correct, result.loo.total], [28, 28]);
    assert.deepEqual(
      result.perClass.map((c) => `${c.label}:${c.correct}/${c.total}`),
      ['ACTIN:14/14', 'SPINDLE:14/14'],
    );
  });
});

test('CyCLOPS leave-one-out excludes the query by identity: an exact duplicate of another label is its neighbour', async () => {
  // Rows 0 and 1 are identical but labelled A and B; everything else is far away.
  const keys = [['A'], ['B'], ['C'], ['C'], ['D']];
  const data = Float32Array.from([0, 0, 0, 0, 50, 50, 51, 50, -80, 20]);
  const r = await evaluateCyclops(
    { file: 't.csv', keys, lines: [2, 3, 4, 5, 6], matrix: { rows: 5, cols: 2, data } },
    { k: 1, scaler: 'none' },
  );
  const pa = r.perClass.find((c) => c.label === 'A')!;
  const pb = r.perClass.find((c) => c.label === 'B')!;
  assert.equal(pa.correct, 0, 'A must take B (its duplicate), not itself');
  assert.equal(pb.correct, 0, 'B must take A, even though A comes first among the equal distances');
  assert.equal(r.perClass.find((c) => c.label === 'C')!.correct, 2);
});
