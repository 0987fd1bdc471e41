// Which decoder to try, from the first bytes (never from the file name alone: a text file named
// .png must say "not an image", not "corrupt PNG").
import type { ImageFormat } from './types.js';

export type Container = 'png' | 'tiff' | 'bigtiff' | 'jpeg' | 'bmp' | 'dib' | 'unknown';

export function sniffContainer(bytes: Uint8Array): Container {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49) || (b[0] === 0x4d && b[1] === 0x4d))) {
    const le = b[0] === 0x49;
    const magic = le ? b[2] | (b[3] << 8) : (b[2] << 8) | b[3];
    if (magic === 42) return 'tiff';
    if (magic === 43) return 'bigtiff';
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  // A headerless DIB starts with its BITMAPINFOHEADER size (40, 52, 56, 108 or 124, little-endian).
  if (b.length >= 16 && b[1] === 0 && b[2] === 0 && b[3] === 0 && [12, 40, 52, 56, 64, 108, 124].includes(b[0]))
    return 'dib';
  return 'unknown';
}

/** The user-facing format name: FLEX files are TIFF containers with PerkinElmer's XML. */
export function formatOf(container: Container, fileName: string): ImageFormat {
  switch (container) {
    case 'png':
      return 'png';
    case 'tiff':
    case 'bigtiff':
      return /\.flex$/i.test(fileName) ? 'flex' : 'tiff';
    case 'jpeg':
      return 'jpeg';
    case 'bmp':
    case 'dib':
      return 'bmp';
    default:
      return 'other';
  }
}
