// Every input form gives the key columns `evaluate` joins on (docs/features.md), one row per image
// set in a stable order, with the features of the right files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { runFeatures, type InputForm } from '../../src/features/run-features.js';
import type { Method } from '../../src/features/preprocess.js';
import { UserError, messageOf } from '../../src/util/errors.js';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { constantImage, parseCsv, tinyModel } from './fixtures.js';

async function features(
  dir: string,
  input: InputForm,
  method: Method = 'merge-raw',
  extra: { skipUnreadable?: boolean } = {},
): Promise<{ header: string[]; rows: string[][]; skipped: string[] }> {
  const model = join(dir, 'tiny.onnx');
  await writeFile(model, tinyModel('NCHW'));
  const out = join(dir, 'out', 'features.csv');
  const skipped: string[] = [];
  await runFeatures({ model, method, out, input, progress: false, log: (l) => skipped.push(l), ...extra });
  return { ...parseCsv(await readFile(out, 'utf8')), skipped };
}

function assertClose(got: number[], want: number[]): void {
  assert.equal(got.length, want.length);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-3, `${i}: ${g} vs ${want[i]}`));
}

/** f0 of the tiny model on constant images = the gray value (raw). */
const f0 = (row: string[], nKeys: number): number => Number(row[nKeys]);

test('--release: metadata.csv rows keyed by label, dset, path, filename', async () => {
  await withTempDir(async (dir) => {
    const rel = join(dir, 'release');
    await mkdir(join(rel, 'nucleus'), { recursive: true });
    await mkdir(join(rel, 'human'), { recursive: true });
    await constantImage(join(rel, 'nucleus', 'nucleus-01.png'), 10);
    await constantImage(join(rel, 'nucleus', 'nucleus-10.png'), 20);
    await constantImage(join(rel, 'human', 'human-1.png'), 30);
    await writeFile(
      join(rel, 'metadata.csv'),
      'label,category,dset,path,filename,source_idx\nnucleus,cell_visible,train,nucleus,nucleus-01.png,1\nnucleus,cell_visible,val,nucleus,nucleus-10.png,2\nhuman,organism,train,human,human-1.png,3\n',
    );
    const t = await features(dir, { release: rel });
    assert.deepEqual(t.header, ['label', 'dset', 'path', 'filename', 'f0', 'f1']);
    assert.deepEqual(
      t.rows.map((r) => r.slice(0, 4)),
      [
        ['nucleus', 'train', 'nucleus', 'nucleus-01.png'],
        ['nucleus', 'val', 'nucleus', 'nucleus-10.png'],
        ['human', 'train', 'human', 'human-1.png'],
      ],
    );
    assertClose(
      t.rows.map((r) => f0(r, 4)),
      [10, 20, 30],
    );
  });
});

test('--coos7 and --cyclops: split/label and label keys from the folder layouts, 2 channels each', async () => {
  await withTempDir(async (dir) => {
    const coos = join(dir, 'CURATED-COOS7');
    for (const [split, label, id, p, n] of [
      ['train', 'NUCLEUS', '1', 10, 30],
      ['test1', 'GOLGI', '7', 50, 70],
    ] as const) {
      await mkdir(join(coos, split, label), { recursive: true });
      await constantImage(join(coos, split, label, `${id}_protein.tif`), p);
      await constantImage(join(coos, split, label, `${id}_nucleus.tif`), n);
    }
    const c = await features(dir, { coos7: coos }, 'concat-raw');
    assert.deepEqual(c.header, ['split', 'label', 'f0', 'f1', 'f2', 'f3']);
    assert.deepEqual(
      c.rows.map((r) => r.slice(0, 2)),
      [
        ['train', 'NUCLEUS'],
        ['test1', 'GOLGI'],
      ],
    );
    // concat: protein then nucleus
    assertClose(
      c.rows.flatMap((r) => [Number(r[2]), Number(r[4])]),
      [10, 30, 50, 70],
    );

    const cyc = join(dir, 'cyclops');
    for (const [label, v] of [
      ['ACTIN', 40],
      ['DEAD', 0],
      ['SPINDLEPOLE', 60],
    ] as const) {
      await mkdir(join(cyc, label), { recursive: true });
      await constantImage(join(cyc, label, `c1_gfp.tif`), v);
      await constantImage(join(cyc, label, `c1_rfp.tif`), v + 20);
    }
    const y = await features(dir, { cyclops: cyc }, 'merge-raw');
    assert.deepEqual(y.header, ['label', 'f0', 'f1']);
    assert.deepEqual(
      y.rows.map((r) => r[0]),
      ['ACTIN', 'SPINDLE'],
    );
    assertClose(
      y.rows.map((r) => f0(r, 1)),
      [50, 70],
    );
  });
});

test('--bbbc021: the real BBBC021 tables, keyed by Image_FileName_DAPI, DAPI/Tubulin/Actin from <plate>/<file>', async () => {
  await withTempDir(async (dir) => {
    const meta = join(dir, 'meta');
    await mkdir(meta);
    const image = (await readFile(sharedPath('metadata/bbbc021/BBBC021_v1_image.csv'), 'utf8')).trim().split('\n');
    const moa = await readFile(sharedPath('metadata/bbbc021/BBBC021_v1_moa.csv'), 'utf8');
    const labelled = new Set(
      moa
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',').map((f) => f.replace(/"/g, '')))
        .map(([c, x]) => `${c}@${Number(x)}`),
    );
    // the first two image sets of a treatment that has an MOA
    const rows = image
      .slice(1)
      .map((l) => l.split(',').map((f) => f.replace(/"/g, '')))
      .filter((r) => labelled.has(`${r[11]}@${Number(r[12])}`))
      .slice(0, 2);
    assert.equal(rows.length, 2);
    await writeFile(join(meta, 'BBBC021_v1_image.csv'), [image[0], ...rows.map((r) => r.join(','))].join('\n') + '\n');
    await writeFile(join(meta, 'BBBC021_v1_moa.csv'), moa);
    const images = join(dir, 'images');
    let v = 10;
    for (const r of rows) {
      await mkdir(join(images, r[8]), { recursive: true });
      for (const col of [2, 4, 6]) await constantImage(join(images, r[8], r[col]), (v += 10));
    }
    const t = await features(dir, { bbbc021: meta, images }, 'concat-raw');
    assert.equal(t.header[0], 'Image_FileName_DAPI');
    assert.equal(t.header.length, 1 + 6);
    assert.deepEqual(
      t.rows.map((r) => r[0]),
      rows.map((r) => r[2]),
    );
    assertClose(
      t.rows.flatMap((r) => [1, 3, 5].map((i) => Number(r[i]))),
      [20, 30, 40, 50, 60, 70],
    );
  });
});

test('an unreadable file stops the run naming it, or is skipped and reported with --skip-unreadable', async () => {
  await withTempDir(async (dir) => {
    await constantImage(join(dir, 'ok.png'), 10);
    await writeFile(join(dir, 'broken.png'), 'not a png');
    await writeFile(join(dir, 'list.txt'), 'ok.png\nbroken.png\nok.png|ok.png\n');
    await assert.rejects(
      features(dir, { files: join(dir, 'list.txt') }),
      (e: unknown) => e instanceof UserError && /broken\.png/.test(messageOf(e)),
    );
    const t = await features(dir, { files: join(dir, 'list.txt') }, 'merge-raw', { skipUnreadable: true });
    assert.deepEqual(
      t.rows.map((r) => r[0]),
      ['ok.png', 'ok.png|ok.png'],
    );
    assert.equal(t.skipped.length, 1);
    assert.match(t.skipped[0], /broken\.png/);
  });
});
