// OME-TIFF: the OME-XML in the first page's ImageDescription names the channels and says how the
// pages are ordered (DimensionOrder, SizeC/Z/T), so the #c= #z= #t= selectors of an OME-Zarr entry
// pick a page the same way. Only the first image (series) is read; TiffData elements that reorder
// pages are not followed (the default order is what writers emit).
import { ImageError } from './image-error.js';
import type { EntrySelectors } from '../sources/fetch/entry.js';

interface OmePixels {
  order: string;
  sizeC: number;
  sizeZ: number;
  sizeT: number;
  channels: string[];
}

/** The ImageDescription (tag 270) of the first page, or null (classic and BigTIFF). */
export function tiffDescription(b: Uint8Array): string | null {
  if (b.length < 16) return null;
  const le = b[0] === 0x49 && b[1] === 0x49;
  if (!le && !(b[0] === 0x4d && b[1] === 0x4d)) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (o: number): number => dv.getUint16(o, le);
  const u32 = (o: number): number => dv.getUint32(o, le);
  const u64 = (o: number): number => Number(dv.getBigUint64(o, le));
  const big = u16(2) === 43;
  if (!big && u16(2) !== 42) return null;
  const ifd = big ? u64(8) : u32(4);
  const n = big ? u64(ifd) : u16(ifd);
  const entrySize = big ? 20 : 12;
  const first = ifd + (big ? 8 : 2);
  for (let i = 0; i < n; i++) {
    const e = first + i * entrySize;
    if (e + entrySize > b.length) return null;
    if (u16(e) !== 270) continue;
    const count = big ? u64(e + 4) : u32(e + 4);
    const inline = big ? 8 : 4;
    const at = count <= inline ? e + (big ? 12 : 8) : big ? u64(e + 12) : u32(e + 8);
    if (at + count > b.length) return null;
    return new TextDecoder().decode(b.subarray(at, at + count)).replace(/\0+$/, '');
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
  };
}

/** Channel names of an OME-TIFF, or null when the file carries no OME-XML. */
export function omeTiffChannels(bytes: Uint8Array): string[] | null {
  const xml = tiffDescription(bytes);
  return xml ? (omePixels(xml)?.channels ?? null) : null;
}

/** The page the selectors pick (z defaults to the middle plane; z=max is not offered for TIFFs). */
export function omeTiffPage(entry: string, bytes: Uint8Array, s: EntrySelectors): number {
  const xml = tiffDescription(bytes);
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
  const index: Record<string, number> = { C: c, Z: z, T: t };
  const size: Record<string, number> = { C: px.sizeC, Z: px.sizeZ, T: px.sizeT };
  // DimensionOrder lists the axes fastest first after X and Y
  let page = 0;
  let stride = 1;
  for (const axis of px.order.slice(2)) {
    page += index[axis] * stride;
    stride *= size[axis];
  }
  return page;
}
