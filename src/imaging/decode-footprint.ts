// How many pixels a file will decode to, from its first bytes only (no pixel is read): what a
// build worker needs to know before it decodes, to limit how many very large images are held in
// memory at once (src/release/worker-pool.ts). PNG and TIFF through the same header readers the
// decoder uses, JPEG from its frame header; 0 for anything else (treated as small).
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { sniffContainer } from './sniff.js';
import { fileSource, inspectTiff } from './tiff-structure.js';

const HEAD_BYTES = 1 << 16;

export function filePixels(path: string): number {
  let fd: number;
  try {
    // Non-blocking: a pipe listed as an image must not stall the caller (see openRegularFile).
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return 0;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return 0;
    const head = Buffer.alloc(Math.min(st.size, HEAD_BYTES));
    if (head.length > 0) readSync(fd, head, 0, head.length, 0);
    switch (sniffContainer(head)) {
      case 'png':
        // IHDR is always the first chunk: width and height at fixed offsets.
        return head.length >= 24 ? head.readUInt32BE(16) * head.readUInt32BE(20) : 0;
      case 'tiff':
      case 'bigtiff': {
        const t = inspectTiff(st.size > head.length ? fileSource(fd, st.size, head) : head, 0);
        return t.layout ? t.layout.width * t.layout.height : 0;
      }
      case 'jpeg':
        return jpegPixels(head);
      default:
        return 0;
    }
  } catch {
    return 0; // unreadable headers: the decoder will say why
  } finally {
    closeSync(fd);
  }
}

/** Width × height from the first SOFn frame header in the bytes given, or 0. */
function jpegPixels(b: Buffer): number {
  let o = 2;
  while (o + 9 <= b.length) {
    if (b[o] !== 0xff) return 0;
    const m = b[o + 1];
    if (m === 0xff) {
      o++;
      continue;
    }
    const len = b.readUInt16BE(o + 2);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc)
      return b.readUInt16BE(o + 5) * b.readUInt16BE(o + 7);
    o += 2 + len;
  }
  return 0;
}
