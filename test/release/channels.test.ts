// `build --keep-channels` (docs/build.md "Keeping the channels"): each channel of every released
// window as a 16-bit PNG, normalised per channel over that window; merged outputs unchanged.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import sharp from 'sharp';
import tar from 'tar-stream';
import { buildRelease } from '../../src/release/build-release.js';
import { METADATA_COLUMNS } from '../../src/release/release-tables.js';
import { decodeImage, toGray } from '../../src/imaging/index.js';
import { makeFixture, treeDigest, type Fixture } from './fixture.js';

const quiet = { progress: false, log: (): void => undefined };
type Row = Record<string, string>;

let root: string;
let fx: Fixture;
let withCh: string;
let without: string;
let meta: Row[];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cytoimagenet-channels-'));
  fx = await makeFixture(root, { lite: true });
  withCh = join(root, 'with');
  without = join(root, 'without');
  const common = { catalog: fx.catalog, labels: fx.labels, minRelease: 3, format: 'webdataset' as const, ...quiet };
  await buildRelease({ ...common, out: withCh, workers: 2, keepChannels: true, samplesPerShard: 5 });
  await buildRelease({ ...common, out: without, workers: 2, samplesPerShard: 5 });
  meta = parse(await readFile(join(withCh, 'metadata.csv')), { columns: true }) as Row[];
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('merged outputs are byte-identical with and without --keep-channels', async () => {
  const a = await treeDigest(withCh);
  const b = await treeDigest(without);
  const merged = [...b.keys()].filter((p) => p.endsWith('.png'));
  assert.ok(merged.length > 10);
  for (const p of merged) assert.equal(a.get(p), b.get(p), p);
  // metadata: the same rows, plus the two channel columns
  const plain = parse(await readFile(join(without, 'metadata.csv')), { columns: true }) as Row[];
  assert.equal(meta.length, plain.length);
  const header = (await readFile(join(withCh, 'metadata.csv'), 'utf8')).split('\n')[0];
  assert.equal(header, [...METADATA_COLUMNS, 'channel_names', 'channel_files'].join(','));
  meta.forEach((r, i) => {
    const { channel_names, channel_files, ...rest } = r;
    assert.deepEqual(rest, plain[i]);
    assert.ok(channel_names && channel_files);
  });
});

/** numpy.percentile(values, q) with the default linear method, written out here. */
function npPercentile(sorted: Float64Array, q: number): number {
  const v = (q / 100) * (sorted.length - 1);
  const k = Math.floor(v);
  const k1 = Math.min(k + 1, sorted.length - 1);
  return sorted[k] + (sorted[k1] - sorted[k]) * (v - k);
}

/** One source channel as gray values, decoded by the imaging library (its decoders are tested in test/imaging). */
async function grayOf(file: string): Promise<{ data: Float64Array; width: number }> {
  const g = toGray(await decodeImage(file));
  return { data: Float64Array.from(g.data, (v) => v / g.divisor), width: g.width };
}

test('each channel PNG equals a numpy-style per-channel normalisation of the crop window, within 1 level', async () => {
  const files = new Map(fx.rows.map((r) => [r.idx, r.files]));
  let checked = 0;
  for (const r of meta) {
    const sources = (files.get(r.source_idx) as string[]).map((f) => (f.startsWith('/') ? f : join(root, 'images', f)));
    const channelFiles = r.channel_files.split('|');
    assert.equal(channelFiles.length, sources.length, r.idx);
    assert.equal(r.channel_names.split('|').length, sources.length);
    for (const [k, cf] of channelFiles.entries()) {
      assert.equal(cf, `${r.path}/channels/${r.filename.replace(/\.png$/, '')}_c${k}.png`);
      const png = sharp(join(withCh, cf));
      const m = await png.metadata();
      assert.equal(m.depth, 'ushort', cf);
      assert.equal(m.channels, 1);
      const decoded = await decodeImage(join(withCh, cf));
      assert.equal(decoded.bitDepth, 16);
      const got = decoded.data;
      const src = await grayOf(sources[k]);
      const x0 = r.crop === 'true' ? Number(r.x_min) : 0;
      const y0 = r.crop === 'true' ? Number(r.y_min) : 0;
      const w = r.crop === 'true' ? Number(r.x_max) - x0 : src.width;
      const h = r.crop === 'true' ? Number(r.y_max) - y0 : src.data.length / src.width;
      assert.equal(m.width, w);
      assert.equal(m.height, h);
      const win = new Float64Array(w * h);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) win[y * w + x] = src.data[(y0 + y) * src.width + x0 + x];
      const sorted = Float64Array.from(win).sort();
      const lo = npPercentile(sorted, 0.1);
      const hi = npPercentile(sorted, 99.9);
      let worst = 0;
      for (let i = 0; i < win.length; i++) {
        const want = hi > lo ? Math.round(Math.min(1, Math.max(0, (win[i] - lo) / (hi - lo))) * 65535) : 0;
        worst = Math.max(worst, Math.abs(got[i] - want));
      }
      assert.ok(worst <= 1, `${cf}: off by ${worst} levels`);
      checked++;
    }
  }
  assert.ok(checked >= meta.length, `${checked} channel images checked`);
});

test('--keep-channels works with --format webdataset: each sample carries <key>.c<k>.png', async () => {
  const index = JSON.parse(await readFile(join(withCh, 'shards', 'index.json'), 'utf8')) as {
    members: string[];
    shards: { file: string }[];
  };
  assert.ok(index.members.some((m) => m.startsWith('c<k>.png')));
  let samples = 0;
  for (const s of index.shards) {
    const members = new Map<string, Buffer>();
    const extract = tar.extract();
    extract.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        members.set(h.name, Buffer.concat(chunks));
        next();
      });
    });
    await new Promise<void>((res, rej) => {
      extract.on('finish', res);
      extract.on('error', rej);
      createReadStream(join(withCh, 'shards', s.file)).pipe(extract);
    });
    for (const [name, body] of members) {
      if (!name.endsWith('.json')) continue;
      const key = name.slice(0, -'.json'.length);
      const row = JSON.parse(body.toString()) as Row;
      const channelFiles = row.channel_files.split('|');
      for (const [k, f] of channelFiles.entries())
        assert.deepEqual(members.get(`${key}.c${k}.png`), await readFile(join(withCh, f)), `${key}.c${k}.png`);
      assert.equal(members.has(`${key}.c${channelFiles.length}.png`), false);
      samples++;
    }
  }
  assert.equal(samples, meta.length);
});
