// Spill files of huge image sets (src/imaging/spill-rows.ts) are unlinked once open, but a worker killed while
// libvips is still writing one leaves it behind; the next spill into that folder removes what dead processes left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spillSet } from '../../src/imaging/spill-rows.js';
import { sharedPath } from '../helpers/data.js';

test("a spill into a folder removes spill files of processes that are gone, and keeps a live process's", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-spill-test-'));
  try {
    const dead = 'cytoimagenet-spill-999999999-0.v';
    const live = `cytoimagenet-spill-${process.pid}-999.v`;
    const other = 'notes.txt';
    for (const f of [dead, live, other]) await writeFile(join(dir, f), 'x');
    const png = sharedPath(
      'images',
      'malaria_nih_cells',
      'test_images',
      'infected',
      'C33P1thinF_IMG_20150619_114756a_cell_179.png',
    );
    const set = await spillSet([png], { stripBytes: 4096, dir });
    assert.ok(set !== null, 'a PNG streams to a spill file');
    set.close();
    assert.deepEqual((await readdir(dir)).sort(), [live, other].sort());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
