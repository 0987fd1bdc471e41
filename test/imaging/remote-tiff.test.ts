// Remote TIFFs are read by byte ranges: the header and image directories first, then only the
// strips of the page wanted, adjacent strips in one request. The requests a read makes are checked
// against the file's own layout, and every read gives the pixels of the same file read locally.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage, ImageError } from '../../src/imaging/index.js';
import { configureFetch, DEFAULT_FETCH, fetchStats, resetFetchStats } from '../../src/sources/fetch/http.js';
import { DiskCache } from '../../src/sources/fetch/disk-cache.js';
import { reuseFileBuffers } from '../../src/sources/fetch/buffer-pool.js';
import { sharedPath } from '../helpers/data.js';
import { serveFolder, type TestServer } from '../helpers/http-server.js';
import { writeTiffPages } from './tiff-writer.js';

let dir = '';
let server: TestServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-remote-tiff-'));
  server = await serveFolder(dir);
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
  configureFetch(DEFAULT_FETCH);
});

beforeEach(() => {
  configureFetch({ ...DEFAULT_FETCH, backoffMs: 5, timeoutMs: 10_000 });
  server.clearFaults();
  server.requests.clear();
  server.log.length = 0;
  resetFetchStats();
});

/** The byte span [start, end] a logged Range header asks for. */
function span(range: string | null): [number, number] {
  const m = /^bytes=(\d+)-(\d+)$/.exec(range ?? '');
  assert.ok(m, `a ranged request, got ${range}`);
  return [Number(m[1]), Number(m[2])];
}

/** Directory offsets (the chain) and page 0's strip offsets/counts of a classic TIFF, either byte order. */
function layout(b: Buffer): {
  ifd: number;
  ifds: number[];
  offsets: number[];
  counts: number[];
  tables: Array<[number, number]>;
} {
  const le = b[0] === 0x49;
  const u16 = (o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const ifd = u32(4);
  const ifds: number[] = [];
  for (let o = ifd; o !== 0; o = u32(o + 2 + 12 * u16(o))) ifds.push(o);
  const n = u16(ifd);
  // every value stored outside the directory (tables, rationals, text)
  const unit: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };
  const tables: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + 12 * i;
    const length = (unit[u16(e + 2)] ?? 0) * u32(e + 4);
    if (length > 4) tables.push([u32(e + 8), u32(e + 8) + length]);
  }
  const tag = (t: number): number[] => {
    for (let i = 0; i < n; i++) {
      const e = ifd + 2 + 12 * i;
      if (u16(e) !== t) continue;
      const short = u16(e + 2) === 3;
      const count = u32(e + 4);
      const at = count * (short ? 2 : 4) <= 4 ? e + 8 : u32(e + 8);
      return Array.from({ length: count }, (_, k) => (short ? u16(at + 2 * k) : u32(at + 4 * k)));
    }
    return [];
  };
  return { ifd, ifds, offsets: tag(273), counts: tag(279), tables };
}

async function sameAsLocal(local: string, url: string, page?: number): Promise<void> {
  const want = await decodeImage(local, { page });
  const got = await decodeImage(url, { page });
  assert.deepEqual(
    [got.width, got.height, got.bitDepth, got.channels],
    [want.width, want.height, want.bitDepth, want.channels],
  );
  assert.ok(
    Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength).equals(
      Buffer.from(want.data.buffer, want.data.byteOffset, want.data.byteLength),
    ),
    `${url} page ${page ?? 0}: pixels differ`,
  );
}

test('a whole image, directory at the end (as libvips writes): the header block, then the rest in one request', async () => {
  // a BBBC021-like channel: 1280×1024 16-bit, 4 strips, its directory after the pixels
  const px = new Uint16Array(1280 * 1024);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7919) % 65536;
  const path = join(dir, 'bbbc021-like.tif');
  await sharp(px, { raw: { width: 1280, height: 1024, channels: 1 } })
    .toColourspace('grey16')
    .tiff({ compression: 'none' })
    .toFile(path);
  const file = readFileSync(path);
  const { ifd, offsets } = layout(file);
  assert.ok(ifd > 65536 && offsets.length > 1, 'the directory lies past the first request');
  await sameAsLocal(path, `${server.url}/bbbc021-like.tif`);
  // 1: the header block; 2: the pixels before the directory, the directory and its tables
  assert.deepEqual(
    server.log.map((l) => span(l.range)),
    [
      [0, 65535],
      [65536, file.length - 1],
    ],
  );
  assert.equal(fetchStats.bytes, file.length);
  // a later page of such a file is not fetched ahead: the same file as page 1 of 1 is refused
  // after the header and directory only
  server.log.length = 0;
  await assert.rejects(
    decodeImage(`${server.url}/bbbc021-like.tif`, { page: 1 }),
    /page 1 requested but the file has 1 page/,
  );
  assert.deepEqual(
    server.log.map((l) => span(l.range)),
    [
      [0, 65535],
      [ifd, file.length - 1],
    ],
  );
});

test('a whole image, directory first (real files): the header block, the tag tables where they lie outside it, then one request for the strips', async () => {
  for (const rel of [
    'images/cellprofiler_examples/ExampleFly/images/01_POS002_D.TIF', // 126 strips, tables in the header block
    'images/cellprofiler_examples/ExampleSpeckles/images/1-162hrh2ax2.tif', // big-endian, 334 strips, tables at the end
  ]) {
    server.log.length = 0;
    const name = rel.split('/').at(-1) as string;
    await copyFile(sharedPath(rel), join(dir, name));
    const file = readFileSync(join(dir, name));
    const { offsets, counts, tables } = layout(file);
    await sameAsLocal(join(dir, name), `${server.url}/${name}`);
    const stripEnd = Math.max(...offsets.map((o, k) => o + counts[k]));
    const outside = tables.filter(([a]) => a > 65535);
    const spans = server.log.map((l) => span(l.range));
    assert.deepEqual(spans[0], [0, 65535], `${name}: the header block first`);
    // the values lie together after the strips here: one request for all of them (to the end of
    // the file, a few bytes on)
    if (outside.length > 0) assert.equal(spans[1][0], Math.min(...outside.map(([a]) => a)), name);
    assert.equal(spans.length, outside.length > 0 ? 3 : 2, `${name}: ${JSON.stringify(spans)}`);
    // then every strip not in the header block, in one request
    const last = spans.at(-1) as [number, number];
    assert.equal(last[0], 65536, name);
    assert.ok(last[1] >= stripEnd - 1, name);
    // every byte of the file once, no more
    assert.equal(
      spans.reduce((n, [a, b]) => n + b - a + 1, 0),
      file.length,
      name,
    );
  }
});

test('one page of a multi-page OME-TIFF: only that page’s strips are fetched, each page as read locally', async () => {
  const w = 512;
  const h = 512;
  const pages = Array.from({ length: 6 }, (_, p) => {
    const d = new Uint8Array(w * h);
    for (let i = 0; i < d.length; i++) d[i] = (p * 40 + (i % 251)) & 0xff;
    return d;
  });
  const xml =
    '<?xml version="1.0"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" SizeX="512" SizeY="512" SizeC="2" SizeZ="3" SizeT="1">' +
    '<Channel ID="Channel:0:0" Name="DNA" SamplesPerPixel="1"/><Channel ID="Channel:0:1" Name="Actin" SamplesPerPixel="1"/>' +
    '</Pixels></Image></OME>';
  const path = join(dir, 'stack.ome.tif');
  const bytes = writeTiffPages(pages, w, h, xml);
  await writeFile(path, bytes);
  const url = `${server.url}/stack.ome.tif`;
  // c=1, z=1 is page 4 (XYZCT: z + 3·c)
  const got = await decodeImage(`${url}#c=1&z=1`);
  assert.deepEqual(got.data, pages[4]);
  assert.equal(got.page, 4);
  // requests: the header block, one block at each directory up to page 4's (each follows its
  // page's pixels here), the OME-XML (before directory 0), then the rest of page 4's strip, in one
  const { ifds } = layout(bytes);
  const xmlAt = bytes.indexOf('<?xml');
  const page4 = bytes.indexOf(Buffer.from(pages[4]));
  const spans = server.log.map((l) => span(l.range));
  assert.deepEqual(spans[0], [0, 65535], 'the header block');
  assert.deepEqual(
    spans
      .slice(1, -1)
      .map(([a]) => a)
      .sort((a, b) => a - b),
    [ifds[0] < xmlAt ? ifds[0] : xmlAt, ...ifds.slice(0, 5)].sort((a, b) => a - b),
    `the OME-XML and directories 0–4: ${JSON.stringify(spans)}`,
  );
  assert.equal(spans.at(-1)?.[1], page4 + w * h - 1, 'the last request ends with page 4’s strip');
  assert.ok((spans.at(-1)?.[0] ?? 0) > page4, 'and starts where the directory block before it ended');
  assert.ok(fetchStats.bytes < bytes.length * 0.7, `${fetchStats.bytes} of ${bytes.length} bytes fetched`);
  const sorted = [...spans].sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i][0] > sorted[i - 1][1], 'no byte asked twice');
  // every page, as a page number or by selectors, is the page read locally
  for (let p = 0; p < 6; p++) await sameAsLocal(path, url, p);
  for (const sel of ['#c=0&z=0', '#c=1&z=2', '#c=0']) {
    const local = await decodeImage(`${path}${sel}`);
    assert.deepEqual((await decodeImage(`${url}${sel}`)).data, local.data, sel);
  }
});

test('a real 100-page TIFF (LZW): a page from the first block costs one request; a page past the end names the count', async () => {
  const rel = 'images/fret_ibra_examples/examples/YC_3_sub/YC_3_sub_ratio_back.tif';
  await copyFile(sharedPath(rel), join(dir, 'fret.tif'));
  const url = `${server.url}/fret.tif`;
  await sameAsLocal(join(dir, 'fret.tif'), url, 3);
  assert.equal(server.log.length, 1, 'page 3 lies in the header block');
  await sameAsLocal(join(dir, 'fret.tif'), url, 99);
  const local = await decodeImage(join(dir, 'fret.tif'), { page: 100 }).catch((e: unknown) => e);
  const remote = await decodeImage(url, { page: 100 }).catch((e: unknown) => e);
  assert.ok(local instanceof ImageError && remote instanceof ImageError);
  assert.equal(remote.kind, 'bad-page');
  assert.equal(remote.reason, local.reason);
});

test('BigTIFF, 16-bit, 4 pages (libvips): each page over HTTP is the page read locally, for part of the bytes', async () => {
  const w = 640;
  const h = 480;
  const px = new Uint16Array(w * h * 4);
  for (let i = 0; i < px.length; i++) px[i] = (i * 13) % 60000;
  const path = join(dir, 'pages.btf.tif');
  await sharp(px, { raw: { width: w, height: h * 4, channels: 1, pageHeight: h } })
    .toColourspace('grey16')
    .tiff({ compression: 'none', bigtiff: true })
    .toFile(path);
  const size = readFileSync(path).length;
  for (let p = 0; p < 4; p++) {
    resetFetchStats();
    await sameAsLocal(path, `${server.url}/pages.btf.tif`, p);
    assert.ok(fetchStats.bytes < size, `page ${p}: ${fetchStats.bytes} of ${size} bytes`);
  }
});

test('whole-file buffers reused from read to read (as build workers do) never mix two files', async () => {
  // libvips's cache off, as in a build worker: the condition for reuse
  sharp.cache(false);
  reuseFileBuffers(true);
  try {
    const rels = [
      'images/cellprofiler_examples/ExampleFly/images/01_POS002_D.TIF',
      'images/cellprofiler_examples/ExampleFly/images/01_POS002_F.TIF',
      'images/cellprofiler_examples/ExampleFly/images/01_POS002_R.TIF',
      'images/cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00d0.tif',
      'images/cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00d1.tif',
    ];
    const names: string[] = [];
    for (const rel of rels) {
      const name = `reuse-${rel.split('/').at(-1)}`;
      await copyFile(sharedPath(rel), join(dir, name));
      names.push(name);
    }
    const want = await Promise.all(names.map((n) => decodeImage(join(dir, n))));
    for (let round = 0; round < 3; round++) {
      // several in flight at once, in another order each round
      const order = names.map((_, i) => (i * (round + 2)) % names.length);
      const got = await Promise.all(order.map((i) => decodeImage(`${server.url}/${names[i]}`)));
      got.forEach((g, k) => assert.deepEqual(g.data, want[order[k]].data, `${names[order[k]]}, round ${round}`));
    }
  } finally {
    reuseFileBuffers(false);
    sharp.cache(true);
  }
});

test('a server that ignores Range, and a PNG: the whole file in one request', async () => {
  const plain = await serveFolder(dir, { ranges: false });
  try {
    await copyFile(sharedPath('images/cellprofiler_examples/ExampleFly/images/01_POS002_F.TIF'), join(dir, 'f.tif'));
    await sameAsLocal(join(dir, 'f.tif'), `${plain.url}/f.tif`);
    assert.equal(plain.totalRequests(), 1);
  } finally {
    await plain.close();
  }
  const png = join(dir, 'small.png');
  await sharp(Buffer.alloc(64 * 64, 9), { raw: { width: 64, height: 64, channels: 1 } })
    .png()
    .toFile(png);
  await sameAsLocal(png, `${server.url}/small.png`);
  assert.deepEqual(server.log, [{ path: '/small.png', range: null }]);
});

test('the cache: a whole file read by ranges is kept as one file, read again like a local one', async () => {
  const cacheDir = join(dir, 'cache-whole');
  configureFetch({ cacheDir });
  await copyFile(sharedPath('images/cellprofiler_examples/ExampleFly/images/01_POS002_R.TIF'), join(dir, 'r.tif'));
  const url = `${server.url}/r.tif`;
  await sameAsLocal(join(dir, 'r.tif'), url);
  const sent = server.log.length;
  assert.equal(sent, 2);
  // one body: the file itself (not its two ranges beside it)
  const blobs = join(cacheDir, 'blobs');
  const { readdirSync } = await import('node:fs');
  const stored = readdirSync(blobs).flatMap((d) => readdirSync(join(blobs, d)).map((f) => join(blobs, d, f)));
  assert.equal(stored.length, 1);
  assert.ok(readFileSync(stored[0]).equals(readFileSync(join(dir, 'r.tif'))));
  configureFetch({ cacheDir }); // as a new process would
  resetFetchStats();
  await sameAsLocal(join(dir, 'r.tif'), url);
  assert.equal(server.log.length, sent, 'no request');
  assert.equal(fetchStats.cacheHits, 1);
});

test('a file replaced between two reads, part of it still in the cache: read again from the server', async () => {
  const cacheDir = join(dir, 'cache');
  configureFetch({ cacheDir });
  const sub = join(dir, 'changing');
  await mkdir(sub);
  const path = join(sub, 'c.ome.tif');
  const xml = (size: number): string =>
    `<?xml version="1.0"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" SizeX="${size}" SizeY="${size}" SizeC="2" SizeZ="3" SizeT="1"></Pixels></Image></OME>`;
  const stack = (size: number, base: number): Uint8Array[] =>
    Array.from({ length: 6 }, (_, p) => new Uint8Array(size * size).map((_, i) => (base + p * 30 + (i % 97)) & 0xff));
  const v1 = stack(400, 0);
  const v2 = stack(450, 7);
  await writeFile(path, writeTiffPages(v1, 400, 400, xml(400)));
  const url = `${server.url}/changing/c.ome.tif#c=1&z=1`;
  assert.deepEqual((await decodeImage(url)).data, v1[4]);
  // the file changes (new size, new ETag); the cache loses the pixels' entry but keeps the others
  await writeFile(path, writeTiffPages(v2, 450, 450, xml(450)));
  const last = span(server.log.at(-1)?.range ?? null);
  const key = DiskCache.keyOf(`${server.url}/changing/c.ome.tif`, { offset: last[0], length: last[1] - last[0] + 1 });
  rmSync(join(cacheDir, 'keys', key.slice(0, 2), key));
  server.log.length = 0;
  const got = await decodeImage(url);
  assert.deepEqual([got.width, got.height], [450, 450]);
  assert.deepEqual(got.data, v2[4]);
  assert.ok(server.log.length > 1);
});
