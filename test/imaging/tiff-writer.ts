// A minimal uncompressed little-endian TIFF writer for test fixtures the shared data lacks
// (colour palettes, WhiteIsZero, 1-page layouts chosen by the test, multi-page OME-TIFFs whose
// directories follow each page's pixels).

export interface TiffFixture {
  width: number;
  height: number;
  bitsPerSample: number;
  samplesPerPixel: number;
  photometric: number;
  /** Raw sample bytes, chunky, little-endian. */
  data: Uint8Array;
  /** TIFF ColorMap (3 · 2^bits entries, 16-bit), for photometric 3. */
  colorMap?: number[];
  sampleFormat?: number;
}

export function writeTiff(f: TiffFixture): Buffer {
  const entries: Array<[number, number, number, number[]]> = []; // tag, type, count, values
  entries.push([256, 4, 1, [f.width]]);
  entries.push([257, 4, 1, [f.height]]);
  entries.push([258, 3, f.samplesPerPixel, Array(f.samplesPerPixel).fill(f.bitsPerSample)]);
  entries.push([259, 3, 1, [1]]);
  entries.push([262, 3, 1, [f.photometric]]);
  entries.push([273, 4, 1, [0]]); // patched below
  entries.push([277, 3, 1, [f.samplesPerPixel]]);
  entries.push([278, 4, 1, [f.height]]);
  entries.push([279, 4, 1, [f.data.length]]);
  entries.push([284, 3, 1, [1]]);
  if (f.colorMap) entries.push([320, 3, f.colorMap.length, f.colorMap]);
  if (f.sampleFormat) entries.push([339, 3, f.samplesPerPixel, Array(f.samplesPerPixel).fill(f.sampleFormat)]);
  const ifdSize = 2 + entries.length * 12 + 4;
  const extra = entries.reduce(
    (s, [, type, count]) => s + (count * (type === 3 ? 2 : 4) > 4 ? count * (type === 3 ? 2 : 4) : 0),
    0,
  );
  const dataOffset = 8 + ifdSize + extra;
  const buf = Buffer.alloc(dataOffset + f.data.length);
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  buf.writeUInt16LE(entries.length, 8);
  let extraAt = 8 + ifdSize;
  entries.forEach(([tag, type, count, values], i) => {
    const e = 10 + i * 12;
    buf.writeUInt16LE(tag, e);
    buf.writeUInt16LE(type, e + 2);
    buf.writeUInt32LE(count, e + 4);
    const vals = tag === 273 ? [dataOffset] : values;
    const size = type === 3 ? 2 : 4;
    let at = e + 8;
    if (count * size > 4) {
      buf.writeUInt32LE(extraAt, e + 8);
      at = extraAt;
      extraAt += count * size;
    }
    vals.forEach((v, k) => (size === 2 ? buf.writeUInt16LE(v, at + 2 * k) : buf.writeUInt32LE(v, at + 4 * k)));
  });
  buf.writeUInt32LE(0, 10 + entries.length * 12);
  Buffer.from(f.data).copy(buf, dataOffset);
  return buf;
}

/** A minimal little-endian, uncompressed 8-bit gray multi-page TIFF; `description` on page 0. */
export function writeTiffPages(pages: Uint8Array[], w: number, h: number, description: string): Buffer {
  const desc = Buffer.from(`${description}\0`, 'latin1');
  const parts: Buffer[] = [];
  let offset = 8;
  const header = Buffer.alloc(8);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  parts.push(header);
  const ifdOffsets: number[] = [];
  const pageLayout: Array<{ data: number; desc: number; ifd: number }> = [];
  for (let p = 0; p < pages.length; p++) {
    const data = offset;
    offset += pages[p].length;
    const d = p === 0 ? offset : 0;
    if (p === 0) offset += desc.length;
    if (offset % 2) offset++;
    pageLayout.push({ data, desc: d, ifd: offset });
    ifdOffsets.push(offset);
    const n = p === 0 ? 10 : 9;
    offset += 2 + n * 12 + 4;
  }
  header.writeUInt32LE(ifdOffsets[0], 4);
  for (let p = 0; p < pages.length; p++) {
    const L = pageLayout[p];
    parts.push(Buffer.from(pages[p]));
    if (p === 0) parts.push(desc);
    const used = parts.reduce((a, b) => a + b.length, 0);
    if (used % 2) parts.push(Buffer.alloc(1));
    const tags: Array<[number, number, number, number]> = [
      [256, 3, 1, w],
      [257, 3, 1, h],
      [258, 3, 1, 8],
      [259, 3, 1, 1],
      [262, 3, 1, 1],
    ];
    if (p === 0) tags.push([270, 2, desc.length, L.desc]);
    tags.push([273, 4, 1, L.data], [277, 3, 1, 1], [278, 3, 1, h], [279, 4, 1, pages[p].length]);
    const ifd = Buffer.alloc(2 + tags.length * 12 + 4);
    ifd.writeUInt16LE(tags.length, 0);
    tags.forEach(([tag, type, count, value], i) => {
      const o = 2 + i * 12;
      ifd.writeUInt16LE(tag, o);
      ifd.writeUInt16LE(type, o + 2);
      ifd.writeUInt32LE(count, o + 4);
      if (type === 3 && count === 1) ifd.writeUInt16LE(value, o + 8);
      else ifd.writeUInt32LE(value, o + 8);
    });
    ifd.writeUInt32LE(p + 1 < pages.length ? ifdOffsets[p + 1] : 0, 2 + tags.length * 12);
    parts.push(ifd);
  }
  return Buffer.concat(parts);
}
