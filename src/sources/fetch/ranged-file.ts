// One remote file read by byte ranges, for a reader that knows which bytes it needs (a TIFF's
// header, directories and strips: src/imaging/tiff-ranges.ts). It remembers the spans it holds, so
// no byte is asked twice; spans asked together are sorted and merged when the gap between them is
// small (COALESCE_GAP: a gap's bytes cost less than a request), so a whole image's adjacent strips
// come in one request. Every response must agree on the file's size and validator (ETag or
// Last-Modified, see disk-cache.ts): one that does not means the file changed between two requests
// (or the cache held an older version of part of it), and the read ends in FileChanged so the
// caller can start again without the cache.
import { fetchResource, type Fetched } from './http.js';

export interface Span {
  offset: number;
  length: number;
}

/** Spans closer than this are fetched as one request. */
export const COALESCE_GAP = 64 * 1024;

/** The least a metadata read fetches: directories and their tables usually lie together. */
export const READ_BLOCK = 64 * 1024;

export class FileChanged extends Error {
  constructor(readonly url: string) {
    super(`${url}: the file changed on the server while it was read`);
    this.name = 'FileChanged';
  }
}

export class RangedFile {
  /** Bytes held, by offset (sorted, not overlapping). */
  private held: Array<{ offset: number; bytes: Uint8Array }> = [];
  /** The file's size, once a response said it. */
  total: number | null = null;
  validator: string | null = null;
  /** Set when a server answered a range with the whole file (then everything is held). */
  whole = false;
  /** Requests this file made (cache hits included). */
  requests = 0;

  constructor(
    readonly url: string,
    /** Skip the cache's copy (after FileChanged). */
    readonly fresh = false,
  ) {}

  /** Whether [offset, offset + length) is held. */
  has(offset: number, length: number): boolean {
    return this.gaps([{ offset, length }]).length === 0;
  }

  /** Held bytes at [offset, offset + length), clipped to the file's end (a view when one span holds them). */
  bytes(offset: number, length: number): Uint8Array {
    const end = Math.min(offset + length, this.total ?? offset + length);
    if (end <= offset) return new Uint8Array(0);
    for (const h of this.held)
      if (h.offset <= offset && end <= h.offset + h.bytes.length)
        return h.bytes.subarray(offset - h.offset, end - h.offset);
    const out = new Uint8Array(end - offset);
    let filled = 0;
    for (const h of this.held) {
      const a = Math.max(offset, h.offset);
      const b = Math.min(end, h.offset + h.bytes.length);
      if (a >= b) continue;
      out.set(h.bytes.subarray(a - h.offset, b - h.offset), a - offset);
      filled += b - a;
    }
    if (filled !== out.length) throw new Error(`bytes ${offset}–${end} of ${this.url} are not all held`);
    return out;
  }

  /** Bytes at offset (fewer at the end of the file), fetching what is missing, at least `block` bytes of it. */
  async read(offset: number, length: number, block = READ_BLOCK): Promise<Uint8Array> {
    if (length <= 0) return new Uint8Array(0);
    if (!this.has(offset, length)) {
      const missing = this.gaps([{ offset, length }]);
      const first = missing[0].offset;
      const last = missing[missing.length - 1];
      await this.fetch([{ offset: first, length: Math.max(block, last.offset + last.length - first) }]);
    }
    return this.bytes(offset, length);
  }

  /** The whole file (one request for what is not held yet). */
  async readAll(): Promise<Uint8Array> {
    if (this.total === null) await this.read(0, 1);
    if (this.total === null) {
      // the server never said the size: one plain GET
      const res = (await fetchResource(this.url, { fresh: this.fresh })) as Fetched;
      this.accept({ offset: 0, length: res.bytes.length }, { ...res, whole: true });
    } else await this.fetch([{ offset: 0, length: this.total }]);
    return this.bytes(0, this.total as number);
  }

  /** Fetches what of these spans is not held: merged across small gaps, the requests in parallel. */
  async fetch(spans: Span[], gap = COALESCE_GAP): Promise<void> {
    const missing = this.gaps(spans);
    const merged: Span[] = [];
    for (const s of missing) {
      const prev = merged[merged.length - 1];
      if (prev && s.offset - (prev.offset + prev.length) <= gap)
        prev.length = Math.max(prev.length, s.offset + s.length - prev.offset);
      else merged.push({ ...s });
    }
    // bridge a merged gap with bytes already held: fetch only what is not (no byte twice)
    const requests = this.gaps(merged);
    const got = await Promise.all(
      requests.map(async (r) => ({ r, res: await fetchResource(this.url, { range: r, fresh: this.fresh }) })),
    );
    for (const { r, res } of got) this.accept(r, res as Fetched);
  }

  private accept(r: Span, res: Fetched): void {
    this.requests++;
    if (this.total !== null && res.total !== null && res.total !== this.total) throw new FileChanged(this.url);
    if (this.validator !== null && res.validator !== null && res.validator !== this.validator)
      throw new FileChanged(this.url);
    this.total ??= res.total;
    this.validator ??= res.validator;
    if (res.whole) {
      this.whole = true;
      this.total = res.bytes.length;
      this.held = [{ offset: 0, bytes: res.bytes }];
      return;
    }
    // no total said (`Content-Range: bytes a-b/*`): a short answer still tells where the file ends
    if (this.total === null && res.bytes.length < r.length) this.total = r.offset + res.bytes.length;
    this.insert(r.offset, res.bytes);
  }

  private insert(offset: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    // requests are made for gaps only, so a new span never overlaps a held one
    let i = 0;
    while (i < this.held.length && this.held[i].offset < offset) i++;
    this.held.splice(i, 0, { offset, bytes });
  }

  /** The parts of these spans (clipped to the file's end) not held, sorted. */
  private gaps(spans: Span[]): Span[] {
    const end = this.total ?? Number.POSITIVE_INFINITY;
    const sorted = spans
      .map((s) => ({ offset: s.offset, length: Math.min(s.offset + s.length, end) - s.offset }))
      .filter((s) => s.length > 0)
      .sort((a, b) => a.offset - b.offset);
    const out: Span[] = [];
    for (const s of sorted) {
      let at = s.offset;
      const stop = s.offset + s.length;
      for (const h of this.held) {
        const hEnd = h.offset + h.bytes.length;
        if (hEnd <= at) continue;
        if (h.offset >= stop) break;
        if (h.offset > at) out.push({ offset: at, length: h.offset - at });
        at = Math.max(at, hEnd);
        if (at >= stop) break;
      }
      if (at < stop) out.push({ offset: at, length: stop - at });
    }
    // overlapping asks: merge what overlaps, so no byte is requested twice
    const merged: Span[] = [];
    for (const s of out) {
      const prev = merged[merged.length - 1];
      if (prev && s.offset <= prev.offset + prev.length)
        prev.length = Math.max(prev.length, s.offset + s.length - prev.offset);
      else merged.push({ ...s });
    }
    return merged;
  }
}
