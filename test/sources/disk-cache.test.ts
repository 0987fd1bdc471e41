// The on-disk cache of fetched bytes (`build --cache DIR`): bodies stored once by the sha256 of
// their bytes, a key file per request naming the body and the file's size and validator; the cap
// kept by evicting the least recently used bodies (with the keys that named them); files written
// whole or not at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DiskCache } from '../../src/sources/fetch/disk-cache.js';
import { withTempDir } from '../helpers/data.js';

const bytes = (n: number, size = 1000): Uint8Array => new Uint8Array(size).fill(n);
const key = (url: string, offset?: number): string =>
  DiskCache.keyOf(url, offset === undefined ? undefined : { offset, length: 1000 });

/** Every body file under DIR/blobs. */
function bodies(dir: string): string[] {
  const root = join(dir, 'blobs');
  return readdirSync(root).flatMap((sub) => readdirSync(join(root, sub)).map((f) => join(root, sub, f)));
}

test('content-addressed: two URLs (or ranges) with the same bytes share one body', async () => {
  await withTempDir(async (dir) => {
    const c = new DiskCache(dir, 1e6);
    c.put(key('https://a.example/x.tif'), bytes(7), { total: 1000, validator: '"abc"', whole: false });
    c.put(key('s3-mirror://b/x.tif', 0), bytes(7), { total: 5000, validator: '"def"', whole: false });
    c.put(key('https://a.example/y.tif'), bytes(8));
    assert.equal(bodies(dir).length, 2, 'one body per distinct content');
    assert.equal(c.size, 2000);
    assert.equal(bodies(dir).filter((f) => f.endsWith(DiskCache.digestOf(bytes(7)))).length, 1);
    const fresh = new DiskCache(dir, 1e6); // what the next process sees
    assert.equal(fresh.size, 2000);
    const a = fresh.get(key('https://a.example/x.tif'));
    const b = fresh.get(key('s3-mirror://b/x.tif', 0));
    assert.deepEqual(a?.bytes, bytes(7));
    assert.deepEqual(b?.bytes, bytes(7));
    // each key keeps what its own server said
    assert.deepEqual(a?.meta, { total: 1000, validator: '"abc"', whole: false });
    assert.deepEqual(b?.meta, { total: 5000, validator: '"def"', whole: false });
    assert.equal(fresh.get(key('s3-mirror://b/x.tif', 1000)), undefined, 'another range is another key');
  });
});

test('the cap: the least recently used bodies go, and the keys that named them', async () => {
  await withTempDir(async (dir) => {
    const c = new DiskCache(dir, 3000);
    const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 5));
    c.put(key('a'), bytes(1));
    await pause();
    c.put(key('b'), bytes(2));
    c.put(key('b2'), bytes(2)); // same body as b
    await pause();
    c.put(key('c'), bytes(3));
    await pause();
    assert.ok(c.get(key('a'))); // a is now the most recent
    c.put(key('d'), bytes(4));
    // 4000 bytes > 3000: down to 90 % of the cap, least recently used first (b's body, then c)
    assert.equal(c.size, 2000);
    const fresh = new DiskCache(dir, 3000);
    assert.equal(fresh.get(key('b')), undefined, 'b was the least recently used');
    assert.equal(fresh.get(key('b2')), undefined, 'b2 named the same body');
    assert.equal(fresh.get(key('c')), undefined);
    assert.deepEqual(fresh.get(key('a'))?.bytes, bytes(1));
    assert.deepEqual(fresh.get(key('d'))?.bytes, bytes(4));
    const keys = readdirSync(join(dir, 'keys')).flatMap((s) => readdirSync(join(dir, 'keys', s)));
    assert.equal(keys.length, 2, 'the evicted bodies’ keys were swept');
  });
});

test('crash safety: a half-written temporary file is never read, a key without its body is a miss', async () => {
  await withTempDir(async (dir) => {
    const c = new DiskCache(dir, 1e6);
    c.put(key('u'), bytes(5));
    // a crash mid-write leaves a temporary file beside the body; a reader never takes it
    const digest = DiskCache.digestOf(bytes(9));
    mkdirSync(join(dir, 'blobs', digest.slice(0, 2)), { recursive: true });
    writeFileSync(join(dir, 'blobs', digest.slice(0, 2), `${digest}.123.tmp`), bytes(9, 10));
    const fresh = new DiskCache(dir, 1e6);
    assert.equal(fresh.size, 1000, 'the temporary file is not counted');
    assert.deepEqual(fresh.get(key('u'))?.bytes, bytes(5));
    // a body removed under a key (another process evicted it): a miss, and the key goes
    for (const f of bodies(dir)) if (!f.endsWith('.tmp')) rmSync(f);
    assert.equal(fresh.get(key('u')), undefined);
    const keyFile = join(dir, 'keys', key('u').slice(0, 2), key('u'));
    assert.equal(existsSync(keyFile), false);
    // and the same bytes stored again are found again
    fresh.put(key('u'), bytes(5));
    assert.deepEqual(new DiskCache(dir, 1e6).get(key('u'))?.bytes, bytes(5));
  });
});
