// onnxruntime-node's telemetry writes files outside the output folder (an empty mat-debug-<pid>.log
// in the temp folder, a device id and onnxruntime.db under the user's cache folder); it is turned
// off (src/util/onnx-runtime-env.ts), so an evaluate run leaves nothing there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { CLI, withTempDir } from '../helpers/data.js';
import { clusters, csv, featureHeader } from './planted.js';

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    out.push(relative(dir, join(e.parentPath, e.name)));
  return out.sort();
}

test('evaluate leaves no onnxruntime files in the temp folder or the user cache folder', async () => {
  await withTempDir(async (dir) => {
    const labels = ['er', 'golgi'].flatMap((l) => Array(12).fill(l) as string[]);
    const table = join(dir, 'cyclops.csv');
    await writeFile(
      table,
      csv(
        ['label', ...featureHeader(3)],
        clusters(labels, 3, 1, 5).map((v, i) => [labels[i], ...v]),
      ),
    );
    const tmp = join(dir, 'tmp');
    const home = join(dir, 'home');
    await mkdir(tmp);
    await mkdir(home);
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, HOME: home, XDG_CACHE_HOME: join(home, '.cache') };
    for (const k of ['ORT_DISABLE_TELEMETRY', 'CI', 'GITHUB_ACTIONS', 'TF_BUILD', 'ORT_RUNNING_UNIT_TESTS'])
      delete env[k];
    const r = spawnSync(
      process.execPath,
      [CLI, 'evaluate', 'cyclops', '--features', table, '--out', join(dir, 'out'), '--k', '3'],
      { env, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await tree(tmp), []);
    assert.deepEqual(await tree(home), []);
  });
});
