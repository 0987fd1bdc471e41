// The on-disk cache of fetched bytes (`build --cache DIR`), content-addressed: a body is stored once,
// under the sha256 of its bytes (DIR/blobs/ab/<digest>), and each request (URL and byte range) has
// a small key file (DIR/keys/cd/<sha256 of the request>) naming the digest with what the server
// said about the file: its total size and validator (ETag, else Last-Modified), so a reader of
// several ranges can tell that they all came from one version of the file. Two URLs with the same
// bytes (a mirror, an s3:// and an https:// name of one object) share one body.
// Size-capped: when the bodies pass the cap, the least recently used go (down to 90 % of it, so
// eviction is not paid on every insert), with the key files that named them. Several processes
// (build workers) may share one folder: every file is written to a temporary name and renamed, so
// a crash never leaves half a body under its digest, and a body another process evicted is a miss.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** What the server said about the file a cached body came from. */
export interface CachedMeta {
  /** The whole file's size (Content-Range total, or the body's length), when known. */
  total: number | null;
  /** ETag, else Last-Modified: equal validators mean one version of the file. */
  validator: string | null;
  /** The body is the whole file although a range was asked (a server that ignores ranges). */
  whole: boolean;
}

export interface CacheHit {
  bytes: Uint8Array;
  meta: CachedMeta;
}

interface Blob {
  size: number;
  used: number;
}

interface KeyFile extends CachedMeta {
  digest: string;
  size: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX2 = /^[0-9a-f]{2}$/;

export class DiskCache {
  private blobs: Map<string, Blob> | null = null;
  private total = 0;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** The key of a request: its URL and byte range. */
  static keyOf(url: string, range?: { offset: number; length: number }): string {
    const h = createHash('sha256').update(url);
    if (range) h.update(`\u0000${range.offset}+${range.length}`);
    return h.digest('hex');
  }

  static digestOf(bytes: Uint8Array): string {
    return createHash('sha256').update(bytes).digest('hex');
  }

  private blobPath(digest: string): string {
    return join(this.dir, 'blobs', digest.slice(0, 2), digest);
  }

  private keyPath(key: string): string {
    return join(this.dir, 'keys', key.slice(0, 2), key);
  }

  /** Lists the bodies once per process, so the cap counts what earlier runs left. */
  private load(): Map<string, Blob> {
    if (this.blobs) return this.blobs;
    const blobs = new Map<string, Blob>();
    const root = join(this.dir, 'blobs');
    mkdirSync(root, { recursive: true });
    mkdirSync(join(this.dir, 'keys'), { recursive: true });
    for (const sub of readdirSync(root)) {
      if (!HEX2.test(sub)) continue;
      for (const name of readdirSync(join(root, sub))) {
        if (!HEX64.test(name)) {
          // a temporary file a crash left behind (an hour old: no writer is still at it)
          if (/\.tmp$/.test(name)) removeIfOlder(join(root, sub, name), 3_600_000);
          continue;
        }
        try {
          const st = statSync(join(root, sub, name));
          blobs.set(name, { size: st.size, used: st.mtimeMs });
          this.total += st.size;
        } catch {
          // evicted by another process meanwhile
        }
      }
    }
    this.blobs = blobs;
    return blobs;
  }

  /** The body file stored for `key` (marked used), when it is there whole. */
  locate(key: string): string | undefined {
    const blobs = this.load();
    let entry: KeyFile;
    try {
      entry = JSON.parse(readFileSync(this.keyPath(key), 'utf8')) as KeyFile;
    } catch {
      return undefined;
    }
    const p = this.blobPath(entry.digest);
    const now = Date.now();
    try {
      if (statSync(p).size !== entry.size) return undefined;
      utimesSync(p, now / 1000, now / 1000);
    } catch {
      this.forgetBlob(entry.digest);
      rmSync(this.keyPath(key), { force: true });
      return undefined;
    }
    const blob = blobs.get(entry.digest);
    if (blob) blob.used = now;
    else {
      blobs.set(entry.digest, { size: entry.size, used: now });
      this.total += entry.size;
    }
    return p;
  }

  /** The bytes stored for `key`, read into `into` when they fit (a view of it is returned then). */
  get(key: string, into?: Uint8Array): CacheHit | undefined {
    const blobs = this.load();
    let entry: KeyFile;
    try {
      entry = JSON.parse(readFileSync(this.keyPath(key), 'utf8')) as KeyFile;
    } catch {
      return undefined; // never stored, or a key file cut short: a miss either way
    }
    const p = this.blobPath(entry.digest);
    let bytes: Uint8Array;
    try {
      bytes = readBody(p, entry.size, into);
    } catch {
      // its body was evicted (maybe by another process): forget the key too
      this.forgetBlob(entry.digest);
      rmSync(this.keyPath(key), { force: true });
      return undefined;
    }
    if (bytes.length !== entry.size) return undefined;
    const now = Date.now();
    // mtime is the "last used" time other processes (and the next run) see
    try {
      utimesSync(p, now / 1000, now / 1000);
    } catch {
      // evicted just now by another process: the bytes read are still good
    }
    const blob = blobs.get(entry.digest);
    if (blob) blob.used = now;
    else {
      blobs.set(entry.digest, { size: bytes.length, used: now });
      this.total += bytes.length;
    }
    return {
      bytes,
      meta: { total: entry.total ?? null, validator: entry.validator ?? null, whole: entry.whole === true },
    };
  }

  put(key: string, bytes: Uint8Array, meta: CachedMeta = { total: bytes.length, validator: null, whole: false }): void {
    const blobs = this.load();
    if (bytes.length > this.maxBytes) return;
    const digest = DiskCache.digestOf(bytes);
    const p = this.blobPath(digest);
    const now = Date.now();
    const known = blobs.get(digest);
    if (known && existsSync(p)) {
      // the same bytes under another name: one body, touched
      known.used = now;
      try {
        utimesSync(p, now / 1000, now / 1000);
      } catch {
        // evicted meanwhile: written again below on the next put
      }
    } else {
      atomicWrite(p, bytes);
      if (known) this.total -= known.size;
      blobs.set(digest, { size: bytes.length, used: now });
      this.total += bytes.length;
    }
    const entry: KeyFile = { digest, size: bytes.length, ...meta };
    atomicWrite(this.keyPath(key), JSON.stringify(entry));
    if (this.total > this.maxBytes) this.evict(digest);
  }

  /** Bytes of bodies held, as this process knows them. */
  get size(): number {
    this.load();
    return this.total;
  }

  private forgetBlob(digest: string): void {
    const blob = this.blobs?.get(digest);
    if (!blob) return;
    this.total -= blob.size;
    this.blobs?.delete(digest);
  }

  private evict(keep: string): void {
    const blobs = this.load();
    const target = Math.floor(this.maxBytes * 0.9);
    const order = [...blobs.entries()].filter(([d]) => d !== keep).sort((a, b) => a[1].used - b[1].used);
    let evicted = 0;
    for (const [digest, blob] of order) {
      if (this.total <= target) break;
      rmSync(this.blobPath(digest), { force: true });
      blobs.delete(digest);
      this.total -= blob.size;
      evicted++;
    }
    if (evicted > 0) this.sweepKeys();
  }

  /** Removes key files whose body is gone (evicted here or by another process). */
  private sweepKeys(): void {
    const root = join(this.dir, 'keys');
    for (const sub of readdirSync(root)) {
      if (!HEX2.test(sub)) continue;
      for (const name of readdirSync(join(root, sub))) {
        if (!HEX64.test(name)) continue;
        const file = join(root, sub, name);
        try {
          const { digest } = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
          if (!existsSync(this.blobPath(digest))) rmSync(file, { force: true });
        } catch {
          rmSync(file, { force: true }); // unreadable: worthless
        }
      }
    }
  }
}

/** A body file's bytes, read straight into `into` when `size` fits there. */
function readBody(path: string, size: number, into?: Uint8Array): Uint8Array {
  if (!into || size > into.length) {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const fd = openSync(path, 'r');
  try {
    let got = 0;
    while (got < size) {
      const n = readSync(fd, into, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return into.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function removeIfOlder(path: string, ms: number): void {
  try {
    if (Date.now() - statSync(path).mtimeMs > ms) rmSync(path, { force: true });
  } catch {
    // gone already
  }
}

/** Writes under a temporary name, then renames: readers see the old file, the new one, or none. */
function atomicWrite(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(tmp, data);
  }
  renameSync(tmp, path);
}
