// The on-disk cache of fetched bytes (`build --cache DIR`): one file per request, named by the
// sha256 of what was asked for (URL and byte range), so a repeated or resumed build reads from
// disk instead of the network. Size-capped: when the total passes the cap, the least recently
// used files go (down to 90 % of it, so eviction is not paid on every insert). Several processes
// (build workers) may share one folder: files are written to a temporary name and renamed, and a
// file another process evicted is simply a miss.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Item {
  size: number;
  used: number;
}

export class DiskCache {
  private index: Map<string, Item> | null = null;
  private total = 0;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  static keyOf(url: string, range?: { offset: number; length: number }): string {
    const h = createHash('sha256').update(url);
    if (range) h.update(`\u0000${range.offset}+${range.length}`);
    return h.digest('hex');
  }

  private pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), key);
  }

  /** Lists the folder once per process, so the cap counts what earlier runs left. */
  private load(): Map<string, Item> {
    if (this.index) return this.index;
    const index = new Map<string, Item>();
    mkdirSync(this.dir, { recursive: true });
    for (const sub of readdirSync(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(sub)) continue;
      for (const name of readdirSync(join(this.dir, sub))) {
        if (!/^[0-9a-f]{64}$/.test(name)) continue;
        try {
          const st = statSync(join(this.dir, sub, name));
          index.set(name, { size: st.size, used: st.mtimeMs });
          this.total += st.size;
        } catch {
          // evicted by another process meanwhile
        }
      }
    }
    this.index = index;
    return index;
  }

  get(key: string): Uint8Array | undefined {
    const index = this.load();
    const p = this.pathOf(key);
    let bytes: Buffer;
    try {
      bytes = readFileSync(p);
    } catch {
      const gone = index.get(key);
      if (gone) {
        this.total -= gone.size;
        index.delete(key);
      }
      return undefined;
    }
    const now = Date.now();
    // mtime is the "last used" time other processes (and the next run) see
    try {
      utimesSync(p, now / 1000, now / 1000);
    } catch {
      // evicted just now by another process: the bytes read are still good
    }
    const item = index.get(key);
    if (item) item.used = now;
    else {
      index.set(key, { size: bytes.length, used: now });
      this.total += bytes.length;
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  put(key: string, bytes: Uint8Array): void {
    const index = this.load();
    if (bytes.length > this.maxBytes) return;
    const p = this.pathOf(key);
    mkdirSync(join(this.dir, key.slice(0, 2)), { recursive: true });
    const tmp = `${p}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, p);
    const old = index.get(key);
    if (old) this.total -= old.size;
    index.set(key, { size: bytes.length, used: Date.now() });
    this.total += bytes.length;
    if (this.total > this.maxBytes) this.evict(key);
  }

  /** Bytes held, as this process knows them. */
  get size(): number {
    this.load();
    return this.total;
  }

  private evict(keep: string): void {
    const index = this.load();
    const target = Math.floor(this.maxBytes * 0.9);
    const order = [...index.entries()].filter(([k]) => k !== keep).sort((a, b) => a[1].used - b[1].used);
    for (const [key, item] of order) {
      if (this.total <= target) break;
      rmSync(this.pathOf(key), { force: true });
      index.delete(key);
      this.total -= item.size;
    }
  }
}
