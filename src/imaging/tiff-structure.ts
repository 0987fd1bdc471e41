// A few hundred bytes of TIFF bookkeeping, read before decoding: page count, and whether every
// strip or tile of the chosen page lies inside the file. libvips and utif2 both fill a cut-off
// TIFF with zeros without complaint; this check makes truncation an error.

export interface TiffStructure {
  pages: number;
  /** Why the chosen page cannot be complete, or null. */
  problem: string | null;
}

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };

export function inspectTiff(b: Uint8Array, page: number): TiffStructure {
  const len = b.length;
  if (len < 8) return { pages: 0, problem: 'the file ends inside the TIFF header' };
  const le = b[0] === 0x49;
  const u16 = (o: number): number => (le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1]);
  const u32 = (o: number): number => (le ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000 : b[o] * 0x1000000 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]));
  let off = u32(4);
  const seen = new Set<number>();
  let pages = 0;
  let problem: string | null = null;
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
    if (pages === page) problem = checkStrips(b, off, count, len, u16, u32);
    pages++;
    off = u32(end);
  }
  if (pages === 0 && !problem) problem = 'the TIFF has no image directory';
  return { pages, problem };
}

function checkStrips(
  b: Uint8Array,
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
    const size = TYPE_SIZE[type] ?? 0;
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
