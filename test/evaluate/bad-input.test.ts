import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { readFeaturesTable } from '../../src/evaluate/features-table.js';
import { runBbbc021, runCoos7, runCyclops } from '../../src/evaluate/run.js';
import { loadBbbc021ImageSets } from '../../src/datasets/bbbc021-tables.js';
import { UserError } from '../../src/util/errors.js';
import { writeBbbc021Table } from './planted.js';

const META = sharedPath('metadata', 'bbbc021');

/** Rejects with a UserError located at this file (and line / column when given). */
function located(file: string, where: { line?: number; column?: string }, text?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.equal(e.location.file, file);
    if (where.line !== undefined) assert.equal(e.location.line, where.line);
    if (where.column !== undefined) assert.equal(e.location.column, where.column);
    if (text) assert.match(e.format(), text);
    return true;
  };
}

test('a ragged line is named by file, line and column', async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, 'ragged.csv');
    await writeFile(f, 'label,f0,f1\na,1,2\nb,3\nc,4,5\n');
    await assert.rejects(
      readFeaturesTable(f, { required: ['label'] }),
      located(f, { line: 3, column: 'f1' }, /ragged.*2 fields.*header has 3/),
    );
    await writeFile(f, 'label,f0,f1\na,1,2\nb,3,4,9\n');
    await assert.rejects(
      readFeaturesTable(f, { required: ['label'] }),
      located(f, { line: 3, column: 'f1' }, /4 fields/),
    );
  });
});

test('non-numeric, NaN and missing features are named by file, line and column', async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, 'bad.csv');
    await writeFile(f, 'label,f0,f1\na,1,2\nb,3,x7\n');
    await assert.rejects(
      readFeaturesTable(f, { required: ['label'] }),
      located(f, { line: 3, column: 'f1' }, /not a number: 'x7'/),
    );
    await writeFile(f, 'label,f0,f1\na,1,2\nb,NaN,4\n');
    await assert.rejects(
      readFeaturesTable(f, { required: ['label'] }),
      located(f, { line: 3, column: 'f0' }, /not finite/),
    );
    await writeFile(f, 'label,f0,f1\na,1,\n');
    await assert.rejects(
      readFeaturesTable(f, { required: ['label'] }),
      located(f, { line: 2, column: 'f1' }, /missing feature value/),
    );
    await writeFile(f, 'name,f0\na,1\n');
    await assert.rejects(
      readFeaturesTable(f, { required: ['label'] }),
      located(f, { column: 'label' }, /key column missing/),
    );
  });
});

test('Parquet tables read the same as CSV (via DuckDB)', async () => {
  await withTempDir(async (dir) => {
    const c = join(dir, 't.csv');
    await writeFile(c, 'split,label,f0,f1\ntrain,er,1.5,-2\ntest1,golgi,3,4.25\n');
    const p = join(dir, 't.parquet');
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    await con.run(
      `COPY (SELECT split, label, CAST(f0 AS FLOAT) f0, CAST(f1 AS FLOAT) f1 FROM read_csv('${c}')) TO '${p}' (FORMAT parquet)`,
    );
    con.closeSync();
    db.closeSync();
    const a = await readFeaturesTable(c, { required: ['split', 'label'] });
    const b = await readFeaturesTable(p, { required: ['split', 'label'] });
    assert.deepEqual(b.keys, [
      ['train', 'test1'],
      ['er', 'golgi'],
    ]);
    assert.deepEqual(Array.from(b.matrix.data), Array.from(a.matrix.data));
    assert.deepEqual(b.featureColumns, ['f0', 'f1']);
    // Tab-separated text with Windows line ends reads the same too.
    const t = join(dir, 't.tsv');
    await writeFile(t, 'split\tlabel\tf0\tf1\r\ntrain\ter\t1.5\t-2\r\ntest1\tgolgi\t3\t4.25\r\n');
    const c2 = await readFeaturesTable(t, { required: ['split', 'label'] });
    assert.deepEqual(c2.keys, a.keys);
    assert.deepEqual(Array.from(c2.matrix.data), Array.from(a.matrix.data));
  });
});

test('BBBC021: keys that match no image set are named; rows without MOA and DMSO rows are not errors', async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, 'wrong.csv');
    await writeFile(f, 'Image_FileName_DAPI,f0\nnot-an-image.tif,1\n');
    await assert.rejects(
      runBbbc021({ metadata: META, features: [f], out: join(dir, 'o'), k: 1, scaler: 'standard', toolVersion: 't' }),
      located(f, { line: 2, column: 'Image_FileName_DAPI' }, /not an image set/),
    );
    // Every image set (13,200, most without an MOA) in one table: the extra rows are ignored.
    const all = loadBbbc021ImageSets(META, { all: true });
    const g = join(dir, 'all.csv');
    await writeBbbc021Table(g, all, 2, (s) => [s.compound.length, s.concentration], 0.1);
    const { result } = await runBbbc021({
      metadata: META,
      features: [g],
      out: join(dir, 'o'),
      k: 1,
      scaler: 'dmso',
      toolVersion: 't',
    });
    assert.equal(result.counts.ignoredRows, 13200 - 3848);
    assert.equal(result.nsc.total, 103);
    // Half the treatments missing: refused, naming the file.
    const h = join(dir, 'half.csv');
    await writeBbbc021Table(
      h,
      all.filter((s) => s.compound < 'm'),
      2,
      () => [1, 2],
    );
    await assert.rejects(
      runBbbc021({ metadata: META, features: [h], out: join(dir, 'o'), k: 1, scaler: 'standard', toolVersion: 't' }),
      located(h, { column: 'Image_FileName_DAPI' }, /no features for/),
    );
  });
});

test('fewer than k+1 training rows is refused, naming the file and column', async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, 'small.csv');
    const rows = ['split,label,f0', ...Array.from({ length: 11 }, (_, i) => `train,a${i % 2},${i}`), 'test1,a0,3'];
    await writeFile(f, rows.join('\n') + '\n');
    await assert.rejects(
      runCoos7({ features: [f], out: join(dir, 'o'), k: 11, scaler: 'standard', toolVersion: 't' }),
      located(f, { column: 'split' }, /11 training rows.*at least 12/),
    );
    const g = join(dir, 'cyc.csv');
    await writeFile(g, ['label,f0', ...Array.from({ length: 11 }, (_, i) => `A,${i}`)].join('\n') + '\n');
    await assert.rejects(
      runCyclops({ features: [g], out: join(dir, 'o'), k: 11, scaler: 'standard', toolVersion: 't' }),
      located(g, { column: 'label' }, /11 cells/),
    );
    const h = join(dir, 'split.csv');
    await writeFile(h, 'split,label,f0\nvalidation,a,1\n');
    await assert.rejects(
      runCoos7({ features: [h], out: join(dir, 'o'), k: 11, scaler: 'standard', toolVersion: 't' }),
      located(h, { line: 2, column: 'split' }, /unknown split/),
    );
  });
});
