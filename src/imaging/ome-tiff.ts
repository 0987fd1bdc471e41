// OME-TIFF: the OME-XML in the first page's ImageDescription names the channels and says how the
// pages are ordered (DimensionOrder, SizeC/Z/T, and TiffData elements where a writer stored the
// planes in another order or across several files), so the #c= #z= #t= selectors of an OME-Zarr
// entry pick a page the same way. Only the first image (series) is read.
import { basename } from 'node:path';
import { ImageError } from './image-error.js';
import type { EntrySelectors } from '../sources/fetch/entry.js';

interface OmePixels {
  order: string;
  sizeC: number;
  sizeZ: number;
  sizeT: number;
  channels: string[];
  /** The image's TiffData blocks (none: plane k is page k). */
  tiffData: TiffData[];
}

/**
 * One TiffData element: `planeCount` planes from (firstC, firstZ, firstT) on, in DimensionOrder,
 * are pages `ifd`, `ifd` + 1, … of file `file` (null: this file). The OME schema's defaults: IFD 0,
 * first positions 0, and as many planes as the file has pages unless an IFD is given (then 1).
 */
interface TiffData {
  ifd: number;
  firstC: number;
  firstZ: number;
  firstT: number;
  planeCount: number;
  /** The other file of a multi-file dataset holding these planes, or null for this one. */
  file: string | null;
}

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export type RangeReader = (offset: number, length: number) => Promise<Uint8Array>;

/**
 * The ImageDescription (tag 270) of the first page, or null (classic and BigTIFF). Reads the
 * header, the first directory and the description only: over HTTP, a few small ranged requests
 * instead of the whole file.
 */
export async function tiffDescription(read: RangeReader): Promise<string | null> {
  const head = await read(0, 16);
  if (head.length < 8) return null;
  const le = head[0] === 0x49 && head[1] === 0x49;
  if (!le && !(head[0] === 0x4d && head[1] === 0x4d)) return null;
  const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const h = view(head);
  const magic = h.getUint16(2, le);
  const big = magic === 43;
  if (!big && magic !== 42) return null;
  if (big && head.length < 16) return null;
  const ifd = big ? Number(h.getBigUint64(8, le)) : h.getUint32(4, le);
  const countBytes = await read(ifd, big ? 8 : 2);
  if (countBytes.length < (big ? 8 : 2)) return null;
  const n = big ? Number(view(countBytes).getBigUint64(0, le)) : view(countBytes).getUint16(0, le);
  const entrySize = big ? 20 : 12;
  const entries = await read(ifd + (big ? 8 : 2), n * entrySize);
  if (entries.length < n * entrySize) return null;
  const e = view(entries);
  for (let i = 0; i < n; i++) {
    const o = i * entrySize;
    if (e.getUint16(o, le) !== 270) continue;
    const count = big ? Number(e.getBigUint64(o + 4, le)) : e.getUint32(o + 4, le);
    const inline = big ? 8 : 4;
    const text =
      count <= inline
        ? entries.subarray(o + (big ? 12 : 8), o + (big ? 12 : 8) + count)
        : await read(big ? Number(e.getBigUint64(o + 12, le)) : e.getUint32(o + 8, le), count);
    return new TextDecoder().decode(text).replace(/\0+$/, '');
  }
  return null;
}

function attr(tag: string, name: string): string | null {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? m[1] : null;
}

const xmlText = (s: string): string =>
  s
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');

export function omePixels(xml: string): OmePixels | null {
  if (!/<OME[\s>]/.test(xml)) return null;
  const image = /<Image[\s>][\s\S]*?<\/Image>/.exec(xml)?.[0] ?? xml;
  const pixels = /<Pixels\s[^>]*>/.exec(image)?.[0];
  if (!pixels) return null;
  const sizeC = Number(attr(pixels, 'SizeC') ?? 1);
  const channels = [...image.matchAll(/<Channel\s[^>]*?\/?>/g)].map((m, i) => {
    const name = attr(m[0], 'Name');
    return name ? xmlText(name) : `c${i}`;
  });
  return {
    order: attr(pixels, 'DimensionOrder') ?? 'XYCZT',
    sizeC,
    sizeZ: Number(attr(pixels, 'SizeZ') ?? 1),
    sizeT: Number(attr(pixels, 'SizeT') ?? 1),
    channels: channels.length === sizeC ? channels : Array.from({ length: sizeC }, (_, i) => channels[i] ?? `c${i}`),
    tiffData: tiffDataOf(image, attr(/<OME\s[^>]*>/.exec(xml)?.[0] ?? '', 'UUID')),
  };
}

/** The TiffData blocks of one Image element; `ownUuid` is the root OME element's UUID (this file). */
function tiffDataOf(image: string, ownUuid: string | null): TiffData[] {
  const blocks: TiffData[] = [];
  for (const m of image.matchAll(/<TiffData(\s[^>]*?)?(\/>|>([\s\S]*?)<\/TiffData>)/g)) {
    const tag = `<TiffData${m[1] ?? ''}>`;
    const num = (name: string): number | null => {
      const v = attr(tag, name);
      return v === null ? null : Number(v);
    };
    const ifd = num('IFD');
    const uuid = m[3] ? /<UUID(\s[^>]*)?>([^<]*)<\/UUID>/.exec(m[3]) : null;
    const fileName = uuid ? attr(`<UUID${uuid[1] ?? ''}>`, 'FileName') : null;
    const sameFile = !uuid || (ownUuid !== null && uuid[2].trim() === ownUuid);
    blocks.push({
      ifd: ifd ?? 0,
      firstC: num('FirstC') ?? 0,
      firstZ: num('FirstZ') ?? 0,
      firstT: num('FirstT') ?? 0,
      planeCount: num('PlaneCount') ?? (ifd === null ? Number.POSITIVE_INFINITY : 1),
      file: sameFile ? null : xmlText(fileName ?? uuid?.[2].trim() ?? 'another file'),
    });
  }
  return blocks;
}

/** Channel names of an OME-TIFF, or null when the file carries no OME-XML. */
export async function omeTiffChannels(read: RangeReader): Promise<string[] | null> {
  const xml = await tiffDescription(read);
  return xml ? (omePixels(xml)?.channels ?? null) : null;
}

/** The page the selectors pick (z defaults to the middle plane; z=max is not offered for TIFFs). */
export async function omeTiffPage(entry: string, read: RangeReader, s: EntrySelectors): Promise<number> {
  const xml = await tiffDescription(read);
  const px = xml ? omePixels(xml) : null;
  if (!px)
    throw new ImageError(entry, 'bad-page', 'selectors (#c= #z= #t=) need an OME-TIFF (OME-XML in the first page)');
  if (s.level !== undefined && s.level !== 0)
    throw new ImageError(entry, 'bad-page', 'an OME-TIFF is read at level 0 only (sub-resolutions are not read)');
  if (s.z === 'max') throw new ImageError(entry, 'bad-page', 'z=max is offered for OME-Zarr images only');
  const c = s.c ?? 0;
  const z = s.z ?? Math.floor((px.sizeZ - 1) / 2);
  const t = s.t ?? 0;
  const check = (axis: string, k: number, n: number): void => {
    if (k >= n)
      throw new ImageError(entry, 'bad-page', `${axis}=${k} is out of range: the image has ${n} (counting from 0)`);
  };
  check('c', c, px.sizeC);
  check('z', z, px.sizeZ);
  check('t', t, px.sizeT);
  if (s.c === undefined && px.sizeC > 1)
    throw new ImageError(entry, 'bad-page', `has ${px.sizeC} channels; pick one with #c=K (0 to ${px.sizeC - 1})`);
  const plane = planeIndex(px, c, z, t);
  if (px.tiffData.length === 0) return plane;
  // A multi-file dataset's blocks may name this file by name rather than by the root UUID.
  const own = basename(entry.split('#')[0].split('?')[0]);
  for (const b of px.tiffData) {
    const first = planeIndex(px, b.firstC, b.firstZ, b.firstT);
    if (plane < first || plane >= first + b.planeCount) continue;
    if (b.file !== null && b.file !== own)
      throw new ImageError(
        entry,
        'bad-page',
        `c=${c}, z=${z}, t=${t} is stored in ${b.file}, another file of this OME-TIFF dataset: list that file`,
      );
    return b.ifd + (plane - first);
  }
  throw new ImageError(entry, 'bad-page', `c=${c}, z=${z}, t=${t} is in none of the OME-XML's TiffData blocks`);
}

/** A plane's index in DimensionOrder, which lists the axes fastest first after X and Y. */
function planeIndex(px: OmePixels, c: number, z: number, t: number): number {
  const index: Record<string, number> = { C: c, Z: z, T: t };
  const size: Record<string, number> = { C: px.sizeC, Z: px.sizeZ, T: px.sizeT };
  let plane = 0;
  let stride = 1;
  for (const axis of px.order.slice(2)) {
    plane += index[axis] * stride;
    stride *= size[axis];
  }
  return plane;
}
