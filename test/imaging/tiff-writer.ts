// A minimal uncompressed little-endian TIFF writer for test fixtures the shared data lacks
// (colour palettes, WhiteIsZero, 1-page layouts chosen by the test).

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
