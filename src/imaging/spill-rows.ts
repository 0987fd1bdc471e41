// A huge image set read a band of rows at a time: the RowSource of the executor's strip path
// (image-set.ts). libvips decodes each channel file once, straight into a temporary `.v` file
// (decode.ts decodeImageToFile: a sequential decode that holds a few rows, never the image), and
// bands are read back with plain reads into one reused buffer per channel, then turned into gray
// codes by toGray (gray.ts), into a second reused buffer. What a band holds is set by a byte budget
// (IMAGING.stripBytes of decoded samples per file), so memory does not grow with the image.
//
// The files are unlinked as soon as they are open: a process that is killed leaves nothing behind
// once its descriptors close. They go to os.tmpdir() (TMPDIR), and take the decoded size on disk
// for as long as the set is processed: point TMPDIR at a disk, not a RAM disk, or they are memory.
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleScratch } from '../util/scratch.js';
import { decodeImageToFile, type SpilledImage } from './decode.js';
import { toGray } from './gray.js';
import type { IntegerCodes, RowSource } from './row-source.js';
import type { DecodedImage } from './types.js';

export interface SpilledSet extends RowSource {
  /** Closes the files (their space on disk is then given back). */
  close(): void;
}

/** Largest band read so far, in rows and in bytes of one file (a test's check of the bound). */
export const spillReads = { maxRows: 0, maxBytes: 0 };

let serial = 0;
// Folders already swept of spill files left by killed processes (one sweep per folder per process).
const swept = new Set<string>();
const SPILL_NAME = /^cytoimagenet-spill-(\d+)-\d+\.v$/;

/**
 * Decode the files of one set into spill files and open them as a RowSource with bands of at most
 * `stripBytes` bytes per file. null when a file cannot be streamed this way (decodeImageToFile) or
 * the files differ in size: the caller decodes in memory, which also says what is wrong.
 */
export async function spillSet(
  files: readonly string[],
  opts: { stripBytes: number; dir?: string },
): Promise<SpilledSet | null> {
  const dir = opts.dir ?? tmpdir();
  // A worker killed while libvips was still writing leaves its spill file; its pid names it.
  if (!swept.has(dir)) {
    swept.add(dir);
    removeStaleScratch(dir, SPILL_NAME);
  }
  const images: SpilledImage[] = [];
  const fds: number[] = [];
  const fail = (): null => {
    for (const fd of fds) closeSync(fd);
    return null;
  };
  for (const f of files) {
    const file = join(dir, `cytoimagenet-spill-${process.pid}-${serial++}.v`);
    let img: SpilledImage | null;
    try {
      img = await decodeImageToFile(f, file);
      if (img !== null) {
        fds.push(openSync(file, 'r'));
        images.push(img);
      }
    } finally {
      rmSync(file, { force: true });
    }
    if (img === null) return fail();
  }
  const { width, height } = images[0];
  if (images.some((im) => im.width !== width || im.height !== height)) return fail();
  const rowBytes = images.map((im) => width * im.channels * (im.bitDepth / 8));
  const bandRows = Math.max(1, Math.min(height, Math.floor(opts.stripBytes / Math.max(...rowBytes))));
  const raw = images.map((_, c) => new Uint8Array(new ArrayBuffer(bandRows * rowBytes[c])));
  const grays: (IntegerCodes | undefined)[] = images.map(() => undefined);
  const band = (c: number, y0: number, y1: number, data: DecodedImage['data']): DecodedImage => ({
    width,
    height: y1 - y0,
    channels: images[c].channels,
    hasAlpha: images[c].hasAlpha,
    bitDepth: images[c].bitDepth,
    sampleFormat: 'uint',
    data,
    pages: 1,
    page: 0,
    format: 'other',
    decoder: 'sharp',
  });
  // toGray's divisor and largest code, from a band of no rows (the same rule as for the pixels)
  const channels = images.map((_, c) => {
    const g = toGray(band(c, 0, 0, images[c].bitDepth === 8 ? new Uint8Array(0) : new Uint16Array(0)));
    return { divisor: g.divisor, maxCode: g.maxCode };
  });
  const readFully = (c: number, buf: Uint8Array, into: number, bytes: number, position: number): void => {
    for (let got = 0; got < bytes; ) {
      const r = readSync(fds[c], buf, into + got, bytes - got, position + got);
      if (r === 0) throw new Error(`${files[c]}: its spill file ended early`);
      got += r;
    }
  };
  let open = true;
  return {
    width,
    height,
    bandRows,
    channels,
    // merged values (float64) within the same budget
    maxValues: Math.max(64, Math.floor(opts.stripBytes / 8)),
    rows(c, y0, y1, x0 = 0, x1 = width) {
      if (!open) throw new Error('spilled image set read after close');
      if (!(y0 >= 0 && y1 <= height && y1 - y0 <= bandRows && y1 >= y0 && x0 >= 0 && x1 <= width && x1 >= x0))
        throw new RangeError(
          `rows ${y0}..${y1}, columns ${x0}..${x1} of a ${width}×${height} image in bands of ${bandRows}`,
        );
      // only the columns asked for: a crop window's passes read a quarter of each row or less
      const cols = x1 - x0;
      const pixelBytes = rowBytes[c] / width;
      const bytes = (y1 - y0) * cols * pixelBytes;
      spillReads.maxRows = Math.max(spillReads.maxRows, y1 - y0);
      spillReads.maxBytes = Math.max(spillReads.maxBytes, bytes);
      const buf = raw[c];
      const at = images[c].offset + x0 * pixelBytes;
      if (cols === width) readFully(c, buf, 0, bytes, at + y0 * rowBytes[c]);
      else
        for (let y = y0; y < y1; y++)
          readFully(c, buf, (y - y0) * cols * pixelBytes, cols * pixelBytes, at + y * rowBytes[c]);
      const data = images[c].bitDepth === 8 ? buf.subarray(0, bytes) : new Uint16Array(buf.buffer, 0, bytes / 2);
      const g = toGray({ ...band(c, y0, y1, data), width: cols }, grays[c]);
      const codes = g.data as IntegerCodes;
      // keep the whole array for the next band (a view of all of it: this band may be a short one)
      if (codes !== data)
        grays[c] = new (codes.constructor as { new (b: ArrayBufferLike): IntegerCodes })(codes.buffer);
      return { data: codes, stride: cols, left: x0 };
    },
    close() {
      if (!open) return;
      open = false;
      for (const fd of fds) closeSync(fd);
    },
  };
}
