// A few hundred bytes of TIFF bookkeeping, read before decoding: page count, and whether every
// strip or tile of the chosen page lies inside the file. libvips and utif2 both fill a cut-off
// TIFF with zeros without complaint; this check makes truncation an error.
import { readSync } from 'node:fs';
import { TIFF_TYPE_SIZE } from './tiff-field-types.js';

export interface TiffLayout {
  width: number;
  height: number;
  bitsPerSample: number;
  samplesPerPixel: number;
  photometric: number;
  /** 1 uint, 2 int, 3 float (TIFF SampleFormat). */
  sampleFormat: number;
  extraSamples: number;
  planar: number;
}

export interface TiffStructure {
  pages: number;
  /** Why the chosen page cannot be complete, or null. */
  problem: string | null;
  /** The chosen page's layout tags (null when it could not be read). */
  layout: TiffLayout | null;
}

/** Random access to a file's bytes: a buffer in memory, or a file read in cached blocks. */
export interface ByteSource {
  readonly length: number;
  byte(offset: number): number;
}

export function bufferSource(b: Uint8Array): ByteSource {
  return { length: b.length, byte: (o) => b[o] };
}

const BLOCK = 1 << 16;

/** A file read on demand in 64 KiB blocks (sync reads of the page cache: microseconds). */
export function fileSource(fd: number, size: number, head: Uint8Array): ByteSource {
  const blocks = new Map<number, Uint8Array>();
  let lastIndex = -1;
  let last: Uint8Array = head;
  return {
    length: size,
    byte(o: number): number {
      if (o < head.length) return head[o];
      const index = Math.floor(o / BLOCK);
      if (index !== lastIndex) {
        let blk = blocks.get(index);
        if (!blk) {
          blk = Buffer.alloc(Math.min(BLOCK, size - index * BLOCK));
          readSync(fd, blk, 0, blk.length, index * BLOCK);
          blocks.set(index, blk);
        }
        last = blk;
        lastIndex = index;
      }
      return last[o - index * BLOCK];
    },
  };
}

export function inspectTiff(src: Uint8Array | ByteSource, page: number): TiffStructure {
  const s = src instanceof Uint8Array ? bufferSource(src) : src;
  const len = s.length;
  if (len < 8) return { pages: 0, problem: 'the file ends inside the TIFF header', layout: null };
  const at = (o: number): number => s.byte(o);
  const le = at(0) === 0x49;
  const u16 = (o: number): number => (le ? at(o) | (at(o + 1) << 8) : (at(o) << 8) | at(o + 1));
  const u32 = (o: number): number =>
    le
      ? (at(o) | (at(o + 1) << 8) | (at(o + 2) << 16)) + at(o + 3) * 0x1000000
      : at(o) * 0x1000000 + ((at(o + 1) << 16) | (at(o + 2) << 8) | at(o + 3));
  let off = u32(4);
  const seen = new Set<number>();
  let pages = 0;
  let problem: string | null = null;
  let layout: TiffLayout | null = null;
  while (off !== 0) {
    if (seen.has(off)) break; // a loop in the IFD chain: stop counting
    seen.add(off);
    if (off + 2 > len) {
      if (pages <= page) problem = `the file ends (${len} bytes) before image directory ${pages}`;
      break;
    }
    const count = u16(off);
    const end = off + 2 + count * 12;
    if (end + 4 > len) {
      if (pages <= page) problem = `the file ends (${len} bytes) inside image directory ${pages}`;
      break;
    }
    if (pages === page) {
      problem = checkStrips(off, count, len, u16, u32);
      layout = readLayout(off, count, u16, u32);
    }
    pages++;
    off = u32(end);
  }
  if (pages === 0 && !problem) problem = 'the TIFF has no image directory';
  return { pages, problem, layout };
}

/** First value of the layout tags (SHORT or LONG stored inline, which they are for one value). */
function readLayout(off: number, count: number, u16: (o: number) => number, u32: (o: number) => number): TiffLayout {
  const v: Record<number, number> = {};
  const counts: Record<number, number> = {};
  for (let i = 0; i < count; i++) {
    const e = off + 2 + i * 12;
    const tag = u16(e);
    if (![256, 257, 258, 262, 277, 284, 338, 339].includes(tag)) continue;
    const type = u16(e + 2);
    const n = u32(e + 4);
    counts[tag] = n;
    // Values are inline when they fit in 4 bytes; for longer arrays (e.g. BitsPerSample of RGB)
    // we only need to know that the samples agree, which the decoder checks.
    if (type === 3 && n <= 2) v[tag] = u16(e + 8);
    else if (type === 4 && n === 1) v[tag] = u32(e + 8);
    else v[tag] = -1;
  }
  return {
    width: v[256] ?? 0,
    height: v[257] ?? 0,
    bitsPerSample: v[258] ?? 1,
    samplesPerPixel: v[277] ?? 1,
    photometric: v[262] ?? -1,
    sampleFormat: v[339] ?? 1,
    extraSamples: counts[338] ?? 0,
    planar: v[284] ?? 1,
  };
}

function checkStrips(
  off: number,
  count: number,
  len: number,
  u16: (o: number) => number,
  u32: (o: number) => number,
): string | null {
  const values = new Map<number, number[] | string>();
  for (let i = 0; i < count; i++) {
    const e = off + 2 + i * 12;
    const tag = u16(e);
    if (tag !== 273 && tag !== 279 && tag !== 324 && tag !== 325) continue;
    const type = u16(e + 2);
    const n = u32(e + 4);
    const size = TIFF_TYPE_SIZE[type] ?? 0;
    if (size !== 2 && size !== 4) continue;
    const bytes = n * size;
    const at = bytes <= 4 ? e + 8 : u32(e + 8);
    if (at + bytes > len) {
      values.set(tag, `the file ends (${len} bytes) before the table of pixel-data offsets`);
      continue;
    }
    const arr: number[] = new Array(n);
    for (let k = 0; k < n; k++) arr[k] = size === 2 ? u16(at + 2 * k) : u32(at + 4 * k);
    values.set(tag, arr);
  }
  const offsets = values.get(273) ?? values.get(324);
  const counts = values.get(279) ?? values.get(325);
  if (typeof offsets === 'string') return offsets;
  if (typeof counts === 'string') return counts;
  if (!offsets || !counts) return null; // let the decoder judge
  for (let k = 0; k < offsets.length; k++) {
    const c = counts[k] ?? 0;
    if (offsets[k] + c > len) return `pixel data runs past the end of the file (${len} bytes)`;
  }
  return null;
}
