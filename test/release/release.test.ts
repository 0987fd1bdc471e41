import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import sharp from 'sharp';
import tar from 'tar-stream';
import { DuckDBInstance } from '@duckdb/node-api';
import { buildRelease, type BuildSummary } from '../../src/release/build-release.js';
import { binaryWidth } from '../../src/release/binary-name.js';
import { METADATA_COLUMNS } from '../../src/release/release-tables.js';
import { UserError } from '../../src/util/errors.js';
import { makeFixture, treeDigest, type Fixture } from './fixture.js';

let root: string;
let fx: Fixture;
let outA: string;
let summaryA: BuildSummary;
const quiet = { progress: false, log: (): void => undefined };

type Row = Record<string, string>;
let meta: Row[];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cytoimagenet-build-'));
  fx = await makeFixture(root);
  outA = join(root, 'release-a');
  summaryA = await buildRelease({
    catalog: fx.catalog,
    labels: fx.labels,
    out: outA,
    workers: 2,
    minRelease: 3,
    ...quiet,
  });
  meta = parse(await readFile(join(outA, 'metadata.csv')), { columns: true }) as Row[];
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('layout: OUT/<dir_label>/<dir_label>-<binary>.png, padded to the width of N−1, 8-bit gray PNGs', async () => {
  const entries = (await readdir(outA, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  assert.deepEqual(entries, [
    '__-x',
    'actin_cell_visible',
    'actin_compound',
    'bad_inputs',
    'g1-s_phase',
    'microtubules',
    'nucleus',
  ]);
  assert.deepEqual(
    (await readdir(outA)).filter((e) => !entries.includes(e)).sort(),
    ['README.md', 'build.json', 'metadata.csv', 'metadata.parquet', 'rejects.csv'],
    'no work files left',
  );
  let total = 0;
  for (const d of entries) {
    const files = (await readdir(join(outA, d))).sort();
    const w = binaryWidth(files.length);
    files.forEach((f, i) => assert.equal(f, `${d}-${i.toString(2).padStart(w, '0')}.png`));
    for (const f of files) {
      const m = await sharp(join(outA, d, f)).metadata();
      assert.equal(m.format, 'png');
      assert.equal(m.channels, 1);
      assert.equal(m.depth, 'uchar');
    }
    total += files.length;
  }
  assert.equal(total, summaryA.images);
  assert.equal(meta.length, total);
});

test('metadata.csv and metadata.parquet: contract columns in order, one row per PNG, geometry of crops', async () => {
  const header = (await readFile(join(outA, 'metadata.csv'), 'utf8')).split('\n')[0];
  assert.equal(header, METADATA_COLUMNS.join(','));
  assert.deepEqual(METADATA_COLUMNS.slice(0, 3), ['label', 'category', 'database']);
  assert.deepEqual(METADATA_COLUMNS.slice(-3), ['dset', 'source_files', 'source_idx']);
  assert.equal(new Set(meta.map((r) => r.idx)).size, meta.length, 'idx is unique in the release');
  for (const r of meta) {
    assert.ok(existsSync(join(outA, r.path, r.filename)), `${r.path}/${r.filename} missing`);
    assert.ok(r.dset === 'train' || r.dset === 'val');
    const src = fx.rows.find((x) => x.idx === r.source_idx);
    assert.ok(src, `source_idx ${r.source_idx} is not a catalog row`);
    assert.equal(r.label, src.label);
    assert.equal(r.category, src.category);
    const m = await sharp(join(outA, r.path, r.filename)).metadata();
    if (r.crop === 'true') {
      assert.equal(r.idx, `${r.source_idx}-crop_${r.idx.split('-crop_')[1]}`);
      assert.equal(m.width, Number(r.x_max) - Number(r.x_min));
      assert.equal(m.height, Number(r.y_max) - Number(r.y_min));
      assert.ok(['0.5', '0.25', '0.125', '0.0625'].includes(r.scaling), r.scaling);
    } else {
      assert.equal(r.idx, r.source_idx);
      assert.equal(r.scaling, '1.0');
      assert.equal(r.x_min, '');
    }
  }
  // BBBC022 (696×520) and BCCD (640×480) are cropped; 64 px yeast and 128 px HPA sets are not.
  assert.ok(meta.filter((r) => r.label === 'nucleus').every((r) => r.crop === 'true'));
  assert.ok(meta.filter((r) => r.label === 'g1/s phase').every((r) => r.crop === 'false'));
  // Every label has a validation share, and crops of one image sit on one side only.
  for (const label of new Set(meta.map((r) => `${r.label}|${r.category}`))) {
    const rows = meta.filter((r) => `${r.label}|${r.category}` === label);
    if (rows.length >= 5)
      assert.ok(
        rows.some((r) => r.dset === 'val'),
        `${label} has no val images`,
      );
    const sides = new Map<string, Set<string>>();
    for (const r of rows) sides.set(r.source_idx, (sides.get(r.source_idx) ?? new Set()).add(r.dset));
    assert.ok(
      [...sides.values()].every((s) => s.size === 1),
      `${label}: an image is in train and val`,
    );
  }
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const pq = (
      await conn.runAndReadAll(`SELECT * FROM read_parquet('${join(outA, 'metadata.parquet')}')`)
    ).getRowObjectsJson();
    assert.equal(pq.length, meta.length);
    assert.deepEqual(Object.keys(pq[0]), [...METADATA_COLUMNS]);
    assert.equal(pq[0].filename, meta[0].filename);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
});

test('path-like labels land inside OUT and keep their text in the metadata', async () => {
  const x = meta.filter((r) => r.label === '../x');
  assert.equal(x.length, 5);
  assert.ok(x.every((r) => r.path === '__-x' && r.filename.startsWith('__-x-')));
  const g1s = meta.filter((r) => r.label === 'g1/s phase');
  assert.ok(g1s.length > 0 && g1s.every((r) => r.path === 'g1-s_phase'));
  // Nothing appeared next to OUT (no '../x' escape).
  assert.deepEqual((await readdir(root)).sort(), ['catalog.duckdb', 'images', 'labels', 'release-a']);
  assert.ok(!existsSync(join(root, 'x')) && !existsSync(join(outA, '..', 'x')));
  // The same token in two categories: two folders, two labels.
  assert.ok(meta.some((r) => r.label === 'actin' && r.category === 'cell_visible' && r.path === 'actin_cell_visible'));
  assert.ok(meta.some((r) => r.label === 'actin' && r.category === 'compound' && r.path === 'actin_compound'));
});

test('cap after cropping: labels at most `cap` images, every source image still represented', () => {
  const nucleus = meta.filter((r) => r.label === 'nucleus');
  assert.equal(nucleus.length, 6, '5 BBBC022 images × 2 crops, capped at 6');
  assert.equal(new Set(nucleus.map((r) => r.source_idx)).size, 5);
  const mt = meta.filter((r) => r.label === 'microtubules');
  assert.equal(mt.length, 6);
  assert.equal(new Set(mt.map((r) => r.source_idx)).size, 4);
  assert.equal(summaryA.capped, 6);
});

test('rejects.csv: missing, corrupt, truncated, mismatched, uniform and binary inputs are rejected with stage and reason; the build goes on', async () => {
  const rejects = parse(await readFile(join(outA, 'rejects.csv')), { columns: true }) as Row[];
  assert.deepEqual(Object.keys(rejects[0]), ['idx', 'label', 'category', 'stage', 'reason', 'detail']);
  for (const [idx, reason] of Object.entries(fx.broken)) {
    const r = rejects.find((x) => x.idx === idx);
    assert.ok(r, `${idx} not in rejects.csv`);
    assert.equal(r.reason, reason);
    assert.equal(
      r.stage,
      {
        'missing-file': 'read',
        'corrupt-image': 'decode',
        'channel-size-mismatch': 'decode',
        'uniform-image': 'qc',
        'binary-mask': 'qc',
      }[reason],
    );
    assert.ok(r.detail.length > 0);
  }
  assert.equal(meta.filter((r) => r.label === 'bad inputs').length, 3, 'the good images of that label are released');
  const tiny = rejects.filter((r) => r.label === 'tiny');
  assert.equal(tiny.length, 2);
  assert.ok(tiny.every((r) => r.stage === 'release' && r.reason === 'label-below-min-release'));
  assert.deepEqual(summaryA.labelsDropped, [{ label: 'tiny', category: 'organism', images: 2 }]);
  assert.equal(meta.filter((r) => r.label === 'tiny').length, 0);
});

test('the dataset card: counts per category, database and source; licences, citations; command, options, seed, version', async () => {
  const card = await readFile(join(outA, 'README.md'), 'utf8');
  assert.match(card, /\| cell_visible \| 3 \| 18 \|/);
  assert.match(card, /\| Test Database \| \d+ \| \d+ \|/);
  assert.match(card, /\| shared \| Shared test images \| Test Database \|/);
  assert.match(card, /licence: CC BY 4\.0/);
  assert.match(card, /citation: Doe et al\. \(2020\) Shared images/);
  assert.match(card, /licence: CC0 1\.0/);
  assert.match(
    card,
    /cytoimagenet build --catalog catalog\.duckdb --labels labels --out OUT --seed 0 --min-release 3 --format folders/,
  );
  assert.match(card, /\| seed \| 0 \|/);
  assert.match(card, /\| cap per label, applied again after cropping \(from labels\.json\) \| 6 \|/);
  assert.match(card, /tool version \| cytoimagenet \d+\.\d+\.\d+/);
  assert.match(card, /tiny \(organism\): 2 images/);
  assert.match(card, new RegExp(`^${summaryA.images} images`, 'm'));
  assert.ok(!card.includes(root), 'the card holds no local paths');
});

test('--workers 1 and --workers 2 give byte-identical releases', async () => {
  const outB = join(root, 'release-b');
  await buildRelease({ catalog: fx.catalog, labels: fx.labels, out: outB, workers: 1, minRelease: 3, ...quiet });
  const a = await treeDigest(outA);
  const b = await treeDigest(outB);
  assert.deepEqual([...b.keys()], [...a.keys()]);
  for (const [k, v] of a) assert.equal(b.get(k), v, `${k} differs`);
  await rm(outB, { recursive: true });
});

test('--format webdataset also writes reproducible tar shards (.png + .json per sample) with an index', async () => {
  const outW = join(root, 'release-w');
  const s = await buildRelease({
    catalog: fx.catalog,
    labels: fx.labels,
    out: outW,
    workers: 2,
    minRelease: 3,
    format: 'webdataset',
    samplesPerShard: 8,
    ...quiet,
  });
  const index = JSON.parse(await readFile(join(outW, 'shards', 'index.json'), 'utf8')) as {
    shards: { file: string; dset: string; samples: number }[];
  };
  assert.equal(
    index.shards.reduce((a, x) => a + x.samples, 0),
    s.images,
  );
  assert.ok(index.shards.some((x) => x.dset === 'val') && index.shards.some((x) => x.dset === 'train'));
  const seen = new Set<string>();
  for (const sh of index.shards) {
    const members = new Map<string, Buffer>();
    const ex = tar.extract();
    const done = (async () => {
      for await (const entry of ex) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        members.set(entry.header.name, Buffer.concat(chunks));
        assert.equal(entry.header.mtime?.getTime(), 0);
      }
    })();
    ex.end(await readFile(join(outW, 'shards', sh.file)));
    await done;
    assert.equal(members.size, 2 * sh.samples);
    for (const [name, bytes] of members) {
      if (!name.endsWith('.json')) continue;
      const key = name.slice(0, -5);
      assert.ok(!key.includes('.') && !key.includes('/'));
      const row = JSON.parse(bytes.toString()) as Row;
      assert.equal(row.dset, sh.dset);
      const png = members.get(`${key}.png`);
      assert.ok(png, `${key}.png missing`);
      assert.deepEqual(png, await readFile(join(outW, row.path, row.filename)), 'shard image = folder image');
      seen.add(`${row.path}/${row.filename}`);
    }
  }
  assert.equal(seen.size, s.images);
  // Same images and tables as the folders release; the card and fingerprint name the format.
  const a = await treeDigest(outA);
  const w = await treeDigest(outW);
  for (const [k, v] of a)
    if (k.endsWith('.png') || k === 'metadata.csv' || k === 'rejects.csv') assert.equal(w.get(k), v, k);
  await rm(outW, { recursive: true });
});

test('refuses before any work: labels from another catalog, an OUT holding another release or other files', async () => {
  const otherLabels = join(root, 'labels-other');
  await cp(fx.labels, otherLabels, { recursive: true });
  const lj = JSON.parse(await readFile(join(otherLabels, 'labels.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(otherLabels, 'labels.json'), JSON.stringify({ ...lj, catalogFingerprint: '1-234' }));
  const outX = join(root, 'release-x');
  await assert.rejects(
    buildRelease({ catalog: fx.catalog, labels: otherLabels, out: outX, minRelease: 3, ...quiet }),
    (e: unknown) => e instanceof UserError && /another catalog/.test(e.message),
  );
  assert.ok(!existsSync(outX), 'nothing was written');
  await rm(otherLabels, { recursive: true });

  const before = await treeDigest(outA);
  await assert.rejects(
    buildRelease({ catalog: fx.catalog, labels: fx.labels, out: outA, seed: 1, minRelease: 3, ...quiet }),
    (e: unknown) => e instanceof UserError && /different release/.test(e.message) && /seed/.test(e.message),
  );
  assert.deepEqual(await treeDigest(outA), before, 'the other release is untouched');

  const foreign = join(root, 'foreign');
  await mkdir(foreign);
  await writeFile(join(foreign, 'thesis.docx'), 'mine');
  await assert.rejects(
    buildRelease({ catalog: fx.catalog, labels: fx.labels, out: foreign, minRelease: 3, ...quiet }),
    (e: unknown) => e instanceof UserError && /not empty/.test(e.message),
  );
  assert.deepEqual(await readdir(foreign), ['thesis.docx']);
  await rm(foreign, { recursive: true });

  // The same command on the finished release does nothing and changes nothing.
  const again = await buildRelease({
    catalog: fx.catalog,
    labels: fx.labels,
    out: resolve(outA),
    workers: 2,
    minRelease: 3,
    ...quiet,
  });
  assert.equal(again.alreadyComplete, true);
  assert.equal(again.images, summaryA.images);
  assert.deepEqual(await treeDigest(outA), before);
});

test('files lost from a finished release are rebuilt by the same command, byte-identical', async () => {
  const outR = join(root, 'release-r');
  await cp(outA, outR, { recursive: true });
  await rm(join(outR, 'nucleus', 'nucleus-010.png'));
  await rm(join(outR, 'metadata.parquet'));
  const s = await buildRelease({
    catalog: fx.catalog,
    labels: fx.labels,
    out: outR,
    workers: 2,
    minRelease: 3,
    ...quiet,
  });
  assert.equal(s.alreadyComplete, false);
  assert.deepEqual(await treeDigest(outR), await treeDigest(outA));
  await rm(outR, { recursive: true });
});
