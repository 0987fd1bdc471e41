import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { listCoos7, listCyclops } from '../../src/evaluate/index.js';

async function touch(path: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, '');
}

test('CyCLOPS adapter pairs _gfp/_rfp files of the real WT2 crops, one cell per id', async () => {
  const dir = sharedPath('images', 'yeast_chong_wt2_crops', 'yeast_model', 'toy_dataset', 'images');
  const cells = await listCyclops(dir);
  assert.deepEqual([...new Set(cells.map((c) => c.label))], ['AAC1', 'AAP1']);
  const first = cells[0];
  assert.equal(first.id, 'AAC1_1_rfp_10');
  assert.equal(first.files[0], join(dir, 'AAC1', 'AAC1_1_rfp_10_gfp.tif'));
  assert.equal(first.files[1], join(dir, 'AAC1', 'AAC1_1_rfp_10_rfp.tif'));
  assert.ok(cells.every((c) => c.files[0].endsWith('_gfp.tif') && c.files[1].endsWith('_rfp.tif')));
});

test('CyCLOPS adapter drops DEAD and GHOST and merges SPINDLEPOLE into SPINDLE', async () => {
  await withTempDir(async (dir) => {
    for (const [label, id] of [
      ['DEAD', 'd1'],
      ['GHOST', 'g1'],
      ['SPINDLE', 's1'],
      ['SPINDLEPOLE', 'p1'],
      ['ACTIN', 'a2'],
      ['ACTIN', 'a10'],
    ]) {
      await touch(join(dir, label, `${id}_gfp.tif`));
      await touch(join(dir, label, `${id}_rfp.tif`));
    }
    const cells = await listCyclops(dir);
    assert.deepEqual(
      cells.map((c) => `${c.label}/${c.id}`),
      ['ACTIN/a2', 'ACTIN/a10', 'SPINDLE/s1', 'SPINDLE/p1'],
    );
    await touch(join(dir, 'ACTIN', 'lonely_gfp.tif'));
    await assert.rejects(listCyclops(dir), (e: Error) => /lonely.*rfp/.test(e.message));
  });
});

test('COOS-7 adapter: splits in order, protein then nucleus, masks ignored, missing channel named', async () => {
  await withTempDir(async (dir) => {
    for (const [split, label, id] of [
      ['test2', 'golgi', '7'],
      ['train', 'er', '10'],
      ['train', 'er', '9'],
      ['train', 'golgi', '1'],
    ]) {
      for (const ch of ['protein', 'nucleus', 'mask']) await touch(join(dir, split, label, `${id}_${ch}.tif`));
    }
    const cells = await listCoos7(dir);
    assert.deepEqual(
      cells.map((c) => `${c.split}/${c.label}/${c.id}`),
      ['train/er/9', 'train/er/10', 'train/golgi/1', 'test2/golgi/7'],
    );
    assert.equal(cells[0].files[0], join(dir, 'train', 'er', '9_protein.tif'));
    assert.equal(cells[0].files[1], join(dir, 'train', 'er', '9_nucleus.tif'));
    await touch(join(dir, 'test1', 'er', '3_protein.tif'));
    await assert.rejects(
      listCoos7(dir),
      (e: Error & { location?: { file?: string } }) =>
        /no nucleus/.test(e.message) && e.location!.file!.endsWith('3_protein.tif'),
    );
    await assert.rejects(listCoos7(join(dir, 'train')), /no COOS-7 split folders/);
  });
});
