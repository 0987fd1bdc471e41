// The real `cytoimagenet labels` command in a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, withTempDir } from '../helpers/data.js';
import { assignLabels } from '../../src/labels/assign-labels.js';
import { makeCatalog } from './make-catalog.js';
import { syntheticRows } from './synthetic-rows.js';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'labels', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('cytoimagenet labels writes the same folder as assignLabels and prints the category summary', async () => {
  await withTempDir(async (dir) => {
    const catalog = join(dir, 'catalog.duckdb');
    await makeCatalog(catalog, syntheticRows(3000));
    const r = run([
      '--catalog',
      catalog,
      '--out',
      join(dir, 'cli'),
      '--seed',
      '3',
      '--threshold',
      '30',
      '--cap',
      '100',
      '--presample',
      '200',
      '--exclude-source',
      'bbbc_c',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\d+ labels, \d+ images from 2000 catalog rows \(1000 held out\)/);
    assert.match(r.stdout, /compound\s+\d+\s+\d+/);
    await assignLabels(catalog, join(dir, 'api'), {
      seed: 3,
      threshold: 30,
      cap: 100,
      presample: 200,
      excludeSources: ['bbbc_c'],
    });
    for (const f of ['labels.csv', 'assignments.csv', 'labels.json', 'summary.md']) {
      assert.equal(readFileSync(join(dir, 'cli', f), 'utf8'), readFileSync(join(dir, 'api', f), 'utf8'), f);
    }

    const bad: [string[], RegExp][] = [
      [['--threshold', '2000'], /--threshold \(2000\) must not exceed --cap \(1000\)/],
      [['--cap', '-3'], /--cap must be at least 1, got -3/],
      [['--category', 'colour'], /unknown category 'colour'/],
      [
        ['--exclude-source', 'bbbc021'],
        /no source named 'bbbc021'[\s\S]*known sources \(dir_name\): bbbc_c, idr_a, rec_b/,
      ],
    ];
    for (const [args, message] of bad) {
      const b = run(['--catalog', catalog, '--out', join(dir, 'bad'), ...args]);
      assert.equal(b.status, 1, args.join(' '));
      assert.match(b.stderr, message);
      assert.doesNotMatch(b.stderr, /^\s+at /m, 'no stack trace');
    }
  });
});

test('labels that select nothing exit 1 saying why: the largest candidate counts and the threshold that would give labels', async () => {
  await withTempDir(async (dir) => {
    const catalog = join(dir, 'small.duckdb');
    const rows = Array.from({ length: 60 }, (_, i) => ({
      idx: `s-${i}`,
      organism: i < 40 ? 'human' : null,
      compound: i < 25 ? 'taxol' : i < 35 ? 'dmso' : null,
    }));
    await makeCatalog(catalog, rows);
    const out = join(dir, 'labels');
    const r = run(['--catalog', catalog, '--out', out]);
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, /no label has 287 or more images/);
    assert.match(r.stderr, /human \(organism\) 40, taxol \(compound\) 25, dmso \(compound\) 10/);
    assert.match(r.stderr, /--threshold 40 or lower/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    assert.ok(!existsSync(out), 'no labels folder is written');
  });
});

test('cytoimagenet labels --extend grows a folder with the parent options, and refuses a flag that differs', async () => {
  await withTempDir(async (dir) => {
    const rows = syntheticRows(3000);
    const catalog0 = join(dir, 'catalog0.duckdb');
    const catalog1 = join(dir, 'catalog1.duckdb');
    await makeCatalog(catalog0, rows.slice(0, 2000));
    await makeCatalog(catalog1, rows);
    const common = ['--threshold', '30', '--cap', '100', '--presample', '200'];
    assert.equal(run(['--catalog', catalog0, '--out', join(dir, 'p'), ...common]).status, 0);
    const r = run(['--catalog', catalog1, '--extend', join(dir, 'p'), '--out', join(dir, 'x')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Extended .* \(digest [0-9a-f]{12}\): \d+ labels topped up with \d+ images, \d+ new labels/);
    const manifest = JSON.parse(readFileSync(join(dir, 'x', 'labels.json'), 'utf8')) as { cap: number; parent: object };
    assert.equal(manifest.cap, 100);
    assert.ok(manifest.parent);
    const bad = run(['--catalog', catalog1, '--extend', join(dir, 'p'), '--out', join(dir, 'y'), '--cap', '50']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--extend keeps the parent's options, but cap 50 \(the parent's is 100\)/);
  });
});
