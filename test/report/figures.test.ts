// The report on the build fixture (real BBBC022, BCCD, yeast and HPA images from shared/data, plus
// broken inputs that end up in rejects.csv): the figures' numbers equal counts taken from
// metadata.csv and rejects.csv directly, the per-label pages show that label's images, and the
// same release and seed give the same bytes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import sharp from 'sharp';
import { buildRelease } from '../../src/release/build-release.js';
import { runReport, type ReportResult } from '../../src/report/run-report.js';
import { UserError } from '../../src/util/errors.js';
import { makeFixture, treeDigest, type Fixture } from '../release/fixture.js';
import { CLI } from '../helpers/data.js';
import { spawnSync } from 'node:child_process';

type Row = Record<string, string>;
let root: string;
let fx: Fixture;
let release: string;
let meta: Row[];
let rejects: Row[];
let report: ReportResult;
const quiet = { progress: false, log: (): void => undefined };

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cytoimagenet-report-'));
  fx = await makeFixture(join(root, 'fx'));
  release = join(root, 'release');
  await buildRelease({ catalog: fx.catalog, labels: fx.labels, out: release, workers: 2, minRelease: 3, ...quiet });
  meta = parse(await readFile(join(release, 'metadata.csv')), { columns: true }) as Row[];
  rejects = parse(await readFile(join(release, 'rejects.csv')), { columns: true }) as Row[];
  report = await runReport({ release, out: join(root, 'site'), catalog: fx.catalog, seed: 3, ...quiet });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** count(*) and count(DISTINCT path) per value of `by`, as a plain object. */
function countBy(rows: Row[], by: (r: Row) => string): Record<string, { images: number; labels: number }> {
  const m: Record<string, { images: number; labels: Set<string> }> = {};
  for (const r of rows) {
    const k = by(r);
    m[k] ??= { images: 0, labels: new Set() };
    m[k].images++;
    m[k].labels.add(r.path);
  }
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { images: v.images, labels: v.labels.size }]));
}

test('the overview figures equal counts taken from metadata.csv', () => {
  const f = report.figures;
  assert.ok(meta.length > 20, `${meta.length} rows`);
  assert.equal(f.totals.images, meta.length);
  assert.equal(f.totals.labels, new Set(meta.map((r) => r.path)).size);
  assert.equal(f.totals.crops, meta.filter((r) => r.crop === 'true').length);
  assert.ok(f.totals.crops > 0 && f.totals.whole > 0, 'the fixture has crops and whole images');
  assert.equal(f.totals.sources, new Set(meta.map((r) => r.dir_name)).size);
  const pick = <T extends { images: number; labels: number }>(rows: T[], key: (r: T) => string) =>
    Object.fromEntries(rows.map((r) => [key(r), { images: r.images, labels: r.labels }]));
  assert.deepEqual(
    pick(f.byCategory, (r) => r.category),
    countBy(meta, (r) => r.category),
  );
  assert.deepEqual(
    pick(f.byDatabase, (r) => r.database),
    countBy(meta, (r) => r.database),
  );
  assert.deepEqual(
    pick(f.bySource, (r) => r.source),
    countBy(meta, (r) => r.dir_name),
  );
  const kinds = countBy(meta, (r) => (r.crop === 'true' ? 'crop' : 'whole image'));
  assert.deepEqual(Object.fromEntries(f.cropVsWhole.map((r) => [r.kind, r.images])), {
    crop: kinds.crop.images,
    'whole image': kinds['whole image'].images,
  });
  const scal = countBy(meta, (r) => `${r.crop === 'true' ? 'crop' : 'whole image'} ${Number(r.scaling || 1)}`);
  assert.deepEqual(
    Object.fromEntries(f.scaling.map((r) => [`${r.kind} ${r.scaling}`, r.images])),
    Object.fromEntries(Object.entries(scal).map(([k, v]) => [k, v.images])),
  );
  const split = countBy(meta, (r) => `${r.dset} ${r.category}`);
  assert.deepEqual(
    Object.fromEntries(f.split.map((r) => [`${r.dset} ${r.category}`, r.images])),
    Object.fromEntries(Object.entries(split).map(([k, v]) => [k, v.images])),
  );
  assert.ok(
    f.split.some((r) => r.dset === 'val'),
    'the split chart has val images',
  );
});

test('the reject figures equal counts taken from rejects.csv, each reject under its catalog source', () => {
  const f = report.figures;
  assert.equal(f.totals.rejects, rejects.length);
  const reasons: Record<string, number> = {};
  for (const r of rejects) reasons[`${r.reason} ${r.stage}`] = (reasons[`${r.reason} ${r.stage}`] ?? 0) + 1;
  assert.deepEqual(Object.fromEntries(f.rejectsByReason.map((r) => [`${r.reason} ${r.stage}`, r.rejects])), reasons);
  // every broken input of the fixture is there, under its reason
  for (const [idx, reason] of Object.entries(fx.broken))
    assert.equal(rejects.find((r) => r.idx === idx)?.reason, reason, idx);
  const sourceOf = new Map(fx.rows.map((r) => [r.idx, r.dir_name]));
  const bySource: Record<string, number> = {};
  for (const r of rejects) {
    const k = `${sourceOf.get(r.idx)} ${r.reason}`;
    bySource[k] = (bySource[k] ?? 0) + 1;
  }
  assert.deepEqual(Object.fromEntries(f.rejectsBySource.map((r) => [`${r.source} ${r.reason}`, r.rejects])), bySource);
});

test('the charts draw those numbers: charts.js and figures.json carry the same data', async () => {
  const charts = await readFile(join(report.out, 'assets', 'charts.js'), 'utf8');
  const specs = JSON.parse(charts.replace(/^window\.REPORT_CHARTS = /, '').replace(/;\n$/, '')) as Record<
    string,
    { data: { values: unknown[] } }
  >;
  assert.deepEqual(specs['chart-category'].data.values, report.figures.byCategory);
  assert.deepEqual(specs['chart-source'].data.values, report.figures.bySource);
  assert.deepEqual(specs['chart-rejects-reason'].data.values, report.figures.rejectsByReason);
  assert.deepEqual(specs['chart-rejects-source'].data.values, report.figures.rejectsBySource);
  assert.deepEqual(specs['chart-split'].data.values, report.figures.split);
  assert.deepEqual(JSON.parse(await readFile(join(report.out, 'figures.json'), 'utf8')), report.figures);
  // vega and vega-lite are in the site, not fetched from anywhere
  for (const f of ['vega.min.js', 'vega-lite.min.js'])
    assert.ok((await readFile(join(report.out, 'assets', f))).length > 100_000, f);
  const index = await readFile(report.index, 'utf8');
  assert.doesNotMatch(index, /https?:\/\//, 'index.html references nothing on the network');
});

test('each label page shows seeded images of that label only, with their provenance and a 9-wide grid PNG (9×9 at 81)', async () => {
  const labels = new Map<string, Row[]>();
  for (const r of meta) labels.set(r.path, [...(labels.get(r.path) ?? []), r]);
  const pages = (await readdir(join(report.out, 'labels'))).filter((f) => f.endsWith('.html')).sort();
  assert.deepEqual(
    pages,
    [...labels.keys()].sort().map((d) => `${d}.html`),
  );
  for (const [dir, rows] of labels) {
    const html = await readFile(join(report.out, 'labels', `${dir}.html`), 'utf8');
    const shown = [...html.matchAll(/<dt>idx<\/dt><dd><code>([^<]*)<\/code>/g)].map((m) => m[1]);
    assert.equal(shown.length, Math.min(81, rows.length), dir);
    assert.equal(new Set(shown).size, shown.length, `${dir}: an image shown twice`);
    const idx = new Set(rows.map((r) => r.idx.replaceAll('&', '&amp;')));
    for (const s of shown) assert.ok(idx.has(s), `${dir} shows ${s}, not one of its images`);
    const grid = await sharp(join(report.out, 'labels', `${dir}.png`)).metadata();
    assert.deepEqual([grid.width, grid.height], [9 * 112, Math.ceil(Math.min(81, rows.length) / 9) * 112]);
    // the sources are readable here (absolute shared files, or under the catalog's images_root)
    assert.equal((html.match(/class="sprite src"/g) ?? []).length, shown.length, `${dir}: source thumbnails`);
  }
  const mosaic = await sharp(join(report.out, 'mosaic.png')).metadata();
  const cols = Math.ceil(Math.sqrt(labels.size));
  assert.deepEqual([mosaic.width, mosaic.height], [cols * 64, Math.ceil(labels.size / cols) * 64]);
});

test('umap.csv has label, kind, x, y for whole images and release images; diversity is a cosine distance', async () => {
  const rows = parse(await readFile(join(report.out, 'umap.csv')), { columns: true }) as Row[];
  assert.deepEqual(Object.keys(rows[0]), ['label', 'kind', 'x', 'y']);
  assert.deepEqual([...new Set(rows.map((r) => r.kind))].sort(), ['upsampled', 'whole']);
  const labelNames = new Set(meta.map((r) => r.label));
  for (const r of rows) {
    assert.ok(labelNames.has(r.label), r.label);
    assert.ok(Number.isFinite(Number(r.x)) && Number.isFinite(Number(r.y)));
  }
  assert.equal(report.umap?.labels, Math.min(20, new Set(meta.map((r) => r.path)).size));
  for (const d of report.umap!.diversity)
    for (const v of [d.diversityBefore, d.diversityAfter]) if (v !== null) assert.ok(v >= 0 && v <= 2, String(v));
  assert.ok((await sharp(join(report.out, 'umap.png')).metadata()).width! > 800);
});

test('deterministic: the same release and seed give byte-identical sites; another seed other grids', async () => {
  const again = await runReport({ release, out: join(root, 'site-again'), catalog: fx.catalog, seed: 3, ...quiet });
  assert.deepEqual(await treeDigest(again.out), await treeDigest(report.out));
  const other = await runReport({
    release,
    out: join(root, 'site-seed4'),
    catalog: fx.catalog,
    seed: 4,
    umap: false,
    ...quiet,
  });
  const a = await treeDigest(report.out);
  const b = await treeDigest(other.out);
  assert.notEqual(a.get('labels/nucleus.png'), b.get('labels/nucleus.png'));
  assert.equal(a.get('assets/charts.js'), b.get('assets/charts.js'), 'the figures do not depend on the seed');
});

test('without --catalog: rejects are put under their source by idx prefix; relative sources are named as unreadable', async () => {
  const r = await runReport({ release, out: join(root, 'site-nocat'), seed: 3, umap: false, ...quiet });
  assert.deepEqual(r.figures.rejectsBySource, report.figures.rejectsBySource);
  const html = await readFile(join(r.out, 'labels', 'microtubules.html'), 'utf8');
  assert.match(html, /source not shown: relative source files: give --catalog/);
});

test('bad input: overlapping folders, a non-report folder and a missing column are clear errors', async () => {
  await assert.rejects(runReport({ release, out: join(release, 'site'), ...quiet }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /overlap/);
    return true;
  });
  const busy = join(root, 'busy');
  await cp(join(release, 'nucleus'), busy, { recursive: true });
  await assert.rejects(runReport({ release, out: busy, ...quiet }), /not empty and holds no report/);
  const broken = join(root, 'broken-release');
  await cp(release, broken, { recursive: true });
  const csv = await readFile(join(broken, 'metadata.csv'), 'utf8');
  await writeFile(join(broken, 'metadata.csv'), csv.replace(/^(.*?)source_idx/, '$1origin'));
  await assert.rejects(runReport({ release: broken, out: join(root, 'site-broken'), ...quiet }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.location.column, 'source_idx');
    assert.match(e.location.file ?? '', /metadata\.csv$/);
    return true;
  });
  assert.ok(!existsSync(join(root, 'site-broken', 'index.html')));
});

test('cytoimagenet report: prints where index.html is; a missing release is a one-line error, exit 1', () => {
  const out = join(root, 'site-cli');
  const ok = spawnSync(
    process.execPath,
    [CLI, 'report', '--release', release, '--out', out, '--catalog', fx.catalog, '--no-umap', '--no-progress'],
    { encoding: 'utf8' },
  );
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(ok.stdout.includes(`open ${join(out, 'index.html')}`), ok.stdout);
  assert.ok(existsSync(join(out, 'labels', 'nucleus.html')));
  const bad = spawnSync(process.execPath, [CLI, 'report', '--release', join(root, 'nope'), '--out', join(root, 'x')], {
    encoding: 'utf8',
  });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^cytoimagenet: .*nope: release folder not found\n$/);
});
