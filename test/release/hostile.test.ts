// Hostile inputs for the build: special files listed as images, a job that never ends, options
// that can only give an empty release. Each must end in a reject with its reason or a refusal
// before any pixel is read, never a hang or a silent empty release.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import sharp from 'sharp';
import { buildRelease } from '../../src/release/build-release.js';
import { catalogFingerprint } from '../../src/catalog/fingerprint.js';
import { UserError } from '../../src/util/errors.js';
import { treeDigest, writeCatalog, writeLabels, type FixtureRow } from './fixture.js';

let root: string;
let catalog: string;
let labels: string;
let server: Server;
const rows: FixtureRow[] = [];
const quiet = { progress: false, log: (): void => undefined };

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cytoimagenet-hostile-'));
  const images = join(root, 'images');
  await mkdir(images);
  for (let i = 0; i < 4; i++) {
    const d = new Uint8Array(90 * 80).map((_, j) => 20 + ((j * 7919 + i * 104729) % 200));
    await sharp(d, { raw: { width: 90, height: 80, channels: 1 } })
      .png()
      .toFile(join(images, `good${i}.png`));
    rows.push({ idx: `synth-${i}`, label: 'good', category: 'compound', dir_name: 'synth', files: [`good${i}.png`] });
  }
  execFileSync('mkfifo', [join(images, 'pipe.png')]);
  server = createServer();
  await new Promise<void>((r) => server.listen(join(images, 'socket.png'), r));
  rows.push({ idx: 'synth-pipe', label: 'good', category: 'compound', dir_name: 'synth', files: ['pipe.png'] });
  rows.push({ idx: 'synth-socket', label: 'good', category: 'compound', dir_name: 'synth', files: ['socket.png'] });
  rows.push({ idx: 'shared-dev', label: 'good', category: 'compound', dir_name: 'shared', files: ['/dev/zero'] });
  catalog = join(root, 'catalog.duckdb');
  await writeCatalog(catalog, rows, images);
  labels = join(root, 'labels');
  await writeLabels(labels, rows, await catalogFingerprint(catalog), 5);
});

after(async () => {
  server.close();
  await rm(root, { recursive: true, force: true });
});

type Row = Record<string, string>;

test('a named pipe, a socket and a device listed as images are rejected as not-a-regular-file; the build does not hang', async () => {
  const out = join(root, 'release-special');
  const s = await buildRelease({ catalog, labels, out, workers: 2, minRelease: 1, ...quiet });
  const rejects = parse(await readFile(join(out, 'rejects.csv')), { columns: true }) as Row[];
  const byIdx = new Map(rejects.map((r) => [r.idx, r.reason]));
  assert.equal(byIdx.get('synth-pipe'), 'not-a-regular-file');
  assert.equal(byIdx.get('synth-socket'), 'not-a-regular-file');
  assert.equal(byIdx.get('shared-dev'), 'not-a-regular-file');
  assert.equal(s.images >= 4, true, 'the regular images are released');
});

// 6 s, not less: on a loaded 2-core machine a healthy job (worker start-up included) has taken over 2 s.
test('a job past --job-timeout is killed, retried once, then rejected with reason timeout; the build completes', async () => {
  const out = join(root, 'release-timeout');
  process.env.CYTOIMAGENET_BUILD_WORKER_HANG_ON = 'synth-2';
  try {
    const s = await buildRelease({ catalog, labels, out, workers: 2, minRelease: 1, jobTimeout: 6, ...quiet });
    assert.equal(s.rejectsByReason.timeout, 1);
  } finally {
    delete process.env.CYTOIMAGENET_BUILD_WORKER_HANG_ON;
  }
  const rejects = parse(await readFile(join(out, 'rejects.csv')), { columns: true }) as Row[];
  const r = rejects.find((x) => x.idx === 'synth-2');
  assert.equal(r?.reason, 'timeout');
  assert.match(r?.detail ?? '', /--job-timeout/);
  const meta = parse(await readFile(join(out, 'metadata.csv')), { columns: true }) as Row[];
  assert.deepEqual([...new Set(meta.map((m) => m.idx))].sort(), ['synth-0', 'synth-1', 'synth-3']);
});

test('--job-timeout must be a positive number of seconds', async () => {
  await assert.rejects(
    buildRelease({ catalog, labels, out: join(root, 'x'), jobTimeout: 0, ...quiet }),
    /--job-timeout/,
  );
});

test('a cap below --min-release is refused before any pixel is read, naming the option', async () => {
  const out = join(root, 'release-cap');
  await assert.rejects(
    buildRelease({ catalog, labels, out, workers: 1, minRelease: 6, ...quiet }),
    (e: unknown) =>
      e instanceof UserError && /--min-release/.test(e.message) && /cap/.test(e.message) && /\b5\b/.test(e.message),
  );
  assert.ok(!existsSync(out), 'nothing was written');
});

test('labels of long non-ASCII text build into folders that fit the file system, with no half-placed folder', async () => {
  const longRows: FixtureRow[] = ['é'.repeat(150), '細'.repeat(90), '🧫'.repeat(70)].flatMap((label, k) =>
    [0, 1].map((i) => ({
      idx: `long-${k}-${i}`,
      label,
      category: 'compound',
      dir_name: 'synth',
      files: [`good${(2 * k + i) % 4}.png`],
    })),
  );
  const dir = join(root, 'long');
  await mkdir(dir);
  const cat = join(dir, 'catalog.duckdb');
  await writeCatalog(cat, longRows, join(root, 'images'));
  const lab = join(dir, 'labels');
  await writeLabels(lab, longRows, await catalogFingerprint(cat), 5);
  const out = join(dir, 'release');
  const s = await buildRelease({ catalog: cat, labels: lab, out, workers: 1, minRelease: 1, ...quiet });
  assert.equal(s.labels, 3);
  const folders = (await readdir(out, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  assert.equal(folders.length, 3);
  for (const f of folders) {
    assert.ok(Buffer.byteLength(f) <= 255);
    assert.equal((await readdir(join(out, f))).length, 2, `${f} holds both images`);
  }
  const meta = parse(await readFile(join(out, 'metadata.csv')), { columns: true }) as Row[];
  assert.deepEqual(
    [...new Set(meta.map((m) => m.label))].sort(),
    longRows
      .map((r) => r.label)
      .filter((_, i) => i % 2 === 0)
      .sort(),
  );
});

test('large image sets are decoded one at a time across the workers, small ones alongside, and read in bands; the release is the same as with one worker decoding them whole', async () => {
  const dir = join(root, 'large');
  await mkdir(join(dir, 'images'), { recursive: true });
  const largeRows: FixtureRow[] = [];
  for (let i = 0; i < 6; i++) {
    // 1200×1000 = 1.2 M pixels: "large" under the threshold this test sets (the default is 40 M).
    const w = i % 2 === 0 ? 1200 : 300;
    const h = i % 2 === 0 ? 1000 : 250;
    const d = new Uint8Array(w * h).map((_, j) => 20 + (((j % w) * 7 + Math.floor(j / w) * 13 + i * 31) % 200));
    await sharp(d, { raw: { width: w, height: h, channels: 1 } })
      .png()
      .toFile(join(dir, 'images', `img${i}.png`));
    largeRows.push({ idx: `big-${i}`, label: 'big', category: 'compound', dir_name: 'synth', files: [`img${i}.png`] });
  }
  const cat = join(dir, 'catalog.duckdb');
  await writeCatalog(cat, largeRows, join(dir, 'images'));
  const lab = join(dir, 'labels');
  await writeLabels(lab, largeRows, await catalogFingerprint(cat), 20);
  const traceFile = join(dir, 'trace.txt');
  process.env.CYTOIMAGENET_BUILD_LARGE_PIXELS = '1000000';
  process.env.CYTOIMAGENET_BUILD_LARGE_TRACE = traceFile;
  // and the large sets read in bands from spill files (src/imaging/spill-rows.ts), as huge ones are
  process.env.CYTOIMAGENET_BUILD_STRIP_PIXELS = '1000000';
  try {
    await buildRelease({ catalog: cat, labels: lab, out: join(dir, 'two'), workers: 3, minRelease: 1, ...quiet });
  } finally {
    delete process.env.CYTOIMAGENET_BUILD_LARGE_PIXELS;
    delete process.env.CYTOIMAGENET_BUILD_LARGE_TRACE;
    delete process.env.CYTOIMAGENET_BUILD_STRIP_PIXELS;
  }
  const events = (await readFile(traceFile, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
  assert.equal(events.length, 6, 'three large sets, a start and an end each');
  let open = 0;
  for (const [, what] of events) {
    open += what === 'start' ? 1 : -1;
    assert.ok(open <= 1, 'two large sets were held at once');
  }
  await buildRelease({ catalog: cat, labels: lab, out: join(dir, 'one'), workers: 1, minRelease: 1, ...quiet });
  const a = await treeDigest(join(dir, 'two'));
  const b = await treeDigest(join(dir, 'one'));
  for (const [k, v] of b) if (k.endsWith('.png') || k === 'metadata.csv') assert.equal(a.get(k), v, k);
});

test('a worker whose memory passes the retire limit is replaced once its jobs are done; the release is the same', async () => {
  const dir = join(root, 'retire');
  await mkdir(join(dir, 'images'), { recursive: true });
  const rows: FixtureRow[] = [];
  for (let i = 0; i < 8; i++) {
    const d = new Uint8Array(200 * 160).map((_, j) => 30 + ((j * 11 + i * 17) % 190));
    await sharp(d, { raw: { width: 200, height: 160, channels: 1 } })
      .png()
      .toFile(join(dir, 'images', `img${i}.png`));
    rows.push({ idx: `r-${i}`, label: 'r', category: 'compound', dir_name: 'synth', files: [`img${i}.png`] });
  }
  const cat = join(dir, 'catalog.duckdb');
  await writeCatalog(cat, rows, join(dir, 'images'));
  const lab = join(dir, 'labels');
  await writeLabels(lab, rows, await catalogFingerprint(cat), 20);
  const pidsOf = async (out: string, retireMb?: string): Promise<number> => {
    const traceFile = join(dir, `${out}.trace`);
    process.env.CYTOIMAGENET_BUILD_JOB_TRACE = traceFile;
    if (retireMb) process.env.CYTOIMAGENET_BUILD_WORKER_RETIRE_MB = retireMb;
    try {
      await buildRelease({ catalog: cat, labels: lab, out: join(dir, out), workers: 2, minRelease: 1, ...quiet });
    } finally {
      delete process.env.CYTOIMAGENET_BUILD_JOB_TRACE;
      delete process.env.CYTOIMAGENET_BUILD_WORKER_RETIRE_MB;
    }
    const lines = (await readFile(traceFile, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 8, 'every image set ran once');
    return new Set(lines.map((l) => l.split(' ')[0])).size;
  };
  assert.ok((await pidsOf('kept')) <= 2, 'without the limit the two workers do every job');
  assert.ok((await pidsOf('retired', '1')) > 2, 'with a 1 MB limit workers are replaced');
  const a = await treeDigest(join(dir, 'retired'));
  const b = await treeDigest(join(dir, 'kept'));
  for (const [k, v] of b) if (k.endsWith('.png') || k === 'metadata.csv') assert.equal(a.get(k), v, k);
});
