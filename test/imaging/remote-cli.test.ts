// `cytoimagenet standardize` and the features stage's list input take source entries like the
// build does: an OME-Zarr image over HTTP (served on loopback) stands for its channels.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, SHARED_DATA, sharedPath, withTempDir } from '../helpers/data.js';
import { serveFolder, type TestServer } from '../helpers/http-server.js';
import { filesInput } from '../../src/features/inputs.js';

const run = promisify(execFile);
let server: TestServer;

before(async () => {
  server = await serveFolder(SHARED_DATA);
});
after(async () => {
  await server.close();
});

const HUMAN = [0, 1, 2].map((i) =>
  sharedPath(`images/cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00d${i}.tif`),
);

test('standardize: an OME-Zarr image URL gives the PNG of the TIFF files it came from', async () => {
  await withTempDir(async (dir) => {
    const a = join(dir, 'tiffs.png');
    const b = join(dir, 'zarr.png');
    await run(process.execPath, [CLI, 'standardize', ...HUMAN, '--out', a]);
    const r = await run(process.execPath, [
      CLI,
      'standardize',
      `${server.url}/ome-zarr/human-D03f00.ome.zarr`,
      '--out',
      b,
    ]);
    assert.match(r.stdout, /512×512, 8-bit, 3 channels/);
    assert.ok(readFileSync(a).equals(readFileSync(b)));
  });
});

test('standardize: an unreachable URL exits non-zero with the fetch-failed reason', async () => {
  await withTempDir(async (dir) => {
    server.inject('unavailable', Number.POSITIVE_INFINITY, /d0\.tif$/);
    try {
      await assert.rejects(
        run(
          process.execPath,
          [
            CLI,
            'standardize',
            `${server.url}/images/cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00d0.tif`,
            '--out',
            join(dir, 'x.png'),
          ],
          {
            env: { ...process.env, CYTOIMAGENET_FETCH_BACKOFF_MS: '5' },
          },
        ),
        (e: { code: number; stderr: string }) => {
          assert.notEqual(e.code, 0);
          assert.match(e.stderr, /fetch-failed.*HTTP 503 after 5 tries/);
          return true;
        },
      );
    } finally {
      server.clearFaults();
    }
  });
});

test('features list input: URLs stay URLs, an OME-Zarr entry becomes its channels', async () => {
  await withTempDir(async (dir) => {
    const list = join(dir, 'list.txt');
    const url = `${server.url}/ome-zarr/fly-POS002.ome.zarr`;
    await writeFile(list, `${url}\nlocal.tif|${url}#c=1\n`);
    const input = await filesInput(list);
    const jobs = [];
    for await (const j of input.sets) jobs.push(j);
    assert.deepEqual(jobs[0].files, [`${url}#c=0`, `${url}#c=1`, `${url}#c=2`]);
    assert.deepEqual(jobs[1].files, [join(dir, 'local.tif'), `${url}#c=1`]);
  });
});
