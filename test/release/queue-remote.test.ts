// A distributed build (`build --queue` + `cytoimagenet worker`) whose source files are URLs: the
// build's --cache, --s3-endpoint and fetch retry settings travel with each shard to the worker (a
// worker started with none of them in its environment), and `worker --cache DIR` puts the
// machine's own cache folder in place of the build's. Real redis-server and HTTP server on
// loopback; the worker is the CLI in a process of its own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRelease } from '../../src/release/build-release.js';
import { catalogFingerprint } from '../../src/catalog/fingerprint.js';
import { configureFetch, DEFAULT_FETCH } from '../../src/sources/fetch/http.js';
import { DEFAULT_S3_ENDPOINT, setS3Endpoint } from '../../src/sources/fetch/entry.js';
import { CLI, SHARED_DATA } from '../helpers/data.js';
import { serveFolder, type TestServer } from '../helpers/http-server.js';
import { writeCatalog, writeLabels, type FixtureRow } from './fixture.js';

const QUEUE_ENV = {
  CYTOIMAGENET_QUEUE_LOCK_MS: '2000',
  CYTOIMAGENET_QUEUE_STALL_CHECK_MS: '1000',
  CYTOIMAGENET_QUEUE_SCAN_MS: '300',
  CYTOIMAGENET_QUEUE_MOUNT_BACKOFF_MS: '0',
};

let root = '';
let server: TestServer;
let redis: ChildProcess;
let queue = '';
let inputs: { catalog: string; labels: string };
const children = new Set<ChildProcess>();

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

/** A process with an environment free of the fetch settings (CYTOIMAGENET_CACHE, _FETCH_*, _S3_*). */
function start(args: string[]): { child: ChildProcess; output: () => string } {
  const env: NodeJS.ProcessEnv = { ...process.env, ...QUEUE_ENV };
  for (const k of Object.keys(env)) if (/^CYTOIMAGENET_(CACHE|FETCH|S3)/.test(k)) delete env[k];
  const child = spawn(args[0], args.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

async function until(what: string, ok: () => boolean, seconds = 30): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stopWorker(w: { child: ChildProcess }): Promise<void> {
  if (w.child.exitCode !== null) return;
  const exited = new Promise((r) => w.child.once('exit', r));
  w.child.kill('SIGTERM');
  await exited;
}

function bodies(cache: string): number {
  const d = join(cache, 'blobs');
  return existsSync(d) ? readdirSync(d).reduce((n, s) => n + readdirSync(join(d, s)).length, 0) : 0;
}

const human = (i: number): string =>
  `images/cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00d${i}.tif`;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cytoimagenet-queue-remote-'));
  Object.assign(process.env, QUEUE_ENV);
  server = await serveFolder(SHARED_DATA);
  const port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let said = '';
  redis.stdout?.on('data', (d: Buffer) => (said += d.toString()));
  await until('redis-server to start', () => /Ready to accept connections/.test(said));
  queue = `redis://127.0.0.1:${port}`;
  const rows: FixtureRow[] = [
    {
      idx: 'by-url',
      label: 'actin',
      category: 'cell_visible',
      dir_name: 'shared',
      files: [`${server.url}/${human(0)}`],
    },
    // s3://images/… read through the build's --s3-endpoint (the served folder plays the bucket)
    { idx: 'by-s3', label: 'actin', category: 'cell_visible', dir_name: 'shared', files: [`s3://${human(1)}`] },
    { idx: 'gone', label: 'actin', category: 'cell_visible', dir_name: 'shared', files: [`${server.url}/${human(2)}`] },
  ];
  const catalog = join(root, 'catalog.duckdb');
  await writeCatalog(catalog, rows, root);
  const labels = join(root, 'labels');
  await writeLabels(labels, rows, await catalogFingerprint(catalog), 3);
  inputs = { catalog, labels };
  server.inject('unavailable', Number.POSITIVE_INFINITY, /D03f00d2/);
});

after(async () => {
  for (const c of children) c.kill('SIGKILL');
  redis?.kill('SIGKILL');
  await server.close();
  await rm(root, { recursive: true, force: true });
  configureFetch(DEFAULT_FETCH, true);
  setS3Endpoint(DEFAULT_S3_ENDPOINT);
  delete process.env.CYTOIMAGENET_S3_ENDPOINT;
});

const quiet = { minRelease: 1, progress: false, log: () => undefined };

test("the build's --cache, --s3-endpoint and retry settings reach a queue worker that has none of them", async () => {
  const worker = start([process.execPath, CLI, 'worker', '--queue', queue, '--concurrency', '1']);
  try {
    await until('the worker to start', () => /takes shards/.test(worker.output()));
    const cache = join(root, 'cache-build');
    // the build's retry settings: 2 tries (the default is 5)
    configureFetch({ ...DEFAULT_FETCH, tries: 2, backoffMs: 5 });
    const out = join(root, 'out-1');
    const summary = await buildRelease({ ...inputs, ...quiet, out, queue, cache, s3Endpoint: server.url });
    assert.deepEqual(summary.rejectsByReason, { 'fetch-failed': 1 }, worker.output());
    const rejects = readFileSync(join(out, 'rejects.csv'), 'utf8');
    assert.match(rejects, /D03f00d2\.tif: fetch-failed: HTTP 503 after 2 tries/);
    // the worker's processes wrote the build's cache folder: the two images read
    assert.equal(bodies(cache), 2);
    // and a second build reads them from it
    const sent = server.requests.get(`/${human(0)}`);
    await buildRelease({ ...inputs, ...quiet, out: join(root, 'out-2'), queue, cache, s3Endpoint: server.url });
    assert.equal(server.requests.get(`/${human(0)}`), sent);
  } finally {
    await stopWorker(worker);
    configureFetch(DEFAULT_FETCH, true);
  }
});

test('worker --cache DIR: the machine keeps fetched bytes in its own folder', async () => {
  const mine = join(root, 'cache-worker');
  const worker = start([process.execPath, CLI, 'worker', '--queue', queue, '--concurrency', '1', '--cache', mine]);
  try {
    await until('the worker to start', () => /takes shards/.test(worker.output()));
    configureFetch({ ...DEFAULT_FETCH, backoffMs: 5 });
    const summary = await buildRelease({
      ...inputs,
      ...quiet,
      out: join(root, 'out-3'),
      queue,
      s3Endpoint: server.url,
    });
    assert.deepEqual(summary.rejectsByReason, { 'fetch-failed': 1 }, worker.output());
    assert.equal(bodies(mine), 2);
  } finally {
    await stopWorker(worker);
    configureFetch(DEFAULT_FETCH, true);
  }
});
