import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withTempDir } from '../helpers/data.js';
import { isUserError } from '../../src/util/errors.js';
import { parseLabelsSubset, readReleaseSplit } from '../../src/train/release.js';
import { epochOrder, stepsPerEpoch } from '../../src/train/train.js';

const META = [
  'label,category,dset,path,filename,source_idx',
  'nucleus,cell_visible,train,nucleus,nucleus-1.png,1',
  'nucleus,cell_visible,train,nucleus,nucleus-2.png,2',
  'nucleus,cell_visible,val,nucleus,nucleus-3.png,3',
  'actin,cell_visible,train,actin,actin-1.png,4',
  'actin,cell_visible,val,actin,actin-2.png,5',
  '"dmso, 0.1%",compound,train,dmso-0-1,dmso-0-1-1.png,6',
].join('\n');

test("the split is the release's dset column; classes are sorted like Keras's class_indices", async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'metadata.csv'), META);
    const s = readReleaseSplit(dir);
    assert.deepEqual(s.classes, ['actin', 'dmso, 0.1%', 'nucleus']);
    assert.deepEqual(
      s.train.map((t) => t.key),
      ['nucleus/nucleus-1.png', 'nucleus/nucleus-2.png', 'actin/actin-1.png', 'dmso-0-1/dmso-0-1-1.png'],
    );
    assert.deepEqual(
      s.val.map((t) => [t.label, t.classIndex]),
      [
        ['nucleus', 2],
        ['actin', 0],
      ],
    );
    assert.equal(s.train[0].file, join(dir, 'nucleus', 'nucleus-1.png'));
  });
});

test('--labels-subset keeps only the named labels (a comma list or a file), and refuses unknown ones', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'metadata.csv'), META);
    const s = readReleaseSplit(dir, parseLabelsSubset('nucleus, actin'));
    assert.deepEqual(s.classes, ['actin', 'nucleus']);
    assert.equal(s.train.length + s.val.length, 5);
    await writeFile(join(dir, 'mini.txt'), 'actin\n\nnucleus\n');
    assert.deepEqual(parseLabelsSubset(join(dir, 'mini.txt')), ['actin', 'nucleus']);
    await writeFile(join(dir, 'mini.csv'), 'label,count\nactin,2\n"dmso, 0.1%",1\n');
    assert.deepEqual(parseLabelsSubset(join(dir, 'mini.csv')), ['actin', 'dmso, 0.1%']);
    assert.throws(
      () => readReleaseSplit(dir, ['actin', 'mitochondria']),
      (e) => isUserError(e) && /mitochondria/.test(e.message),
    );
    assert.throws(
      () => readReleaseSplit(dir, ['actin']),
      (e) => isUserError(e) && /at least 2 labels/.test(e.message),
    );
  });
});

test('a bad dset value or a missing column is reported with its line and column', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'metadata.csv'), META.replace('actin,cell_visible,val', 'actin,cell_visible,test'));
    assert.throws(
      () => readReleaseSplit(dir),
      (e) => isUserError(e) && e.location.line === 6 && e.location.column === 'dset' && /'test'/.test(e.message),
    );
    await writeFile(join(dir, 'metadata.csv'), 'label,path,filename\na,a,a.png\n');
    assert.throws(
      () => readReleaseSplit(dir),
      (e) => isUserError(e) && e.location.column === 'dset',
    );
    await writeFile(join(dir, 'metadata.csv'), 'label,dset,path,filename\na,train,../../etc,passwd\nb,train,b,b.png\n');
    assert.throws(
      () => readReleaseSplit(dir),
      (e) => isUserError(e) && /leaves the release/.test(e.message),
    );
  });
});

test('each epoch is a seeded permutation of the training images, different per epoch, n // batch steps', () => {
  const items = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, file: `f${i}`, label: 'x', classIndex: 0 }));
  const e0 = epochOrder(items, 7, 0).map((t) => t.key);
  assert.deepEqual(
    epochOrder(items, 7, 0).map((t) => t.key),
    e0,
  );
  assert.notDeepEqual(
    epochOrder(items, 7, 1).map((t) => t.key),
    e0,
  );
  assert.notDeepEqual(
    epochOrder(items, 8, 0).map((t) => t.key),
    e0,
  );
  assert.deepEqual([...e0].sort(), items.map((t) => t.key).sort());
  assert.equal(stepsPerEpoch(890_737 - 89_074, 64), 12_525);
  assert.equal(stepsPerEpoch(10, 64), 1);
});
