// Growing a release (docs/build.md "Growing a release"): labels extended with a new source,
// built into the existing release, add only what is new; nothing released moves or changes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'csv-parse/sync';
import { DuckDBInstance } from '@duckdb/node-api';
import { buildRelease, type BuildSummary } from '../../src/release/build-release.js';
import { assignLabels } from '../../src/labels/assign-labels.js';
import { extendLabels } from '../../src/labels/extend-labels.js';
import { labelsDigest } from '../../src/labels/labels-digest.js';
import { UserError } from '../../src/util/errors.js';
import { makeFixture, texture16, treeDigest, writeCatalog, type Fixture, type FixtureRow } from './fixture.js';

const quiet = { progress: false, log: (): void => undefined };
const LABEL_OPTS = { threshold: 2, cap: 6, presample: 100, seed: 0, categories: ['cell_visible', 'compound'] };
/** Tables an incremental build rewrites; everything else in the release must keep bytes and inode. */
const TABLES = new Set([
  'metadata.csv',
  'metadata.parquet',
  'rejects.csv',
  'README.md',
  'build.json',
  'shards/index.json',
]);

let root: string;
let fx: Fixture;
let grownCatalog: string;
let release: string;
let before0: Map<string, { sha: string; ino: number }>;
let grown: BuildSummary;
type Row = Record<string, string>;
let meta0: Row[];
let meta1: Row[];
let grownDigest: Map<string, string>;
const CHILD = fileURLToPath(new URL('./build-child.js', import.meta.url));

/** Every file under dir: sha256 and inode. */
async function snapshot(dir: string): Promise<Map<string, { sha: string; ino: number }>> {
  const digest = await treeDigest(dir);
  const out = new Map<string, { sha: string; ino: number }>();
  for (const [p, sha] of digest) out.set(p, { sha, ino: statSync(join(dir, p)).ino });
  return out;
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cytoimagenet-grow-'));
  fx = await makeFixture(root, { lite: true });
  // A new source: more microtubule sets (an existing label grows) and a new label.
  const synth = join(root, 'images');
  const added: FixtureRow[] = [];
  for (let i = 0; i < 3; i++) {
    const f = ['dapi', 'tubulin'].map((ch) => `new${i}_${ch}.tif`);
    for (const [k, name] of f.entries()) await texture16(join(synth, name), 180, 150, `new${i}-${k}`);
    added.push({ idx: `newlab-${i}`, label: 'microtubules', category: 'cell_visible', dir_name: 'newlab', files: f });
  }
  // Too small to crop, so the label (5 yeast sets, below the cap) has room for them.
  for (let i = 0; i < 2; i++) {
    const f = [`small${i}.tif`];
    await texture16(join(synth, f[0]), 100, 90, `small${i}`);
    added.push({ idx: `newlab-s${i}`, label: 'actin', category: 'compound', dir_name: 'newlab', files: f });
  }
  for (let i = 0; i < 3; i++) {
    const f = [`mito${i}.tif`];
    await texture16(join(synth, f[0]), 160, 150, `mito${i}`);
    added.push({ idx: `newlab-m${i}`, label: 'mitochondria', category: 'cell_visible', dir_name: 'newlab', files: f });
  }
  grownCatalog = join(root, 'grown.duckdb');
  await writeCatalog(grownCatalog, [...fx.rows, ...added], synth);
  const instance = await DuckDBInstance.create(grownCatalog);
  const conn = await instance.connect();
  await conn.run(
    `INSERT INTO sources VALUES ('newlab', 'New Lab', 'New lab screen', 'CC BY 4.0', 'Lab et al. (2026)', '${synth}', '/dev/null', 'test')`,
  );
  conn.closeSync();
  instance.closeSync();

  await assignLabels(fx.catalog, join(root, 'labels0'), LABEL_OPTS);
  await extendLabels(grownCatalog, join(root, 'labels0'), join(root, 'labels1'));
  release = join(root, 'release');
  const opts = { workers: 2, minRelease: 2, format: 'webdataset' as const, samplesPerShard: 4, ...quiet };
  await buildRelease({ catalog: fx.catalog, labels: join(root, 'labels0'), out: release, ...opts });
  meta0 = parse(await readFile(join(release, 'metadata.csv')), { columns: true }) as Row[];
  before0 = await snapshot(release);
  await cp(release, join(root, 'release-gen0'), { recursive: true });
  grown = await buildRelease({ catalog: grownCatalog, labels: join(root, 'labels1'), out: release, ...opts });
  meta1 = parse(await readFile(join(release, 'metadata.csv')), { columns: true }) as Row[];
  grownDigest = await treeDigest(release);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('old files keep their bytes and inodes; only the tables are rewritten', async () => {
  const now = await snapshot(release);
  for (const [p, was] of before0) {
    const is = now.get(p);
    assert.ok(is, `${p} still there`);
    if (TABLES.has(p)) continue;
    assert.equal(is.sha, was.sha, `${p} bytes`);
    assert.equal(is.ino, was.ino, `${p} inode`);
  }
  assert.ok(grown.imagesAdded && grown.imagesAdded > 0);
  assert.equal(now.size - before0.size > 0, true, 'new files were added');
});

test('an incremental build killed at any moment completes, with the same command, to the same bytes', async () => {
  for (const at of ['start:1', 'job:1', 'move:1', 'tables:1', 'card:1']) {
    const out = join(root, `crash-${at.replace(':', '-')}`);
    await cp(join(root, 'release-gen0'), out, { recursive: true });
    const options = {
      catalog: grownCatalog,
      labels: join(root, 'labels1'),
      out,
      workers: 2,
      minRelease: 2,
      format: 'webdataset',
      samplesPerShard: 4,
    };
    const child = spawn(process.execPath, [CHILD], {
      env: { ...process.env, CYTOIMAGENET_BUILD_CRASH_AT: at, CYTOIMAGENET_BUILD_CHILD: JSON.stringify(options) },
      stdio: 'ignore',
    });
    const signal = await new Promise((res) => child.on('exit', (_code, sig) => res(sig)));
    assert.equal(signal, 'SIGKILL', `killed at ${at}`);
    await buildRelease({ ...options, format: 'webdataset', ...quiet });
    assert.deepEqual([...(await treeDigest(out))], [...grownDigest], `killed at ${at}`);
    await rm(out, { recursive: true, force: true });
  }
});

test('new labels appear; existing labels grow only with images of new rows, named with the generation', () => {
  const newIdx = (r: Row): boolean => r.source_idx.startsWith('newlab-');
  const oldKeys = new Set(meta0.map((r) => `${r.path}/${r.filename}`));
  const added = meta1.filter((r) => !oldKeys.has(`${r.path}/${r.filename}`));
  assert.equal(added.length, grown.imagesAdded);
  assert.ok(added.every(newIdx), 'only new rows were built');
  assert.ok(
    added.some((r) => r.label === 'mitochondria'),
    'a new label',
  );
  const mito = added.filter((r) => r.label === 'mitochondria');
  const w = (mito.length - 1).toString(2).length;
  for (const r of mito) assert.match(r.filename, new RegExp(`^mitochondria-[01]{${Math.max(1, w)}}\\.png$`));
  const actin = added.filter((r) => r.label === 'actin' && r.category === 'compound');
  assert.ok(actin.length > 0, 'an existing label grew');
  const folder = meta0.find((r) => r.label === 'actin' && r.category === 'compound')?.path;
  for (const r of actin) {
    assert.equal(r.path, folder, 'in its old folder');
    assert.match(r.filename, new RegExp(`^${folder}-g1-[01]+\\.png$`));
  }
  // microtubules was full (cropped to the cap): its new images are rejected by the cap, not added.
  assert.ok(!added.some((r) => r.label === 'microtubules'));
  const rejects = parse(readFileSync(join(release, 'rejects.csv')), { columns: true }) as Row[];
  assert.ok(rejects.some((r) => r.label === 'microtubules' && r.idx.startsWith('newlab-') && r.reason === 'capped'));
  // Every old row is still there, unchanged (the old split stays).
  const byName = new Map(meta1.map((r) => [`${r.path}/${r.filename}`, r]));
  for (const r of meta0) assert.deepEqual(byName.get(`${r.path}/${r.filename}`), r);
  // New images get the seeded split: whole source images on one side.
  const side = new Map<string, string>();
  for (const r of added) {
    const k = `${r.label}\u0000${r.source_idx}`;
    assert.equal(side.get(k) ?? r.dset, r.dset);
    side.set(k, r.dset);
  }
  // Labels never exceed the cap.
  const per = new Map<string, number>();
  for (const r of meta1) per.set(r.path, (per.get(r.path) ?? 0) + 1);
  for (const [p, n] of per) assert.ok(n <= LABEL_OPTS.cap, `${p}: ${n}`);
});

test('a label new in this generation is built exactly as a whole build of the extended labels builds it', async () => {
  const full = join(root, 'full');
  await buildRelease({
    catalog: grownCatalog,
    labels: join(root, 'labels1'),
    out: full,
    workers: 1,
    minRelease: 2,
    ...quiet,
  });
  const a = await treeDigest(join(release, 'mitochondria'));
  const b = await treeDigest(join(full, 'mitochondria'));
  assert.ok(a.size > 0);
  assert.deepEqual([...a], [...b]);
});

test('metadata, shards and the card hold every generation', async () => {
  const parquet = join(release, 'metadata.parquet');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const [row] = (
    await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${parquet}')`)
  ).getRowObjectsJson();
  conn.closeSync();
  instance.closeSync();
  assert.equal(Number(row.n), meta1.length);
  assert.equal(meta1.length, meta0.length + (grown.imagesAdded ?? 0));
  const index = JSON.parse(await readFile(join(release, 'shards', 'index.json'), 'utf8')) as {
    shards: { file: string; samples: number }[];
  };
  assert.equal(
    index.shards.reduce((s, x) => s + x.samples, 0),
    meta1.length,
  );
  assert.deepEqual(
    index.shards.map((s) => s.file).sort(),
    files(join(release, 'shards'))
      .filter((f) => f.endsWith('.tar'))
      .sort(),
  );
  const card = await readFile(join(release, 'README.md'), 'utf8');
  assert.match(card, /## Generations/);
  assert.ok(card.includes(labelsDigest(join(root, 'labels0'))), 'generation 0 by digest');
  assert.ok(card.includes(labelsDigest(join(root, 'labels1'))), 'generation 1 by digest');
  const record = JSON.parse(await readFile(join(release, 'build.json'), 'utf8')) as {
    generations: { generation: number; images: number }[];
  };
  assert.deepEqual(
    record.generations.map((g) => g.generation),
    [0, 1],
  );
  assert.equal(record.generations[1].images, grown.imagesAdded);
});

test('a second extend with nothing new changes nothing', async () => {
  const labels2 = join(root, 'labels2');
  const ext = await extendLabels(grownCatalog, join(root, 'labels1'), labels2);
  assert.equal(ext.unchanged, true);
  const was = await snapshot(release);
  const s = await buildRelease({
    catalog: grownCatalog,
    labels: labels2,
    out: release,
    workers: 1,
    minRelease: 2,
    format: 'webdataset',
    samplesPerShard: 4,
    ...quiet,
  });
  assert.equal(s.alreadyComplete, true);
  assert.deepEqual([...(await snapshot(release))], [...was]);
});

test("labels extended from a folder that is not the release's are refused, and nothing is written", async () => {
  await assignLabels(fx.catalog, join(root, 'other0'), { ...LABEL_OPTS, seed: 5, cap: 5 });
  await extendLabels(grownCatalog, join(root, 'other0'), join(root, 'other1'));
  const was = await snapshot(release);
  await assert.rejects(
    buildRelease({
      catalog: grownCatalog,
      labels: join(root, 'other1'),
      out: release,
      workers: 1,
      minRelease: 2,
      format: 'webdataset',
      samplesPerShard: 4,
      ...quiet,
    }),
    (e: unknown) =>
      e instanceof UserError &&
      /these labels extend labels .* but the release in the output folder was built from labels/.test(e.message),
  );
  assert.deepEqual([...(await snapshot(release))], [...was]);
  await mkdir(join(root, 'unused'), { recursive: true });
});
