// A registry entry's `location` (docs/sources.md, "Reading in place"): the images read where they
// already are, over loopback HTTP from files of ../shared/data, against the same dataset with its
// images under ROOT/<dir_name>/. The catalog's rows (present and missing files included) and the
// release built from them must be the same; a location the source cannot use is refused at load
// with the registry file's line.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestSources, type IngestReport } from '../../src/catalog/ingest.js';
import { loadRegistryFile, registryDir, registryInputs } from '../../src/sources/dataset-registry.js';
import { assignLabels } from '../../src/labels/assign-labels.js';
import { buildRelease } from '../../src/release/build-release.js';
import { configureFetch, DEFAULT_FETCH } from '../../src/sources/fetch/http.js';
import { UserError } from '../../src/util/errors.js';
import { sharedPath } from '../helpers/data.js';
import { serveFolder, type TestServer } from '../helpers/http-server.js';
import { query } from '../catalog/catalog-helpers.js';
import { treeDigest } from '../release/fixture.js';

const W1 = sharedPath('images', 'bbbc022', 'BBBC022_v1_images_20585w1');
const PLATE = sharedPath('ome-zarr', 'bbbc022-20585.ome.zarr');
/** The five real BBBC022 files (one channel), with the compounds the test gives them. */
const SITES: [string, string][] = [
  ['IXMtest_A01_s2_w1AA6B1894-F561-42EE-9D1D-E21E5C741B75.tif', 'Taxol'],
  ['IXMtest_A01_s3_w108F3A6FF-A865-40A1-8488-9A5BA31605A9.tif', 'Taxol'],
  ['IXMtest_E05_s6_w1A1A21FBC-5638-47D7-8E40-41FDFA080C60.tif', 'DMSO'],
  ['IXMtest_E07_s3_w1724EB5AF-9EF4-41F9-98E6-6CF7E4182E51.tif', 'DMSO'],
  ['IXMtest_E07_s4_w1722986E3-C24E-4E7D-A484-F1578ECD7C53.tif', 'DMSO'],
  // listed, but in no folder: a missing file, here and at the location alike
  ['IXMtest_B02_s1_w1NOT-THERE.tif', 'DMSO'],
];

/** BBBC022_v1_image.csv naming each site's file for all five channels (every channel folder holds the w1 files). */
const IMAGE_CSV = [
  'Image_FileName_OrigER,Image_FileName_OrigHoechst,Image_FileName_OrigMito,Image_FileName_OrigPh_golgi,Image_FileName_OrigSyto,Image_Metadata_PlateID,Image_Metadata_SOURCE_COMPOUND_NAME',
  ...SITES.map(([f, compound]) => `${f},${f},${f},${f},${f},20585,${compound}`),
].join('\n');

/** The plate's annotation, as IDR writes one (joined on Plate and Well). */
const PLATE_ANNOTATION = ['Plate,Well,Compound Name', '20585,A01,taxol', '20585,E05,dmso', '20585,E07,dmso'].join('\n');

/** A registry entry of an OME-Zarr plate (none ships: the registry's plates would be IDR's). */
function plateEntry(location: string | null): string {
  return `dir_name: zplate
database: Broad Bioimage Benchmark Collection
name: BBBC022 plate 20585 as OME-Zarr
description: One plate of BBBC022 written as an OME-Zarr HCS plate.
homepage: https://bbbc.broadinstitute.org/BBBC022
licence: CC0 1.0 (not verified here)
citation: Gustafsdottir et al. 2013, PLoS One 8:e80999
organism: human
microscopy: fluorescence
row_unit: one row per field
labels: compound from the annotation
expected_image_sets: 5
get:
  download: [shared/data/ome-zarr/bbbc022-20585.ome.zarr]
  how: copy the plate into ROOT/zplate/.
layout:
  required: [annotation.csv]
  examples: [bbbc022-20585.ome.zarr]
location: ${location ?? 'null'}
source:
  adapter: ome-zarr-plate
  plate: bbbc022-20585.ome.zarr
  annotation: annotation.csv
  defaults: {organism: human, microscopy: fluorescence}
`;
}

async function link(target: string, at: string): Promise<void> {
  await mkdir(join(at, '..'), { recursive: true });
  await symlink(target, at);
}

async function put(at: string, text: string): Promise<void> {
  await mkdir(join(at, '..'), { recursive: true });
  await writeFile(at, text);
}

/** A registry folder holding bbbc022 (as shipped, but for its location) and the plate entry. */
async function registryWith(dir: string, bbbc022: string | null, plate: string | null): Promise<string> {
  const shipped = await readFile(join(registryDir(), 'bbbc022.yaml'), 'utf8');
  assert.match(shipped, /^location: null$/m);
  await put(join(dir, 'bbbc022.yaml'), shipped.replace(/^location: null$/m, `location: ${bbbc022 ?? 'null'}`));
  await put(join(dir, 'zplate.yaml'), plateEntry(plate));
  return dir;
}

let root = '';
let server: TestServer;
const ingested: Record<'local' | 'remote', { catalog: string; report: IngestReport }> = {} as never;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cytoimagenet-location-'));
  configureFetch({ ...DEFAULT_FETCH, backoffMs: 20 });
  // What the server serves: links to the shared files, laid out as each dataset's location.
  const served = join(root, 'served');
  for (const c of [1, 2, 3, 4, 5]) await link(W1, join(served, 'bbbc022', `BBBC022_v1_images_20585w${c}`));
  await link(PLATE, join(served, 'ome-zarr', 'bbbc022-20585.ome.zarr'));
  server = await serveFolder(served);

  // Local: the tables and the images under ROOT/<dir_name>/.
  const local = join(root, 'local');
  await put(join(local, 'bbbc022', 'BBBC022_v1_image.csv'), IMAGE_CSV);
  for (const c of [1, 2, 3, 4, 5]) await link(W1, join(local, 'bbbc022', `BBBC022_v1_images_20585w${c}`));
  await put(join(local, 'zplate', 'annotation.csv'), PLATE_ANNOTATION);
  await link(PLATE, join(local, 'zplate', 'bbbc022-20585.ome.zarr'));
  // In place: only the tables under ROOT/<dir_name>/; the images at the locations.
  const remote = join(root, 'remote');
  await put(join(remote, 'bbbc022', 'BBBC022_v1_image.csv'), IMAGE_CSV);
  await put(join(remote, 'zplate', 'annotation.csv'), PLATE_ANNOTATION);

  const registries = {
    local: await registryWith(join(root, 'registry-local'), null, null),
    remote: await registryWith(
      join(root, 'registry-remote'),
      `${server.url}/bbbc022`,
      `${server.url}/ome-zarr/bbbc022-20585.ome.zarr`,
    ),
  };
  for (const side of ['local', 'remote'] as const) {
    const { inputs, skipped } = registryInputs(
      ['bbbc022', 'zplate'],
      side === 'local' ? local : remote,
      registries[side],
    );
    assert.deepEqual(skipped, []);
    const catalog = join(root, `${side}.duckdb`);
    ingested[side] = { catalog, report: await ingestSources(inputs, catalog) };
  }
});

after(async () => {
  await server?.close();
  configureFetch(DEFAULT_FETCH, true);
  await rm(root, { recursive: true, force: true });
});

test('ingest --registry with a location: the same rows, present and missing files as from ROOT/<dir_name>/, images_root the location', async () => {
  const counts = (r: IngestReport) =>
    r.sources.map((s) => ({ source: s.dirNames.join(','), rows: s.rows, present: s.present, missing: s.missing }));
  assert.deepEqual(counts(ingested.local.report), [
    { source: 'bbbc022', rows: 6, present: 5, missing: 1 },
    { source: 'zplate', rows: 5, present: 5, missing: 0 },
  ]);
  assert.deepEqual(counts(ingested.remote.report), counts(ingested.local.report));
  const rows = (c: string) => query(c, 'SELECT * FROM catalog ORDER BY idx');
  const local = await rows(ingested.local.catalog);
  // The one difference is provenance: a plate's rows name the plate they were read from.
  const plateAt = `${server.url}/ome-zarr/bbbc022-20585.ome.zarr`;
  const expected = local.map((r) =>
    r.source_table === 'bbbc022-20585.ome.zarr' ? { ...r, source_table: plateAt } : r,
  );
  assert.deepEqual(await rows(ingested.remote.catalog), expected);
  assert.ok(local.some((r) => String(r.source_files).startsWith('bbbc022-20585.ome.zarr/')));
  assert.deepEqual(
    (await query(ingested.remote.catalog, 'SELECT dir_name, images_root FROM sources ORDER BY dir_name')).map((r) => [
      r.dir_name,
      r.images_root,
    ]),
    [
      ['bbbc022', `${server.url}/bbbc022`],
      ['zplate', `${server.url}/ome-zarr`],
    ],
  );
  // every listed file was asked for at the location, the missing one included
  assert.equal(server.requests.get('/bbbc022/BBBC022_v1_images_20585w3/IXMtest_B02_s1_w1NOT-THERE.tif'), 1);
});

test('with a location, images under ROOT/<dir_name>/ are still read there (the location is not asked)', async () => {
  const registry = await registryWith(
    join(root, 'registry-both'),
    `${server.url}/bbbc022`,
    `${server.url}/ome-zarr/bbbc022-20585.ome.zarr`,
  );
  const before = server.totalRequests();
  const { inputs } = registryInputs(['bbbc022', 'zplate'], join(root, 'local'), registry);
  const catalog = join(root, 'both.duckdb');
  await ingestSources(inputs, catalog);
  assert.equal(server.totalRequests(), before);
  assert.deepEqual(
    (await query(catalog, 'SELECT images_root FROM sources ORDER BY dir_name')).map((r) => r.images_root),
    [join(root, 'local', 'bbbc022'), join(root, 'local', 'zplate')],
  );
  assert.deepEqual(
    await query(catalog, 'SELECT * FROM catalog ORDER BY idx'),
    await query(ingested.local.catalog, 'SELECT * FROM catalog ORDER BY idx'),
  );
});

test('a folder location (a mount) is read like ROOT/<dir_name>/, listed and checked on disk', async () => {
  const mount = join(root, 'served', 'bbbc022');
  const registry = await registryWith(join(root, 'registry-mount'), mount, null);
  const { inputs } = registryInputs(['bbbc022'], join(root, 'remote'), registry);
  const catalog = join(root, 'mount.duckdb');
  const r = await ingestSources(inputs, catalog);
  assert.deepEqual(
    r.sources.map((s) => [s.rows, s.present, s.missing]),
    [[6, 5, 1]],
  );
  assert.deepEqual(
    (await query(catalog, 'SELECT images_root FROM sources')).map((x) => x.images_root),
    [mount],
  );
  assert.deepEqual(
    await query(catalog, 'SELECT * FROM catalog ORDER BY idx'),
    await query(ingested.local.catalog, "SELECT * FROM catalog WHERE dir_name = 'bbbc022' ORDER BY idx"),
  );
});

test('a build from the location equals the build from ROOT/<dir_name>/', async () => {
  const digests: Map<string, string>[] = [];
  for (const side of ['local', 'remote'] as const) {
    const labels = join(root, `labels-${side}`);
    await assignLabels(ingested[side].catalog, labels, { threshold: 2, cap: 10, presample: 10, seed: 1 });
    const out = join(root, `release-${side}`);
    await buildRelease({
      catalog: ingested[side].catalog,
      labels,
      out,
      workers: 1,
      minRelease: 1,
      progress: false,
      log: () => undefined,
    });
    const d = await treeDigest(out);
    // build.json and the card name the catalog they came from; a reject's detail names where its
    // file was looked for (a path or a URL), its other columns must agree
    for (const f of ['build.json', 'README.md', 'rejects.csv']) d.delete(f);
    const rejects = readFileSync(join(out, 'rejects.csv'), 'utf8').trimEnd().split('\n');
    d.set('rejects.csv', rejects.map((l) => l.split(',').slice(0, 5).join(',')).join('\n'));
    digests.push(d);
  }
  assert.ok(
    [...digests[0].keys()].some((k) => k.endsWith('.png')),
    'the release has images',
  );
  assert.deepEqual(digests[1], digests[0]);
  assert.match(digests[1].get('rejects.csv') ?? '', /NOT-THERE\.tif,u2os,cell_type,read,missing-file$/m);
});

test('a location is defined: a URL or absolute folder, a plate only for an ome-zarr-plate source, never a URL for a source that lists its folder; errors name the line', async () => {
  const dir = join(root, 'bad');
  const shipped = await readFile(join(registryDir(), 'bbbc026.yaml'), 'utf8');
  const line = shipped.split('\n').findIndex((l) => l.startsWith('location:')) + 1;
  const refused = async (location: string, why: RegExp): Promise<void> => {
    const f = join(dir, 'bbbc026.yaml');
    await put(f, shipped.replace(/^location: null$/m, `location: ${location}`));
    assert.throws(
      () => loadRegistryFile(f),
      (e: unknown) =>
        e instanceof UserError && why.test(e.message) && e.location?.line === line && e.location.file === f,
      location,
    );
  };
  await refused('data/bbbc026', /location must be an http:\/\/, https:\/\/ or s3:\/\/ URL, or an absolute folder/);
  await refused('ftp://host/bbbc026', /location must be an http/);
  await refused("'https://host/bbbc026#c=0'", /no '#' selectors/);
  await refused(
    'https://host/bbbc026/plate.ome.zarr',
    /names an OME-Zarr plate, which only an ome-zarr-plate source reads/,
  );
  await refused('https://host/bbbc026', /a URL location cannot be listed/);
  // a folder is listed like ROOT/<dir_name>/: accepted for the same source
  await put(join(dir, 'bbbc026.yaml'), shipped.replace(/^location: null$/m, 'location: /mnt/lab/bbbc026'));
  assert.equal(loadRegistryFile(join(dir, 'bbbc026.yaml')).entry.location, '/mnt/lab/bbbc026');
});

test('a location that does not answer stops the ingest naming it, and leaves the catalog as it was', async () => {
  const remote = join(root, 'remote');
  const registry = await registryWith(join(root, 'registry-gone'), `http://127.0.0.1:9/bbbc022`, null);
  configureFetch({ ...DEFAULT_FETCH, tries: 2, backoffMs: 10 });
  try {
    const { inputs } = registryInputs(['bbbc022'], remote, registry);
    const catalog = join(root, 'gone.duckdb');
    await assert.rejects(
      ingestSources(inputs, catalog),
      (e: unknown) =>
        e instanceof UserError &&
        /cannot check the source's images at http:\/\/127\.0\.0\.1:9\/bbbc022/.test(e.message),
    );
    assert.ok(!existsSync(catalog), 'a catalog this ingest created is removed again');
  } finally {
    configureFetch({ ...DEFAULT_FETCH, backoffMs: 20 });
  }
});
