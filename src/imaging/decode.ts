// Decode any supported file to raw pixels at full bit depth. sharp/libvips first (fast); utif2
// for TIFFs libvips refuses (float oddities, unusual layouts); fast-bmp for BMP/DIB, which
// libvips cannot read. Palette images come back expanded, gray stays one channel.
import { readFile } from 'node:fs/promises';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import sharp from 'sharp';
import type { Metadata, OutputInfo } from 'sharp';
import { IMAGING } from '../defaults.js';
import { ImageError } from './image-error.js';
import { isSpecialEntry } from '../sources/fetch/entry.js';
import { decodeEntry } from './decode-entry.js';
import { sniffContainer, formatOf, type Container } from './sniff.js';
import { inspectTiff, fileSource, type TiffLayout } from './tiff-structure.js';
import { readPngHeader, type PngHeader } from './png-header.js';
import { vipsAlone, vipsShared } from './vips-turns.js';
import { sharpOutput } from './sharp-output.js';
import type { DecodedImage, SampleArray } from './types.js';

export interface DecodeOptions {
  /** 0-based page of a multi-page TIFF/FLEX (default 0). */
  page?: number;
  /** Refuse images with more pixels than this (decompression bombs). */
  maxPixels?: number;
  /** Name used in messages when decoding a buffer (defaults to the path). */
  name?: string;
}

/** Read and decode one file. Throws ImageError naming the file and the reason. */
export async function decodeImage(path: string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  // URLs, OME-Zarr planes and selected OME-TIFF pages (decode-entry.ts); plain files below
  if (isSpecialEntry(path)) {
    return decodeEntry(
      path,
      { page: opts.page, maxPixels: opts.maxPixels ?? IMAGING.maxPixels },
      (local, page) => decodeImage(local, { ...opts, page, name: opts.name ?? path }),
      (bytes, page) => decodeBuffer(bytes, { ...opts, page, name: opts.name ?? path }),
    );
  }
  const name = opts.name ?? path;
  const fd = openRegularFile(path, name);
  try {
    // libvips reads the file itself (as the codec floor does); we only need the first bytes,
    // plus, for TIFF, the directory and strip tables, read on demand. Synchronous reads of a few
    // KiB from the page cache cost microseconds; async ones cost a thread-pool round trip each.
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    if (head.length > 0) readSync(fd, head, 0, head.length, 0);
    const input: Input = { name, size, head, source: size <= HEAD_BYTES ? head : path, fd };
    return await decodeOrExplain(input, opts);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(name, 'unreadable', ioReason(e));
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens a file for reading, refusing anything but a regular file. O_NONBLOCK: a plain open of a
 * named pipe waits for a writer forever (and a worker with it); a device or socket would be read
 * as an endless or failing stream. The type is checked on the open descriptor, so a file swapped
 * after a stat cannot slip through.
 */
function openRegularFile(path: string, name: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Opening a socket fails (ENXIO); it is not a regular file either.
    if (code === 'ENXIO' || code === 'EOPNOTSUPP')
      throw new ImageError(name, 'not-a-regular-file', 'a socket, not a file');
    throw new ImageError(name, 'unreadable', ioReason(e));
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    if (st.isDirectory()) throw new ImageError(name, 'unreadable', 'is a folder, not a file');
    const what = st.isFIFO()
      ? 'a named pipe'
      : st.isSocket()
        ? 'a socket'
        : st.isCharacterDevice() || st.isBlockDevice()
          ? 'a device'
          : 'not a regular file';
    throw new ImageError(name, 'not-a-regular-file', `${what}, not an image file`);
  }
  return fd;
}

/** Decode bytes already in memory (same rules as decodeImage). */
export async function decodeBuffer(bytes: Buffer, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const name = opts.name ?? '(buffer)';
  return decodeOrExplain({ name, size: bytes.length, head: bytes, source: bytes, fd: -1 }, opts);
}

type Turn = <T>(op: () => Promise<T>) => Promise<T>;
const direct: Turn = (op) => op();

/** Decode; on failure, decode again alone, so the reason does not depend on other work in flight (see vips-turns.ts). */
async function decodeOrExplain(input: Input, opts: DecodeOptions): Promise<DecodedImage> {
  try {
    return await decodeInput(input, opts, vipsShared);
  } catch (e) {
    if (!(e instanceof ImageError)) throw e;
    return await vipsAlone(() => decodeInput(input, opts, direct));
  }
}

const HEAD_BYTES = 1 << 16;

interface Input {
  name: string;
  size: number;
  /** The first bytes (all of them for small files and buffers). */
  head: Buffer;
  /** What libvips reads: the bytes, or the path. */
  source: Buffer | string;
  /** Open descriptor for on-demand reads, or -1 when everything is in `head`. */
  fd: number;
}

async function allBytes(input: Input): Promise<Buffer> {
  return typeof input.source === 'string' ? readFile(input.source) : input.source;
}

function ioReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'EACCES') return 'permission denied';
  return e instanceof Error ? e.message : String(e);
}

/** What the first bytes say: the container, and the layout where libvips's choice is certain. */
interface Header {
  container: Container;
  format: DecodedImage['format'];
  known: KnownLayout | null;
}

/** Sniff the container and check the page and (for TIFF) the strip tables; throws ImageError. */
function readHeader(input: Input, page: number): Header {
  const { name, head } = input;
  if (!Number.isInteger(page) || page < 0)
    throw new ImageError(name, 'bad-page', `page must be a whole number ≥ 0, got ${page}`);
  if (input.size === 0) throw new ImageError(name, 'empty', 'the file is empty (0 bytes)');
  const container = sniffContainer(head);
  const format = formatOf(container, name);
  if (container === 'unknown') {
    throw new ImageError(name, 'not-an-image', 'not a PNG, TIFF, FLEX, JPEG or BMP file (unrecognised first bytes)');
  }
  if (container === 'bmp' || container === 'dib') {
    if (page !== 0) throw new ImageError(name, 'bad-page', `page ${page} requested but a BMP has only 1 page`);
    return { container, format, known: null };
  }
  let known: KnownLayout | null = null;
  if (container === 'tiff') {
    const src = input.fd >= 0 && input.size > head.length ? fileSource(input.fd, input.size, head) : head;
    const tiff = inspectTiff(src, page);
    if (tiff.problem) throw new ImageError(name, 'truncated', tiff.problem);
    if (page >= tiff.pages) {
      throw new ImageError(
        name,
        'bad-page',
        `page ${page} requested but the file has ${tiff.pages} page${tiff.pages === 1 ? '' : 's'} (pages count from 0)`,
      );
    }
    known = tiff.layout ? layoutFromTiff(tiff.layout, tiff.pages) : null;
  } else if (container === 'png') {
    if (page !== 0) throw new ImageError(name, 'bad-page', `page ${page} requested but a PNG has only 1 page`);
    const h = readPngHeader(head);
    known = h ? layoutFromPng(h) : null;
  }
  return { container, format, known };
}

async function decodeInput(input: Input, opts: DecodeOptions, turn: Turn): Promise<DecodedImage> {
  const { name } = input;
  const page = opts.page ?? 0;
  const maxPixels = opts.maxPixels ?? IMAGING.maxPixels;
  const { container, format, known } = readHeader(input, page);
  if (container === 'bmp' || container === 'dib') {
    // utif2 and fast-bmp load on first use: most processes never need them (build workers start faster)
    const { decodeBmp } = await import('./decode-bmp.js');
    return decodeBmp(await allBytes(input), container === 'dib', name, maxPixels);
  }
  try {
    return await decodeWithSharp(input.source, container, format, name, page, maxPixels, known, turn);
  } catch (e) {
    if (e instanceof ImageError && e.kind !== 'unreadable') throw e;
    const sharpReason = e instanceof ImageError ? e.reason : (e as Error).message;
    if (container === 'tiff') {
      try {
        const { decodeTiffWithUtif } = await import('./decode-utif.js');
        return decodeTiffWithUtif(await allBytes(input), name, page, maxPixels, format);
      } catch (e2) {
        if (e2 instanceof ImageError && e2.kind !== 'unreadable') throw e2;
        throw new ImageError(
          name,
          classify(sharpReason, input.size, container),
          `${firstLine(sharpReason)} (utif2: ${firstLine(e2 instanceof ImageError ? e2.reason : (e2 as Error).message)})`,
        );
      }
    }
    throw new ImageError(name, classify(sharpReason, input.size, container), firstLine(sharpReason));
  }
}

function firstLine(s: string): string {
  const lines = s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  // libvips puts the useful line last for some loaders ("... premature end of file").
  const useful = lines.find((l) =>
    /truncat|premature|end of|short|corrupt|invalid|not a known|unsupported|read error|error/i.test(l),
  );
  return useful ?? lines[0] ?? 'unknown decoder error';
}

function classify(reason: string, size: number, container: Container): 'truncated' | 'unreadable' {
  if (
    /truncat|premature|end of (file|data|stream)|unexpected end|short read|not enough|read error|cannot read|Read error|out of data/i.test(
      reason,
    )
  )
    return 'truncated';
  if ((container === 'png' || container === 'jpeg') && size < 64) return 'truncated';
  return 'unreadable';
}

const VIPS_DEPTH: Record<
  string,
  { bitDepth: 8 | 16 | 32; sampleFormat: 'uint' | 'float'; raw: 'uchar' | 'ushort' | 'float' }
> = {
  uchar: { bitDepth: 8, sampleFormat: 'uint', raw: 'uchar' },
  ushort: { bitDepth: 16, sampleFormat: 'uint', raw: 'ushort' },
  float: { bitDepth: 32, sampleFormat: 'float', raw: 'float' },
  // Signed, 32-bit integer and double samples are not here: libvips's colour-space step would
  // cast them to 8 bits, so those TIFFs go to utif2 instead.
};

/** What the header says, for the layouts where libvips's choice is certain (no metadata call). */
interface KnownLayout {
  width: number;
  height: number;
  pages: number;
  depth: string;
  colour: 'gray' | 'rgb';
  alpha: boolean;
}

function layoutFromTiff(t: TiffLayout, pages: number): KnownLayout | null {
  // Plain BlackIsZero gray or RGB, chunky, no extra samples: the microscopy cases.
  if (t.planar !== 1 || t.extraSamples !== 0) return null;
  let depth: string | null = null;
  if (t.sampleFormat === 1 && t.bitsPerSample === 8) depth = 'uchar';
  else if (t.sampleFormat === 1 && t.bitsPerSample === 16) depth = 'ushort';
  else if (t.sampleFormat === 3 && t.bitsPerSample === 32) depth = 'float';
  if (!depth) return null;
  if (t.photometric === 1 && t.samplesPerPixel === 1)
    return { width: t.width, height: t.height, pages, depth, colour: 'gray', alpha: false };
  if (t.photometric === 2 && t.samplesPerPixel === 3 && depth !== 'float')
    return { width: t.width, height: t.height, pages, depth, colour: 'rgb', alpha: false };
  return null;
}

function layoutFromPng(h: PngHeader): KnownLayout | null {
  if ((h.bitDepth !== 8 && h.bitDepth !== 16) || h.hasTrns || h.colorType === 3) return null;
  const depth = h.bitDepth === 8 ? 'uchar' : 'ushort';
  const colour = h.colorType === 0 || h.colorType === 4 ? 'gray' : 'rgb';
  return { width: h.width, height: h.height, pages: 1, depth, colour, alpha: h.colorType === 4 || h.colorType === 6 };
}

/** What libvips will give for one page: the layout, the sample type and the colour space to ask for. */
interface SharpPlan {
  layout: KnownLayout;
  depth: (typeof VIPS_DEPTH)[string];
  target: 'b-w' | 'grey16' | 'srgb' | 'rgb16' | undefined;
}

// failOn 'error': libtiff warns about harmless tag quirks (e.g. unterminated PageName), which
// the default 'warning' would turn into failures.
const SHARP_BASE = { failOn: 'error' as const, limitInputPixels: false as const };

async function planSharp(
  bytes: Buffer | string,
  container: Container,
  name: string,
  page: number,
  maxPixels: number,
  known: KnownLayout | null,
  turn: Turn,
): Promise<SharpPlan> {
  let layout = known;
  if (!layout) {
    let meta: Metadata;
    try {
      meta = await turn(() => sharp(bytes, SHARP_BASE).metadata());
    } catch (e) {
      throw new ImageError(name, 'unreadable', (e as Error).message);
    }
    const space = meta.space ?? '';
    const alpha = meta.hasAlpha === true;
    let colour: 'gray' | 'rgb';
    if (space === 'b-w' || space === 'grey16') colour = 'gray';
    else if (space === 'srgb' || space === 'rgb16' || space === 'rgb' || space === 'scrgb' || space === 'cmyk')
      colour = 'rgb';
    else if ((meta.channels ?? 1) - (alpha ? 1 : 0) === 1) colour = 'gray';
    else if (container === 'tiff')
      throw new ImageError(name, 'unreadable', `colour space '${space}' is not handled by libvips here`);
    else colour = 'rgb';
    layout = {
      width: meta.width ?? 0,
      height: meta.height ?? 0,
      pages: meta.pages ?? 1,
      depth: meta.depth ?? '',
      colour,
      alpha,
    };
  }
  const { width, height, pages, colour } = layout;
  if (page >= pages) {
    throw new ImageError(
      name,
      'bad-page',
      `page ${page} requested but the file has ${pages} page${pages === 1 ? '' : 's'} (pages count from 0)`,
    );
  }
  if (width * height > maxPixels) {
    throw new ImageError(
      name,
      'too-large',
      `${width}×${height} = ${width * height} pixels exceeds the limit of ${maxPixels}`,
      'raise --max-pixels if this image is genuine',
    );
  }
  const depth = VIPS_DEPTH[layout.depth];
  if (!depth)
    throw new ImageError(name, 'unreadable', `libvips sample type '${layout.depth}' is not read through libvips here`);

  // The colour space must be named for the output, or libvips converts gray to 3-channel sRGB
  // with changed values (2985 came back as 11).
  let target: SharpPlan['target'];
  if (depth.raw === 'uchar') target = colour === 'gray' ? 'b-w' : 'srgb';
  else if (depth.raw === 'ushort') target = colour === 'gray' ? 'grey16' : 'rgb16';
  else target = colour === 'gray' ? 'b-w' : undefined;
  return { layout, depth, target };
}

/** The bands libvips returned, checked: the colour bands, plus alpha when it survives. */
function checkedBands(name: string, colour: 'gray' | 'rgb', got: number): { channels: number; hasAlpha: boolean } {
  // A gray PNG whose tRNS chunk libvips reports as alpha comes back from the b-w conversion as
  // one band. The bands returned are what counts.
  const bands = colour === 'gray' ? 1 : 3;
  if (got !== bands && got !== bands + 1) {
    throw new ImageError(name, 'unreadable', `libvips returned ${got} channels for a ${colour} image`);
  }
  return { channels: got, hasAlpha: got === bands + 1 };
}

async function decodeWithSharp(
  bytes: Buffer | string,
  container: Container,
  format: DecodedImage['format'],
  name: string,
  page: number,
  maxPixels: number,
  known: KnownLayout | null,
  turn: Turn,
): Promise<DecodedImage> {
  const { layout, depth, target } = await planSharp(bytes, container, name, page, maxPixels, known, turn);
  const { width, height, pages } = layout;
  let out: { data: Uint8Array; info: OutputInfo };
  try {
    let pipe = sharp(bytes, { ...SHARP_BASE, page, pages: 1 });
    if (target) pipe = pipe.toColourspace(target);
    // toUint8Array in build workers, toBuffer elsewhere (sharp-output.ts: the first leaks).
    out = await turn(() => sharpOutput(pipe.raw({ depth: depth.raw })));
  } catch (e) {
    throw new ImageError(name, 'unreadable', (e as Error).message);
  }
  const { data, info } = out;
  if (info.width !== width || info.height !== height) {
    throw new ImageError(
      name,
      'unreadable',
      `decoded size ${info.width}×${info.height} differs from the header's ${width}×${height}`,
    );
  }
  return {
    width,
    height,
    ...checkedBands(name, layout.colour, info.channels),
    bitDepth: depth.bitDepth,
    sampleFormat: depth.sampleFormat,
    data: typedView(data, depth.raw),
    pages,
    page,
    format,
    decoder: 'sharp',
  };
}

/** An image decodeImageToFile wrote: its layout, and where its samples lie in the file. */
export interface SpilledImage {
  width: number;
  height: number;
  /** Bands per pixel, interleaved, as in DecodedImage (1–4, alpha last). */
  channels: number;
  hasAlpha: boolean;
  bitDepth: 8 | 16;
  /** The `.v` file, and the byte offset of row 0 (rows follow with no padding, this machine's byte order). */
  file: string;
  offset: number;
}

/** libvips's `.v` format: a 64-byte header, then the pixels; its first bytes on a little-endian machine. */
const VIPS_MAGIC_LE = Buffer.from([0xb6, 0xa6, 0xf2, 0x08]);
const VIPS_HEADER_BYTES = 64;

/**
 * Decode one local image file into a libvips `.v` file instead of memory: libvips reads the file
 * sequentially and writes rows as it goes, so the decode holds a few rows, not the image. The
 * samples are exactly decodeImage's (same checks, same colour space, same sample type); a caller
 * reads them a strip at a time (src/imaging/spill-rows.ts). Returns null for what it does not
 * stream (BMP, float or signed samples, URLs and OME entries, a big-endian machine) and for any
 * failure: decodeImage then decodes the file and says what is wrong with it.
 */
export async function decodeImageToFile(
  path: string,
  file: string,
  opts: DecodeOptions = {},
): Promise<SpilledImage | null> {
  if (isSpecialEntry(path) || endianness() !== 'LE') return null;
  const page = opts.page ?? 0;
  const maxPixels = opts.maxPixels ?? IMAGING.maxPixels;
  let fd = -1;
  try {
    fd = openRegularFile(path, path);
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    if (head.length > 0) readSync(fd, head, 0, head.length, 0);
    const input: Input = { name: path, size, head, source: path, fd };
    const { container, known } = readHeader(input, page);
    if (container === 'bmp' || container === 'dib') return null;
    const plan = await planSharp(path, container, path, page, maxPixels, known, vipsShared);
    if (plan.depth.sampleFormat !== 'uint') return null;
    let pipe = sharp(path, { ...SHARP_BASE, page, pages: 1, sequentialRead: true });
    if (plan.target) pipe = pipe.toColourspace(plan.target);
    await vipsShared(() => pipe.toFile(file));
    const h = Buffer.alloc(VIPS_HEADER_BYTES);
    const vfd = openSync(file, 'r');
    let fileSize: number;
    try {
      fileSize = fstatSync(vfd).size;
      if (readSync(vfd, h, 0, h.length, 0) !== h.length) return null;
    } finally {
      closeSync(vfd);
    }
    const [width, height, bands, , bandFormat, coding] = [4, 8, 12, 16, 20, 24].map((o) => h.readInt32LE(o));
    // band formats 0 (uchar) and 2 (ushort); coding 0 (none)
    const want = plan.depth.raw === 'uchar' ? 0 : 2;
    if (!h.subarray(0, 4).equals(VIPS_MAGIC_LE) || bandFormat !== want || coding !== 0) return null;
    if (width !== plan.layout.width || height !== plan.layout.height) return null;
    if (fileSize < VIPS_HEADER_BYTES + width * height * bands * (want === 0 ? 1 : 2)) return null;
    return {
      width,
      height,
      ...checkedBands(path, plan.layout.colour, bands),
      bitDepth: plan.depth.bitDepth as 8 | 16,
      file,
      offset: VIPS_HEADER_BYTES,
    };
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

function typedView(buf: Uint8Array, raw: 'uchar' | 'ushort' | 'float'): SampleArray {
  // a plain Uint8Array view (sharp hands back a Buffer subclass), so every path returns one type
  if (raw === 'uchar') return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const bytesPer = raw === 'ushort' ? 2 : 4;
  // Typed views need aligned offsets; these buffers are, but copy if not.
  const aligned = buf.byteOffset % bytesPer === 0 ? buf : buf.slice();
  return raw === 'ushort'
    ? new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.length / 2)
    : new Float32Array(aligned.buffer, aligned.byteOffset, aligned.length / 4);
}

/** Number of pages without decoding pixels (1 for single-image formats). */
export function pageCount(path: string): number {
  const fd = openRegularFile(path, path);
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    if (head.length > 0) readSync(fd, head, 0, head.length, 0);
    if (sniffContainer(head) !== 'tiff') return 1;
    return inspectTiff(size > head.length ? fileSource(fd, size, head) : head, 0).pages;
  } finally {
    closeSync(fd);
  }
}
