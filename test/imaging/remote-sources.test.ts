// Source entries read in place: the OME-Zarr stores in shared/data/ome-zarr (written from TIFFs
// elsewhere in shared/data, pixel-identical at level 0) give the PNGs of the files they came
// from, read locally and from a loopback HTTP server; selectors; a flaky server; the disk cache.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage, encodePng, ImageError, standardizeImageSet } from '../../src/imaging/index.js';
import { configureFetch, DEFAULT_FETCH, fetchStats, resetFetchStats } from '../../src/sources/fetch/http.js';
import { parseEntry, setS3Endpoint, DEFAULT_S3_ENDPOINT } from '../../src/sources/fetch/entry.js';
import { forgetOpenedImages, openImage } from '../../src/sources/ome-zarr.js';
import { rangeReader } from '../../src/sources/fetch/read-bytes.js';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import { sharedPath, SHARED_DATA } from '../helpers/data.js';
import { writeTiffPages } from './tiff-writer.js';
import { serveFolder, type TestServer } from '../helpers/http-server.js';

const ZARR = (s: string): string => sharedPath('ome-zarr', s);
const img = (p: string): string => sharedPath('images', p);

/** Each store (or plate field) and the files it was written from, in channel order. */
function storeCases(): Array<{ name: string; rel: string; files: string[] }> {
  const cases = [
    {
      name: 'human (c,y,x; Blosc zstd)',
      rel: 'ome-zarr/human-D03f00.ome.zarr',
      files: [0, 1, 2].map((i) =>
        img(`cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00d${i}.tif`),
      ),
    },
    {
      name: 'fly (t,c,z,y,x; zlib)',
      rel: 'ome-zarr/fly-POS002.ome.zarr',
      files: ['D', 'F', 'R'].map((c) => img(`cellprofiler_examples/ExampleFly/images/01_POS002_${c}.TIF`)),
    },
  ];
  // The plate's fields name their TIFF in a source_file attribute.
  const plate = ZARR('bbbc022-20585.ome.zarr');
  const meta = JSON.parse(readFileSync(join(plate, '.zattrs'), 'utf8'));
  for (const w of meta.plate.wells) {
    const well = JSON.parse(readFileSync(join(plate, w.path, '.zattrs'), 'utf8'));
    for (const im of well.well.images) {
      const attrs = JSON.parse(readFileSync(join(plate, w.path, im.path, '.zattrs'), 'utf8'));
      cases.push({
        name: `plate field ${w.path}/${im.path} (uint16; Blosc lz4)`,
        rel: `ome-zarr/bbbc022-20585.ome.zarr/${w.path}/${im.path}`,
        files: [img(`bbbc022/BBBC022_v1_images_20585w1/${attrs.source_file}`)],
      });
    }
  }
  return cases;
}

async function pngOf(files: string[]): Promise<Buffer> {
  const set = await standardizeImageSet(files);
  assert.equal(set.qc.verdict, 'ok', `${files[0]}: ${set.qc.reason}`);
  return encodePng(set.output as Uint8Array, set.width, set.height);
}

let server: TestServer;
let tmp = '';

before(async () => {
  server = await serveFolder(SHARED_DATA);
  tmp = await mkdtemp(join(tmpdir(), 'cytoimagenet-remote-'));
});

after(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
  configureFetch(DEFAULT_FETCH);
});

beforeEach(() => {
  // fast retries, no cache unless a test sets one; nothing remembered between tests
  configureFetch({ ...DEFAULT_FETCH, backoffMs: 5, timeoutMs: 10_000 });
  forgetOpenedImages();
  server.clearFaults();
  server.requests.clear();
  resetFetchStats();
});

test('each OME-Zarr store gives the same PNG as the TIFF files it came from', async () => {
  for (const c of storeCases()) {
    const want = await pngOf(c.files);
    const got = await pngOf([sharedPath(c.rel)]);
    assert.ok(want.equals(got), c.name);
  }
});

test('over HTTP each store gives the same PNG again, with one request per chunk needed plus the metadata', async () => {
  for (const c of storeCases()) {
    forgetOpenedImages();
    server.requests.clear();
    const want = await pngOf(c.files);
    const got = await pngOf([`${server.url}/${c.rel}`]);
    assert.ok(want.equals(got), c.name);
    // .zattrs of the image group and .zarray of level 0, then the level-0 chunks of the plane(s)
    const img0 = await openImage(sharedPath(c.rel));
    const chunkFiles = [...server.requests.keys()].filter((p) => !/\/\.z(attrs|array|group)$/.test(p));
    const arr = JSON.parse(readFileSync(join(sharedPath(c.rel), img0.levels[0], '.zarray'), 'utf8'));
    const perPlane = Math.ceil(arr.shape.at(-1) / arr.chunks.at(-1)) * Math.ceil(arr.shape.at(-2) / arr.chunks.at(-2));
    const planes = c.files.length;
    assert.equal(server.totalRequests(), 2 + perPlane * planes, `${c.name}: ${[...server.requests.keys()].join(' ')}`);
    assert.equal(chunkFiles.length, perPlane * planes);
  }
});

test('a remote TIFF (read by ranges) and an s3:// entry read like the local file', async () => {
  const rel = 'images/cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00d0.tif';
  const want = await pngOf([sharedPath(rel)]);
  assert.ok(want.equals(await pngOf([`${server.url}/${rel}`])));
  setS3Endpoint(server.url);
  try {
    assert.equal(parseEntry('s3://bucket/key.tif').resolved, `${server.url}/bucket/key.tif`);
    // the served folder plays the bucket: s3://images/… is http://127.0.0.1:PORT/images/…
    assert.ok(want.equals(await pngOf([`s3://${rel}`])));
  } finally {
    setS3Endpoint(DEFAULT_S3_ENDPOINT);
  }
});

test('selectors: #c picks one channel (named by omero), #level=1 is the half-size level, #z=max, #t', async () => {
  const human = ZARR('human-D03f00.ome.zarr');
  const meta = await openImage(human);
  assert.deepEqual(meta.channels, ['d0', 'd1', 'd2']);
  const c1 = await decodeImage(`${human}#c=1`);
  const tif = await decodeImage(img('cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00d1.tif'));
  assert.equal(c1.bitDepth, 8);
  assert.deepEqual(Buffer.from(c1.data.buffer, c1.data.byteOffset, c1.data.byteLength), Buffer.from(tif.data));
  const half = await decodeImage(`${human}#c=1&level=1`);
  assert.deepEqual([half.width, half.height], [256, 256]);
  // level 1 is the 2×2 mean rounded down (the store's README)
  const d = tif.data as Uint8Array;
  const mean = Math.floor((d[0] + d[1] + d[512] + d[513]) / 4);
  assert.equal(half.data[0], mean);
  // the fly store has one z plane: the maximum projection and z=0 are that plane; t=0 likewise
  const fly = ZARR('fly-POS002.ome.zarr');
  const z0 = await decodeImage(`${fly}#c=2#z=0`);
  const zmax = await decodeImage(`${fly}#c=2&z=max&t=0`);
  assert.deepEqual(zmax.data, z0.data);
  // 16-bit stays 16-bit
  const field = await decodeImage(ZARR('bbbc022-20585.ome.zarr/A/01/0'));
  assert.equal(field.bitDepth, 16);
  await assert.rejects(decodeImage(`${human}#c=3`), (e: unknown) => {
    assert.ok(e instanceof ImageError);
    assert.match(e.reason, /c=3 is out of range: the image has 3/);
    return true;
  });
  await assert.rejects(decodeImage(`${human}#c=0&q=1`), /unknown selector 'q=1'/);
  await assert.rejects(decodeImage(ZARR('bbbc022-20585.ome.zarr')), /HCS plate/);
});

test('a flaky server: 503s then success are retried; 503 for good is a fetch-failed reject with its reason', async () => {
  const rel = 'ome-zarr/human-D03f00.ome.zarr';
  const want = await pngOf([sharedPath(rel)]);
  server.inject('unavailable', 2, /\/0\/0\/0\/0$/);
  assert.ok(want.equals(await pngOf([`${server.url}/${rel}`])));
  assert.equal(server.requests.get(`/${rel}/0/0/0/0`), 3);

  forgetOpenedImages();
  server.requests.clear();
  server.inject('unavailable', Number.POSITIVE_INFINITY, /\/0\/1\/1\/1$/);
  const set = await standardizeImageSet([`${server.url}/${rel}`]);
  assert.equal(set.qc.verdict, 'unreadable');
  assert.match(set.qc.reason, /^fetch-failed: HTTP 503 after 5 tries$/);
  assert.equal(set.qc.file, `${server.url}/${rel}#c=1`);
  assert.equal(server.requests.get(`/${rel}/0/1/1/1`), 5);
});

test('truncated bodies and a lying Content-Length are retried, never passed on', async () => {
  const rel = 'ome-zarr/fly-POS002.ome.zarr';
  const want = await pngOf([sharedPath(rel)]);
  server.inject('truncate', 2, /0\.0\.0\.0\.0$/);
  server.inject('wrong-length', 2, /0\.1\.0\.1\.1$/);
  assert.ok(want.equals(await pngOf([`${server.url}/${rel}`])));
  assert.equal(server.requests.get(`/${rel}/0/0.0.0.0.0`), 3);
  assert.equal(server.requests.get(`/${rel}/0/0.1.0.1.1`), 3);

  const tif = 'images/cellprofiler_examples/ExampleFly/images/01_POS002_D.TIF';
  server.inject('truncate', Number.POSITIVE_INFINITY, /POS002_D\.TIF$/);
  await assert.rejects(decodeImage(`${server.url}/${tif}`), (e: unknown) => {
    assert.ok(e instanceof ImageError);
    assert.equal(e.kind, 'fetch-failed');
    assert.match(e.reason, /after 5 tries$/);
    return true;
  });
});

test('a URL the server does not have is a missing file (one request, not retried), not a fetch failure', async () => {
  const url = `${server.url}/images/bbbc022/BBBC022_v1_images_20585w1/not-there.tif`;
  await assert.rejects(decodeImage(url), (e: unknown) => {
    assert.ok(e instanceof ImageError);
    assert.equal(e.kind, 'missing');
    assert.equal(e.reason, 'file not found (HTTP 404)');
    return true;
  });
  assert.equal(server.requests.get('/images/bbbc022/BBBC022_v1_images_20585w1/not-there.tif'), 1);
  const set = await standardizeImageSet([url]);
  assert.equal(set.qc.verdict, 'unreadable');
  assert.equal(set.qc.reason, 'missing: file not found (HTTP 404)');
});

test('a stopped server is a fetch-failed reject; started again, the same entry reads', async () => {
  const rel = 'ome-zarr/human-D03f00.ome.zarr';
  const want = await pngOf([sharedPath(rel)]);
  await server.stop();
  try {
    const set = await standardizeImageSet([`${server.url}/${rel}#c=0`]);
    assert.equal(set.qc.verdict, 'unreadable');
    assert.match(set.qc.reason, /^fetch-failed: .*after 5 tries$/);
  } finally {
    await server.start();
  }
  assert.ok(want.equals(await pngOf([`${server.url}/${rel}`])));
});

test('the disk cache: a repeated read makes no request and gives the same bytes', async () => {
  const cacheDir = join(tmp, 'cache');
  configureFetch({ cacheDir });
  const rel = 'ome-zarr/bbbc022-20585.ome.zarr/E/07/1';
  const first = await pngOf([`${server.url}/${rel}`]);
  const sent = server.totalRequests();
  assert.ok(sent > 0);
  forgetOpenedImages();
  configureFetch({ cacheDir }); // as a new process would
  resetFetchStats();
  const again = await pngOf([`${server.url}/${rel}`]);
  assert.ok(first.equals(again));
  assert.equal(server.totalRequests(), sent, 'no request on a cache hit');
  assert.equal(fetchStats.requests, 0);
  assert.equal(fetchStats.cacheHits, sent);
});

test('NGFF 0.5 on Zarr v3 (written here with zarrita, chunks not aligned to the image): same PNG, locally and over HTTP', async () => {
  const files = [0, 1, 2].map((i) =>
    img(`cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00d${i}.tif`),
  );
  const planes = await Promise.all(files.map((f) => decodeImage(f)));
  const path = join(tmp, 'v3', 'human.ome.zarr');
  const store = new FileSystemStore(path);
  const axes = [
    { name: 'c', type: 'channel' },
    { name: 'y', type: 'space' },
    { name: 'x', type: 'space' },
  ];
  await zarr.create(zarr.root(store), {
    attributes: {
      ome: {
        version: '0.5',
        multiscales: [
          { axes, datasets: [{ path: '0', coordinateTransformations: [{ type: 'scale', scale: [1, 1, 1] }] }] },
        ],
        omero: { channels: [{ label: 'DNA' }, { label: 'ER' }, { label: 'RNA' }] },
      },
    },
  });
  const arr = await zarr.create(zarr.root(store).resolve('0'), {
    shape: [3, 512, 512],
    chunkShape: [1, 200, 200],
    dtype: 'uint8',
  });
  for (let c = 0; c < 3; c++)
    await zarr.set(arr, [c, null, null], { data: planes[c].data as Uint8Array, shape: [512, 512], stride: [512, 1] });
  const want = await pngOf(files);
  assert.ok(want.equals(await pngOf([path])));
  assert.deepEqual((await openImage(path)).channels, ['DNA', 'ER', 'RNA']);
  const v3server = await serveFolder(join(tmp, 'v3'));
  try {
    forgetOpenedImages();
    assert.ok(want.equals(await pngOf([`${v3server.url}/human.ome.zarr`])));
    // the group's zarr.json (after the v2 .zattrs is not found), the array's, then 3 × 3×3 chunks
    assert.equal(v3server.totalRequests(), 3 + 27);
  } finally {
    await v3server.close();
  }
});

test('OME-TIFF: channels named by its OME-XML, the same selectors pick the page', async () => {
  const path = join(tmp, 'two.ome.tif');
  // 2 channels × 3 z planes, XYZCT: page = z + 3·c; each page is filled with its own index
  const w = 150;
  const h = 150;
  const pages = Array.from({ length: 6 }, (_, p) => {
    const d = new Uint8Array(w * h);
    for (let i = 0; i < d.length; i++) d[i] = (p * 40 + (i % 37)) & 0xff;
    return d;
  });
  const xml =
    '<?xml version="1.0"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" SizeX="150" SizeY="150" SizeC="2" SizeZ="3" SizeT="1">' +
    '<Channel ID="Channel:0:0" Name="DNA &amp; nuclei" SamplesPerPixel="1"/><Channel ID="Channel:0:1" Name="Actin" SamplesPerPixel="1"/>' +
    '</Pixels></Image></OME>';
  await writeFile(path, writeTiffPages(pages, w, h, xml));
  const z1c1 = await decodeImage(`${path}#c=1&z=1`);
  assert.deepEqual(z1c1.data, pages[4]);
  const mid = await decodeImage(`${path}#c=0`); // middle z by default
  assert.deepEqual(mid.data, pages[1]);
  const set = await standardizeImageSet([path]);
  assert.deepEqual(
    set.channels.map((c) => c.file),
    [`${path}#c=0`, `${path}#c=1`],
  );
  const { omeTiffChannels } = await import('../../src/imaging/ome-tiff.js');
  assert.deepEqual(await omeTiffChannels(rangeReader(path)), ['DNA & nuclei', 'Actin']);
  // over HTTP: the channel names come from three ranged requests, not the whole file
  const served = await serveFolder(tmp);
  try {
    const url = `${served.url}/two.ome.tif`;
    assert.deepEqual(await omeTiffChannels(rangeReader(url)), ['DNA & nuclei', 'Actin']);
    assert.equal(served.totalRequests(), 4); // header, directory count, directory, description
    assert.ok(fetchStats.bytes < 2000);
    const remote = await decodeImage(`${url}#c=1&z=1`);
    assert.deepEqual(remote.data, pages[4]);
    const set = await standardizeImageSet([url]);
    assert.deepEqual(
      set.channels.map((c) => c.file),
      [`${url}#c=0`, `${url}#c=1`],
    );
  } finally {
    await served.close();
  }
});
