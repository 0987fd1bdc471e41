// A build whose catalog names its images by URL (OME-Zarr stores, plate fields and a plain TIFF,
// served on loopback) against the same build from the local files they were written from: the
// release's images and tables must be byte-identical. Then the server misbehaves: a short outage
// mid-build is ridden out by retries; a long one makes fetch-failed rejects; a build killed during
// an outage and resumed after it retries those and ends identical.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { buildRelease } from '../../src/release/build-release.js';
import { WORK_DIR } from '../../src/release/out-folder.js';
import { catalogFingerprint } from '../../src/catalog/fingerprint.js';
import { configureFetch, DEFAULT_FETCH } from '../../src/sources/fetch/http.js';
import { forgetOpenedImages } from '../../src/sources/ome-zarr.js';
import { sharedPath, SHARED_DATA } from '../helpers/data.js';
import { serveFolder, type TestServer } from '../helpers/http-server.js';
import { treeDigest, writeCatalog, writeLabels, type FixtureRow } from './fixture.js';

const CHILD = fileURLToPath(new URL('./build-child.js', import.meta.url));

let root = '';
let server: TestServer;
let local: { catalog: string; labels: string };
let remote: { catalog: string; labels: string };
let reference: Map<string, string>;

/** Rows as local files and as URLs: same idx, same label, same pixels. */
function rowsOf(url: string | null): FixtureRow[] {
  const rows: FixtureRow[] = [];
  const at = (rel: string): string => (url === null ? sharedPath(rel) : `${url}/${rel}`);
  const plate = sharedPath('ome-zarr', 'bbbc022-20585.ome.zarr');
  const meta = JSON.parse(readFileSync(join(plate, '.zattrs'), 'utf8')).plate;
  for (const w of meta.wells) {
    const well = JSON.parse(readFileSync(join(plate, w.path, '.zattrs'), 'utf8')).well;
    for (const im of well.images) {
      const attrs = JSON.parse(readFileSync(join(plate, w.path, im.path, '.zattrs'), 'utf8'));
      const tif = sharedPath('images', 'bbbc022', 'BBBC022_v1_images_20585w1', attrs.source_file);
      rows.push({
        idx: `plate-${w.path.replace('/', '')}-${im.path}`,
        label: 'nucleus',
        category: 'cell_visible',
        dir_name: 'shared',
        files: url === null ? [tif] : [at(`ome-zarr/bbbc022-20585.ome.zarr/${w.path}/${im.path}`)],
      });
    }
  }
  const human = [0, 1, 2].map(
    (i) => `images/cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00d${i}.tif`,
  );
  rows.push({
    idx: 'human',
    label: 'actin',
    category: 'cell_visible',
    dir_name: 'shared',
    files: url === null ? human.map((p) => sharedPath(p)) : [at('ome-zarr/human-D03f00.ome.zarr')],
  });
  const fly = ['D', 'F', 'R'].map((c) => `images/cellprofiler_examples/ExampleFly/images/01_POS002_${c}.TIF`);
  rows.push({
    idx: 'fly',
    label: 'actin',
    category: 'cell_visible',
    dir_name: 'shared',
    files: url === null ? fly.map((p) => sharedPath(p)) : [at('ome-zarr/fly-POS002.ome.zarr')],
  });
  rows.push({ idx: 'human-d0', label: 'actin', category: 'cell_visible', dir_name: 'shared', files: [at(human[0])] });
  return rows;
}

async function makeInputs(dir: string, url: string | null): Promise<{ catalog: string; labels: string }> {
  await mkdir(dir, { recursive: true });
  const catalog = join(dir, 'catalog.duckdb');
  const rows = rowsOf(url);
  await writeCatalog(catalog, rows, dir);
  const labels = join(dir, 'labels');
  await writeLabels(labels, rows, await catalogFingerprint(catalog), 6);
  return { catalog, labels };
}

/**
 * The release's files, byte for byte, except where the catalogs must differ: build.json and the
 * card name the catalog, and the metadata tables carry each row's source_files (paths or URLs)
 * and channels (one name per file here); their other columns are compared value for value.
 */
async function releaseDigest(out: string): Promise<Map<string, string>> {
  const d = await treeDigest(out);
  for (const f of ['build.json', 'README.md', 'metadata.csv', 'metadata.parquet']) d.delete(f);
  const records: string[][] = parse(readFileSync(join(out, 'metadata.csv')));
  const keep = records[0].map((c, i) => (c === 'source_files' || c === 'channels' ? -1 : i)).filter((i) => i >= 0);
  d.set('metadata.csv (other columns)', records.map((r) => JSON.stringify(keep.map((i) => r[i]))).join('\n'));
  return d;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cytoimagenet-remote-build-'));
  server = await serveFolder(SHARED_DATA);
  local = await makeInputs(join(root, 'local'), null);
  remote = await makeInputs(join(root, 'remote'), server.url);
  const out = join(root, 'out-local');
  await buildRelease({ ...local, out, workers: 2, minRelease: 1, progress: false, log: () => undefined });
  reference = await releaseDigest(out);
});

after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
  configureFetch(DEFAULT_FETCH, true);
});

test('a build from URLs is byte-identical to the same build from local files', async () => {
  configureFetch({ ...DEFAULT_FETCH, backoffMs: 20 });
  const out = join(root, 'out-remote');
  const lines: string[] = [];
  const summary = await buildRelease({ ...remote, out, workers: 2, minRelease: 1, log: (l) => lines.push(l) });
  assert.equal(summary.rejects, 0);
  // the progress lines count the bytes fetched
  assert.match(lines.filter((l) => /image sets \(100 %\)/.test(l)).join('\n'), /\d+\.\d MiB fetched/);
  assert.deepEqual(await releaseDigest(out), reference);
  assert.ok(server.totalRequests() > 0);
});

test('--cache: a repeated build reads from the cache and makes no request', async () => {
  configureFetch({ ...DEFAULT_FETCH, backoffMs: 20 });
  const cache = join(root, 'cache');
  await buildRelease({
    ...remote,
    out: join(root, 'out-c1'),
    workers: 2,
    minRelease: 1,
    progress: false,
    log: () => undefined,
    cache,
  });
  const before = server.totalRequests();
  const out = join(root, 'out-c2');
  await buildRelease({ ...remote, out, workers: 2, minRelease: 1, progress: false, log: () => undefined, cache });
  assert.equal(server.totalRequests(), before);
  assert.deepEqual(await releaseDigest(out), reference);
});

test('a server that stops mid-build and comes back within the retries: the same release', async () => {
  configureFetch({ ...DEFAULT_FETCH, backoffMs: 300 });
  forgetOpenedImages();
  await server.stop();
  const out = join(root, 'out-outage');
  const building = buildRelease({ ...remote, out, workers: 2, minRelease: 1, progress: false, log: () => undefined });
  await new Promise((r) => setTimeout(r, 200));
  await server.start();
  const summary = await building;
  assert.equal(summary.rejects, 0);
  assert.deepEqual(await releaseDigest(out), reference);
});

test('a server that stays unavailable: fetch-failed rejects with the reason, never a hang', async () => {
  configureFetch({ ...DEFAULT_FETCH, backoffMs: 5 });
  server.inject('unavailable', Number.POSITIVE_INFINITY, /fly-POS002/);
  try {
    const out = join(root, 'out-503');
    const summary = await buildRelease({
      ...remote,
      out,
      workers: 2,
      minRelease: 1,
      progress: false,
      log: () => undefined,
    });
    assert.deepEqual(summary.rejectsByReason, { 'fetch-failed': 1 });
    const rejects = readFileSync(join(out, 'rejects.csv'), 'utf8');
    assert.match(rejects, /fetch-failed/);
    assert.match(rejects, /fly-POS002\.ome\.zarr[^,]*: fetch-failed: HTTP 503 after 5 tries/);
  } finally {
    server.clearFaults();
  }
});

test('a build killed while the server is down resumes when it is back, retrying what failed: the same release', async () => {
  const out = join(root, 'out-resume');
  const run = (crashAt?: string): Promise<number | null> =>
    new Promise((resolve) => {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        CYTOIMAGENET_FETCH_BACKOFF_MS: '5',
        CYTOIMAGENET_BUILD_CHILD: JSON.stringify({ ...remote, out, workers: 2, minRelease: 1 }),
      };
      if (crashAt) env.CYTOIMAGENET_BUILD_CRASH_AT = crashAt;
      else delete env.CYTOIMAGENET_BUILD_CRASH_AT;
      const child = spawn(process.execPath, [CHILD], { env, stdio: 'ignore' });
      child.on('exit', (code) => resolve(code));
    });
  await server.stop();
  try {
    // killed after 4 image sets are journalled (as fetch-failed rejects: nothing answers)
    await run('job:4');
  } finally {
    await server.start();
  }
  const journal = readFileSync(join(out, WORK_DIR, 'journal.jsonl'), 'utf8');
  assert.match(journal, /fetch-failed/);
  assert.equal(await run(), 0);
  assert.deepEqual(await releaseDigest(out), reference);
});
