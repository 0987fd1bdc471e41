// A remote TIFF read by byte ranges: its header, the chain of image directories up to the chosen
// page, that page's tag values, then only that page's strips or tiles (page 0 with its directory
// after its pixels, as libvips writes: everything after the header block in one request),
// adjacent ones merged into few requests (src/sources/fetch/ranged-file.ts). When what was read
// covers the whole file (a single-page TIFF read whole: header + strips, merged), the decoder gets
// the file itself; otherwise it gets a small TIFF of that one page, the chosen directory with its
// values and strips laid out anew (classic or BigTIFF, the file's byte order), so a 2 GB
// multi-page file costs one page's bytes. Anything out of the ordinary (a directory past the end,
// strips that run past it, old-style JPEG, a file that is not a TIFF at all) falls back to the
// whole file, so the decoder's verdict and message are those of a local read. Directories after the
// chosen one are counted only as far as the bytes already fetched hold them: `pages` is then a
// lower bound (a page past the end is still reported with the file's true page count).
import { READ_BLOCK, type RangedFile } from '../sources/fetch/ranged-file.js';
import { ImageError } from './image-error.js';
import { sniffContainer } from './sniff.js';
import { TIFF_TYPE_SIZE } from './tiff-field-types.js';

/** What to decode: the whole file (at `page`), or a one-page TIFF standing for page `page` of `pages`. */
export type RangedTiff =
  | { kind: 'file'; bytes: Uint8Array }
  | { kind: 'page'; bytes: Uint8Array; page: number; pages: number };

/** The first request: a TIFF's header, and often its first directory and tag values. */
export const TIFF_HEAD_BYTES = 64 * 1024;

/**
 * Page 0 whose directory lies past the header block, at most this far: the bytes before the
 * directory are taken to be its pixels (as libtiff and libvips write a page: pixels, then
 * directory) and come in one request with the directory, one round trip fewer.
 */
export const PAGE0_AHEAD_BYTES = 16 * 1024 * 1024;

// Tags that point at other parts of the file, not needed for the pixels: dropped from a page copy.
// 288/289 free space, 330 SubIFDs, 34665 Exif, 34853 GPS, 40965 Interoperability.
const POINTER_TAGS = new Set([288, 289, 330, 34665, 34853, 40965]);

interface Entry {
  tag: number;
  type: number;
  count: number;
  /** Value bytes as stored (file byte order); inline values padded to the field's size. */
  value: Uint8Array;
}

function uint(b: Uint8Array, at: number, size: number, le: boolean): number {
  const v = new DataView(b.buffer, b.byteOffset + at, size);
  if (size === 1) return v.getUint8(0);
  if (size === 2) return v.getUint16(0, le);
  if (size === 4) return v.getUint32(0, le);
  return Number(v.getBigUint64(0, le));
}

/** The numbers of a SHORT, LONG or LONG8 entry (undefined for other types). */
function numbers(e: Entry, le: boolean): number[] | undefined {
  const size = e.type === 3 ? 2 : e.type === 4 || e.type === 13 ? 4 : e.type === 16 || e.type === 18 ? 8 : 0;
  if (size === 0) return undefined;
  const out: number[] = new Array(e.count);
  for (let k = 0; k < e.count; k++) out[k] = uint(e.value, k * size, size, le);
  return out;
}

/**
 * Reads page `page` of the TIFF at `file` by ranges. Throws ImageError('bad-page') when the file
 * has fewer pages, with the message a local read gives.
 */
export async function readTiffPage(file: RangedFile, page: number, name: string): Promise<RangedTiff> {
  const whole = async (): Promise<RangedTiff> => ({ kind: 'file', bytes: await file.readAll() });
  const head = await file.read(0, TIFF_HEAD_BYTES);
  if (file.whole || file.total === null || file.total <= head.length) return whole();
  const total = file.total;
  const container = sniffContainer(head);
  if (container !== 'tiff' && container !== 'bigtiff') return whole();
  const le = head[0] === 0x49;
  const big = container === 'bigtiff';
  if (big && (uint(head, 4, 2, le) !== 8 || head.length < 16)) return whole();
  const countSize = big ? 8 : 2;
  const entrySize = big ? 20 : 12;
  const fieldSize = big ? 8 : 4;

  // the directory chain up to the chosen page (and on, while the bytes are held already)
  let off = big ? uint(head, 8, 8, le) : uint(head, 4, 4, le);
  if (page === 0 && off > head.length && off - head.length <= PAGE0_AHEAD_BYTES && off < total)
    await file.fetch([{ offset: head.length, length: off - head.length + READ_BLOCK }]);
  const seen = new Set<number>();
  let pages = 0;
  let chosen: Entry[] | null = null;
  while (off !== 0 && !seen.has(off)) {
    seen.add(off);
    if (chosen !== null && !file.has(off, countSize)) break;
    if (off + countSize > total) {
      if (pages <= page) return whole();
      break;
    }
    const n = uint(await file.read(off, countSize), 0, countSize, le);
    const size = countSize + n * entrySize + fieldSize;
    if (off + size > total) {
      if (pages <= page) return whole();
      break;
    }
    if (chosen !== null && !file.has(off, size)) break;
    const ifd = await file.read(off, size);
    if (pages === page) {
      chosen = [];
      for (let i = 0; i < n; i++) {
        const at = countSize + i * entrySize;
        const type = uint(ifd, at + 2, 2, le);
        const count = uint(ifd, at + 4, big ? 8 : 4, le);
        chosen.push({
          tag: uint(ifd, at, 2, le),
          type,
          count,
          value: ifd.subarray(at + 4 + fieldSize, at + entrySize),
        });
      }
    }
    pages++;
    off = uint(ifd, countSize + n * entrySize, fieldSize, le);
  }
  if (chosen === null) {
    if (pages === 0) return whole();
    throw new ImageError(
      name,
      'bad-page',
      `page ${page} requested but the file has ${pages} page${pages === 1 ? '' : 's'} (pages count from 0)`,
    );
  }

  // the chosen page's values stored elsewhere in the file
  const far: Array<{ e: Entry; offset: number; length: number }> = [];
  for (const e of chosen) {
    const unit = TIFF_TYPE_SIZE[e.type];
    if (unit === undefined) return whole();
    const length = unit * e.count;
    if (length <= fieldSize) continue;
    const offset = uint(e.value, 0, fieldSize, le);
    if (offset + length > total) return whole();
    far.push({ e, offset, length });
  }
  await file.fetch(far);
  for (const f of far) f.e.value = file.bytes(f.offset, f.length);

  const tagOf = (t: number): Entry | undefined => chosen.find((e) => e.tag === t);
  const compression = tagOf(259);
  if (compression && numbers(compression, le)?.[0] === 6) return whole(); // old-style JPEG points elsewhere
  const offsetsEntry = tagOf(273) ?? tagOf(324);
  const countsEntry = tagOf(279) ?? tagOf(325);
  const offsets = offsetsEntry && numbers(offsetsEntry, le);
  const counts = countsEntry && numbers(countsEntry, le);
  if (!offsets || !counts || offsets.length !== counts.length) return whole();
  const strips: Array<{ offset: number; length: number }> = [];
  for (let k = 0; k < offsets.length; k++) {
    if (offsets[k] + counts[k] > total) return whole(); // truncated: the local read's message
    if (counts[k] > 0) strips.push({ offset: offsets[k], length: counts[k] });
  }
  await file.fetch(strips);
  if (file.has(0, total)) return { kind: 'file', bytes: file.bytes(0, total) };
  return {
    kind: 'page',
    bytes: pageTiff(file, chosen, offsetsEntry as Entry, offsets, counts, le, big),
    page,
    pages,
  };
}

/** A TIFF of one directory: header, the directory, its values, its strips (new offsets). */
function pageTiff(
  file: RangedFile,
  entries: Entry[],
  offsetsEntry: Entry,
  offsets: number[],
  counts: number[],
  le: boolean,
  big: boolean,
): Uint8Array {
  const kept = entries.filter((e) => !POINTER_TAGS.has(e.tag) && e.type !== 13 && e.type !== 18);
  const countSize = big ? 8 : 2;
  const entrySize = big ? 20 : 12;
  const fieldSize = big ? 8 : 4;
  const offsetType = big ? 16 : 4;
  const offsetUnit = big ? 8 : 4;
  const headerSize = big ? 16 : 8;
  const ifdSize = countSize + kept.length * entrySize + fieldSize;
  const align = (n: number): number => (n + 7) & ~7;
  // values area
  let cursor = align(headerSize + ifdSize);
  const valueAt = new Map<Entry, number>();
  for (const e of kept) {
    const length = e === offsetsEntry ? offsetUnit * e.count : TIFF_TYPE_SIZE[e.type] * e.count;
    if (length <= fieldSize) continue;
    valueAt.set(e, cursor);
    cursor = align(cursor + length);
  }
  const stripAt: number[] = new Array(offsets.length).fill(0);
  for (let k = 0; k < offsets.length; k++) {
    if (counts[k] === 0) continue;
    stripAt[k] = cursor;
    cursor += counts[k];
  }
  const out = new Uint8Array(cursor);
  const v = new DataView(out.buffer);
  const put = (at: number, size: number, n: number): void => {
    if (size === 2) v.setUint16(at, n, le);
    else if (size === 4) v.setUint32(at, n, le);
    else v.setBigUint64(at, BigInt(n), le);
  };
  out[0] = out[1] = le ? 0x49 : 0x4d;
  put(2, 2, big ? 43 : 42);
  if (big) {
    put(4, 2, 8);
    put(8, 8, headerSize);
  } else put(4, 4, headerSize);
  let at = headerSize;
  put(at, countSize, kept.length);
  at += countSize;
  for (const e of kept) {
    const isOffsets = e === offsetsEntry;
    put(at, 2, e.tag);
    put(at + 2, 2, isOffsets ? offsetType : e.type);
    put(at + 4, fieldSize, e.count);
    const field = at + 4 + fieldSize;
    const place = valueAt.get(e);
    if (isOffsets) {
      const base = place ?? field;
      for (let k = 0; k < stripAt.length; k++) put(base + k * offsetUnit, offsetUnit, stripAt[k]);
    } else if (place === undefined) out.set(e.value.subarray(0, fieldSize), field);
    else out.set(e.value, place);
    if (place !== undefined) put(field, fieldSize, place);
    at += entrySize;
  }
  put(at, fieldSize, 0); // no next directory
  for (let k = 0; k < offsets.length; k++) if (counts[k] > 0) out.set(file.bytes(offsets[k], counts[k]), stripAt[k]);
  return out;
}
