import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchLoader, ThreadPoolLoader } from '../../src/train/loader-pool.js';
import { loadBatch, rotationAngle } from '../../src/train/pipeline.js';
import type { TrainItem } from '../../src/train/release.js';
import { isUserError } from '../../src/util/errors.js';
import { sharedPath } from '../helpers/data.js';

const FILES = [
  'images/cellprofiler_examples/ExampleColocalization/images/0_1_N_G.png',
  'images/malaria_nih_cells/test_images/infected/C37BP2_thinF_IMG_20150620_132847a_cell_76.png',
  'images/dsb2018_bbbc038/stage1_train/003cee89357d9fe13516167fd67b609a164651b21934585648c740d2c3d86dc1/images/003cee89357d9fe13516167fd67b609a164651b21934585648c740d2c3d86dc1.png',
];

function items(): TrainItem[] {
  return Array.from({ length: 7 }, (_, i) => ({
    key: `k${i}`,
    file: sharedPath(FILES[i % FILES.length]),
    label: `l${i % 3}`,
    classIndex: i % 3,
  }));
}

test('the thread-pool loader gives the same bytes as the in-thread loader, for 1 and 3 threads, with and without rotation', async () => {
  const batch = items();
  const angles = batch.map((it) => rotationAngle(5, 2, it.key));
  const refRot = await loadBatch(batch, { size: 40, angles });
  const refVal = await loadBatch(batch, { size: 40 });
  for (const threads of [1, 3]) {
    const pool = new ThreadPoolLoader(threads);
    try {
      const rot = await pool.load(batch, { size: 40, angles });
      const val = await pool.load(batch, { size: 40 });
      assert.deepEqual(Buffer.from(rot.x.buffer), Buffer.from(refRot.x.buffer), `rotated batch, ${threads} threads`);
      assert.deepEqual(Buffer.from(val.x.buffer), Buffer.from(refVal.x.buffer), `plain batch, ${threads} threads`);
      assert.deepEqual([...rot.labels], [...refRot.labels]);
      assert.equal(rot.n, batch.length);
    } finally {
      await pool.close();
    }
  }
});

test('an unreadable image in a pooled batch is a user error naming the file, and the pool keeps working', async () => {
  const pool = batchLoader(2);
  try {
    const bad = [...items().slice(0, 2), { key: 'bad', file: sharedPath('SOURCES.md'), label: 'x', classIndex: 0 }];
    await assert.rejects(pool.load(bad, { size: 16 }), (e: unknown) => {
      assert.ok(isUserError(e), String(e));
      assert.match((e as Error & { location: { file?: string } }).location.file ?? '', /SOURCES\.md$/);
      return true;
    });
    const ok = await pool.load(items().slice(0, 2), { size: 16 });
    assert.equal(ok.x.length, 2 * 16 * 16 * 3);
  } finally {
    await pool.close();
  }
});
