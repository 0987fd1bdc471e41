// One remote file read by byte ranges, for a reader that knows which bytes it needs (a TIFF's
// header, directories and strips: src/imaging/tiff-ranges.ts). It remembers the spans it holds, so
// no byte is asked twice; spans asked together are sorted and merged when the gap between them is
// small (COALESCE_GAP: a gap's bytes cost less than a request), so a whole image's adjacent strips
// come in one request. Every response must agree on the file's size and validator (ETag or
// Last-Modified, see disk-cache.ts): one that does not means the file changed between two requests
// (or the cache held an older version of part of it), and the read ends in FileChanged so the
// caller can start again without the cache.
// Once the size is known (after the first response), a file up to DIRECT_LIMIT gets one buffer of
// its size, and every later response is read straight into its place there: a whole-file read
// then hands the decoder that buffer, with no copy and no other large allocation (fresh large
// buffers cost page faults and garbage collections, which showed in a build's time).
// Responses are not written to the disk cache as they come: commit() writes the whole file as one
// entry when the reader ended up with all of it (the next read then decodes the cache's file by
// its path, see cachedFilePath), else each response under its own range.
import { giveBuffer, takeBuffer } from './buffer-pool.js';
import { fetchResource, storeFetched, type Fetched } from './http.js';

export interface Span {
  offset: number;
  length: number;
}

/** Spans closer than this are fetched as one request. */
export const COALESCE_GAP = 64 * 1024;

/** The least a metadata read fetches: directories and their tables usually lie together. */
export const READ_BLOCK = 64 * 1024;

/** Files up to this size are read into one buffer of their size; larger ones span by span. */
export const DIRECT_LIMIT = 512 * 1024 * 1024;

export class FileChanged extends Error {
  constructor(readonly url: string) {
    super(`${url}: the file changed on the server while it was read`);
    this.name = 'FileChanged';
  }
}

export class RangedFile {
  /** Bytes held, by offset (sorted, not overlapping); views of `buf` when there is one. */
  private held: Array<{ offset: number; bytes: Uint8Array }> = [];
  /** The whole file's buffer (see DIRECT_LIMIT), where responses are read into place. */
  private buf: Uint8Array | null = null;
  /** The file's size, once a response said it. */
  total: number | null = null;
  validator: string | null = null;
  /** Set when a server answered a range with the whole file (then everything is held). */
  whole = false;
  /** Requests this file made (cache hits included). */
  requests = 0;
  /** Responses from the server, not yet in the disk cache. */
  private unstored: Array<{ range: Span; res: Fetched }> = [];

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
    if (this.buf) {
      if (this.gaps([{ offset, length: end - offset }]).length > 0)
        throw new Error(`bytes ${offset}–${end} of ${this.url} are not all held`);
      return this.buf.subarray(offset, end);
    }
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
      const res = (await fetchResource(this.url, { fresh: this.fresh, store: false })) as Fetched;
      this.accept({ offset: 0, length: res.bytes.length }, { ...res, whole: true });
    } else await this.fetch([{ offset: 0, length: this.total }]);
    return this.bytes(0, this.total as number);
  }

  /** Fetches what of these spans is not held: merged across small gaps, the requests in parallel. */
  async fetch(spans: Span[], gap = COALESCE_GAP): Promise<void> {
    const missing = this.gaps(spans);
    // small gaps to what is held, to the file's start and to its end are fetched too, so that the
    // pieces join up (a single-page TIFF read for all its strips ends up held whole, in one piece)
    const edges = [0, ...this.held.flatMap((h) => [h.offset, h.offset + h.bytes.length])];
    if (this.total !== null) edges.push(this.total);
    for (const m of missing) {
      const start = Math.max(...edges.filter((e) => e <= m.offset && m.offset - e <= gap), m.offset - gap - 1);
      if (start >= m.offset - gap) {
        m.length += m.offset - start;
        m.offset = start;
      }
      const end = m.offset + m.length;
      const next = Math.min(...edges.filter((e) => e >= end && e - end <= gap));
      if (next !== Number.POSITIVE_INFINITY) m.length = next - m.offset;
    }
    missing.sort((a, b) => a.offset - b.offset);
    const merged: Span[] = [];
    for (const s of missing) {
      const prev = merged[merged.length - 1];
      if (prev && s.offset - (prev.offset + prev.length) <= gap)
        prev.length = Math.max(prev.length, s.offset + s.length - prev.offset);
      else merged.push({ ...s });
    }
    // bridge a merged gap with bytes already held: fetch only what is not (no byte twice)
    const requests = this.gaps(merged);
    const buf = this.buf;
    const got = await Promise.all(
      requests.map(async (r) => ({
        r,
        res: await fetchResource(this.url, {
          range: r,
          fresh: this.fresh,
          into: buf ? buf.subarray(r.offset, r.offset + r.length) : undefined,
          store: false,
        }),
      })),
    );
    for (const { r, res } of got) this.accept(r, res as Fetched);
  }

  /**
   * Done with the file: its buffer may serve the next file (buffer-pool.ts). Nothing read from it
   * may be used afterwards.
   */
  release(): void {
    const buf = this.buf;
    this.buf = null;
    this.held = [];
    this.unstored = [];
    if (buf) giveBuffer(buf);
  }

  /** Writes what came from the server to the disk cache (when there is one): see the header. */
  commit(): void {
    if (this.unstored.length === 0) return;
    const total = this.total;
    if (total !== null && this.has(0, total)) {
      storeFetched(this.url, undefined, {
        bytes: this.bytes(0, total),
        total,
        validator: this.validator,
        whole: false,
      });
    } else for (const { range, res } of this.unstored) storeFetched(this.url, range, res);
    this.unstored = [];
  }

  private accept(r: Span, res: Fetched): void {
    this.requests++;
    if (!res.cached) this.unstored.push({ range: r, res });
    if (this.total !== null && res.total !== null && res.total !== this.total) throw new FileChanged(this.url);
    if (this.validator !== null && res.validator !== null && res.validator !== this.validator)
      throw new FileChanged(this.url);
    this.total ??= res.total;
    this.validator ??= res.validator;
    if (res.whole) {
      this.whole = true;
      this.total = res.bytes.length;
      this.buf = res.bytes;
      this.held = [{ offset: 0, bytes: res.bytes }];
      return;
    }
    // no total said (`Content-Range: bytes a-b/*`): a short answer still tells where the file ends
    if (this.total === null && res.bytes.length < r.length) this.total = r.offset + res.bytes.length;
    let bytes = res.bytes;
    if (this.buf) {
      // read into place already, unless the body did not fit there
      const view = this.buf.subarray(r.offset, r.offset + bytes.length);
      if (bytes.buffer !== this.buf.buffer || bytes.byteOffset !== view.byteOffset) view.set(bytes);
      bytes = view;
    }
    this.insert(r.offset, bytes);
    if (this.buf === null && this.total !== null && this.total <= DIRECT_LIMIT) {
      // the size is known now: one buffer for the file, what is held copied into place
      const buf = takeBuffer(this.total);
      for (const h of this.held) {
        buf.set(h.bytes, h.offset);
        h.bytes = buf.subarray(h.offset, h.offset + h.bytes.length);
      }
      this.buf = buf;
    }
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
