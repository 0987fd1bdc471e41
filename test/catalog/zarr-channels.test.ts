// A table (any adapter; `standard` here) whose source files are OME-Zarr images and which names no
// channels: ingest fills the catalog's `channels` from the images' omero labels, local or served
// over loopback HTTP, one name per channel each entry stands for.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestSources } from '../../src/catalog/ingest.js';
import { forgetOpenedImages } from '../../src/sources/ome-zarr.js';
import { sharedPath, SHARED_DATA } from '../helpers/data.js';
import { serveFolder, type TestServer } from '../helpers/http-server.js';
import { query, writeConfig } from './catalog-helpers.js';

let dir = '';
let server: TestServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-zarr-channels-'));
  server = await serveFolder(SHARED_DATA);
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test('bare OME-Zarr entries get their omero channel names; #c=K one name; given names and other files are left alone', async () => {
  forgetOpenedImages();
  const rows: Array<[string, string, string]> = [
    ['human', '', 'human-D03f00.ome.zarr'],
    ['human-c1', '', 'human-D03f00.ome.zarr#c=1'],
    ['fly-two', '', 'fly-POS002.ome.zarr#c=0|fly-POS002.ome.zarr/#c=2&z=max'],
    ['fly-url', '', `${server.url}/ome-zarr/fly-POS002.ome.zarr`],
    ['field', '', 'bbbc022-20585.ome.zarr/A/01/0'],
    ['named', 'DAPI|Actin|Tubulin', 'human-D03f00.ome.zarr'],
    [
      'mixed',
      '',
      'human-D03f00.ome.zarr#c=0|../images/cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00d1.tif',
    ],
    ['gone', '', `${server.url}/ome-zarr/no-such.ome.zarr`],
  ];
  const csv = ['idx,database,name,dir_name,compound,channels,source_files'];
  for (const [idx, channels, files] of rows) csv.push(`${idx},Test,zarr,zarrtest,DMSO,${channels},${files}`);
  await writeFile(join(dir, 'table.csv'), `${csv.join('\n')}\n`);
  const cfg = await writeConfig(dir, 'zarr.json', {
    adapter: 'standard',
    table: 'table.csv',
    images: sharedPath('ome-zarr'),
    allow_outside_root: true,
  });
  const catalog = join(dir, 'catalog.duckdb');
  await ingestSources([cfg], catalog);
  const got = Object.fromEntries(
    (await query(catalog, 'SELECT idx, channels FROM catalog ORDER BY idx')).map((r) => [r.idx, r.channels]),
  );
  assert.deepEqual(got, {
    human: 'd0|d1|d2', // omero labels, in channel order
    'human-c1': 'd1',
    'fly-two': 'd|r', // cleaned as every channels value is (lower case)
    'fly-url': 'd|f|r', // read over HTTP: metadata only
    field: 'hoechst',
    named: 'dapi|actin|tubulin', // the table's own names win
    mixed: null, // a TIFF's channel is not known here
    gone: null, // unreadable now: the build will say why
  });
  // metadata only: no chunk of the served store was asked for
  const chunks = [...server.requests.keys()].filter((p) => !/\/(\.zattrs|\.zarray|\.zgroup|zarr\.json)$/.test(p));
  assert.deepEqual(chunks, []);
});
