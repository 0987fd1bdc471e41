// Scratch folders of killed runs are removed by the next run; a finished or interrupted run
// leaves none of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, withTempDir } from '../helpers/data.js';
import { writeConfig } from './catalog-helpers.js';

/** The pid of a process that has ended (what a kill -9 leaves in a scratch name). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('ingest removes the temp folders killed ingests left, and leaves none of its own', async () => {
  await withTempDir(async (dir) => {
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    const killed = join(tmp, `cytoimagenet-ingest-${deadPid()}-Ab12Cd`);
    await mkdir(killed);
    await writeFile(join(killed, 'table.csv'), 'x\n');
    const old = join(tmp, 'cytoimagenet-ingest-Qw34Er'); // named before pids were, empty, 2 h old
    await mkdir(old);
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(old, twoHoursAgo, twoHoursAgo);
    const mine = join(tmp, 'notes'); // not ours: untouched
    await mkdir(mine);
    await writeFile(join(dir, 'good.csv'), 'database,name,dir_name,idx,organism\nDB,Good,good,g-1,human\n');
    const config = await writeConfig(dir, 'good.json', { adapter: 'standard', table: 'good.csv' });
    const r = spawnSync(process.execPath, [CLI, 'ingest', config, '--catalog', join(dir, 'catalog.duckdb')], {
      env: { ...process.env, TMPDIR: tmp },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await readdir(tmp), ['notes']);
  });
});
