// The PNG facts we need before decoding (size, depth, colour type, transparency), read from the
// chunk headers without inflating anything.

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA. */
  colorType: number;
  /** A tRNS chunk: libvips adds an alpha channel for it. */
  hasTrns: boolean;
}

export function readPngHeader(b: Uint8Array): PngHeader | null {
  if (b.length < 33) return null;
  const u32 = (o: number): number => b[o] * 0x1000000 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
  const tag = (o: number): string => String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
  if (tag(12) !== 'IHDR') return null;
  const header: PngHeader = { width: u32(16), height: u32(20), bitDepth: b[24], colorType: b[25], hasTrns: false };
  let off = 8;
  for (;;) {
    // Ran out of the bytes we were given before the pixel data: transparency unknown.
    if (off + 8 > b.length) return null;
    const len = u32(off);
    const t = tag(off + 4);
    if (t === 'IDAT' || t === 'IEND') break;
    if (t === 'tRNS') header.hasTrns = true;
    off += 12 + len;
  }
  return header;
}
