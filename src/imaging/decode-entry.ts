// Decoding source entries that are not plain local files (src/sources/fetch/entry.ts says what an
// entry is): an OME-Zarr plane (local or remote) becomes a one-channel DecodedImage at the stored
// bit depth; a remote TIFF is read by ranges, header and directories first, then only the strips
// of the page wanted (tiff-ranges.ts); another remote file is fetched whole; both are decoded like
// a local file. An OME-TIFF with selectors becomes the page they pick (ome-tiff.ts). Failures are
// ImageErrors whose reason the build's reject carries (`fetch-failed: HTTP 503 after 5 tries`).
import { parseEntry, EntryError, type ParsedEntry } from '../sources/fetch/entry.js';
import { cachedFilePath, FetchError } from '../sources/fetch/http.js';
import { FileChanged, RangedFile } from '../sources/fetch/ranged-file.js';
import { rangeReader, readLocation } from '../sources/fetch/read-bytes.js';
import { channelEntries, OmeZarrError, readPlane, type Plane } from '../sources/ome-zarr.js';
import { ImageError } from './image-error.js';
import { omeTiffChannels, omeTiffPage } from './ome-tiff.js';
import { readTiffPage } from './tiff-ranges.js';
import type { DecodedImage, SampleArray } from './types.js';

export interface EntryDecodeOptions {
  page?: number;
  maxPixels: number;
}

/** Turns fetch and OME-Zarr failures into ImageErrors naming the entry. */
export function entryError(entry: string, e: unknown): unknown {
  if (e instanceof ImageError) return e;
  if (e instanceof FetchError && (e.status === 404 || e.status === 403 || e.status === 410))
    return new ImageError(entry, 'missing', `file not found (HTTP ${e.status})`);
  if (e instanceof FetchError) return new ImageError(entry, 'fetch-failed', e.reason.replace(/^fetch-failed: /, ''));
  if (e instanceof OmeZarrError) return new ImageError(entry, 'unreadable', e.reason);
  if (e instanceof EntryError) return new ImageError(entry, 'bad-page', e.message.slice(entry.length + 2));
  if (e instanceof FileChanged)
    return new ImageError(entry, 'fetch-failed', 'the file changed on the server while it was read');
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new ImageError(entry, 'unreadable', 'file not found');
  return new ImageError(entry, 'unreadable', (e as Error).message ?? String(e));
}

/**
 * Decodes an entry; `decodeLocal(path, page)` and `decodeBytes(bytes, page)` are decode.ts's own
 * paths (passed in, so this file and decode.ts do not import each other).
 */
export async function decodeEntry(
  entry: string,
  opts: EntryDecodeOptions,
  decodeLocal: (path: string, page: number) => Promise<DecodedImage>,
  decodeBytes: (bytes: Buffer, page: number) => Promise<DecodedImage>,
): Promise<DecodedImage> {
  try {
    const p = parseEntry(entry);
    if (p.zarr) return planeToImage(entry, await readPlane(entry), opts.maxPixels);
    if (!p.remote) return await decodeLocalFile(entry, p.location, p, opts, decodeLocal);
    // the whole file in the disk cache: read like a local file (messages still name the entry)
    const cached = cachedFilePath(p.resolved);
    if (cached !== undefined) {
      try {
        return await decodeLocalFile(entry, cached, p, opts, decodeLocal);
      } catch (e) {
        // evicted by another process between the look-up and the read: fetch it instead
        if (!(e instanceof ImageError && e.reason === 'file not found')) throw e;
      }
    }
    try {
      return await decodeRemote(entry, p, opts, decodeBytes, false);
    } catch (e) {
      // parts of two versions of the file (it changed, or the cache held part of an older one)
      if (!(e instanceof FileChanged)) throw e;
      return await decodeRemote(entry, p, opts, decodeBytes, true);
    }
  } catch (e) {
    throw entryError(entry, e);
  }
}

async function decodeLocalFile(
  entry: string,
  path: string,
  p: ParsedEntry,
  opts: EntryDecodeOptions,
  decodeLocal: (path: string, page: number) => Promise<DecodedImage>,
): Promise<DecodedImage> {
  // OME-TIFF selectors: the page from the OME-XML
  const page = p.hasSelectors ? await omeTiffPage(entry, rangeReader(path), p.selectors) : (opts.page ?? 0);
  return await decodeLocal(path, page);
}

/** Names that are read by ranges as TIFFs (another remote file is fetched whole in one request). */
const TIFF_NAME = /\.(tiff?|flex|btf|tf8|lsm)$/i;

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

async function decodeRemote(
  entry: string,
  p: ParsedEntry,
  opts: EntryDecodeOptions,
  decodeBytes: (bytes: Buffer, page: number) => Promise<DecodedImage>,
  fresh: boolean,
): Promise<DecodedImage> {
  const tiff = TIFF_NAME.test(p.location.replace(/\?.*$/, '')) || p.hasSelectors;
  if (!tiff) {
    const bytes = fresh ? await new RangedFile(p.resolved, true).readAll() : await readLocation(p.location);
    return await decodeBytes(asBuffer(bytes), opts.page ?? 0);
  }
  // one file object for the OME-XML and the pixels: the header is fetched once
  const file = new RangedFile(p.resolved, fresh);
  try {
    const page = p.hasSelectors ? await omeTiffPage(entry, (o, l) => file.read(o, l), p.selectors) : (opts.page ?? 0);
    const got = await readTiffPage(file, page, entry);
    file.commit();
    if (got.kind === 'file') return await decodeBytes(asBuffer(got.bytes), page);
    // a one-page TIFF standing for page `page`: decoded as page 0, reported as what it is
    const img = await decodeBytes(asBuffer(got.bytes), 0);
    return { ...img, page: got.page, pages: got.pages };
  } finally {
    // decoded (the pixels are the decoder's own buffer) or failed: the file's bytes are done with
    file.release();
  }
}

function planeToImage(entry: string, plane: Plane, maxPixels: number): DecodedImage {
  const { width, height } = plane;
  if (width * height > maxPixels)
    throw new ImageError(
      entry,
      'too-large',
      `${width}×${height} = ${width * height} pixels exceeds the limit of ${maxPixels}`,
      'raise --max-pixels if this image is genuine',
    );
  let data: SampleArray;
  let bitDepth: 8 | 16 | 32;
  let sampleFormat: 'uint' | 'float' = 'uint';
  const d = plane.data;
  if (d instanceof Uint8Array) {
    data = d;
    bitDepth = 8;
  } else if (d instanceof Uint16Array) {
    data = d;
    bitDepth = 16;
  } else if (d instanceof Float32Array) {
    data = d;
    bitDepth = 32;
    sampleFormat = 'float';
  } else if (d instanceof Int8Array || d instanceof Int16Array) {
    // signed samples as float32, exactly (what decode-utif.ts does with signed TIFFs)
    data = Float32Array.from(d);
    bitDepth = 32;
    sampleFormat = 'float';
  } else {
    throw new ImageError(
      entry,
      'unreadable',
      `data type ${plane.dtype} is not read here (uint8, uint16, int8, int16 and float32 are)`,
    );
  }
  return {
    width,
    height,
    channels: 1,
    hasAlpha: false,
    bitDepth,
    sampleFormat,
    data,
    pages: 1,
    page: 0,
    format: 'ome-zarr',
    decoder: 'zarrita',
  };
}

/**
 * Each entry as the channel entries it stands for: an OME-Zarr image or OME-TIFF named without
 * #c=K becomes one entry per channel, in order; others stay as they are. An entry whose metadata
 * cannot be read stays too, so decoding it reports why.
 */
export async function expandEntries(files: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    let p: ReturnType<typeof parseEntry>;
    try {
      p = parseEntry(f);
    } catch {
      out.push(f);
      continue;
    }
    if (p.selectors.c !== undefined || !(p.zarr || p.omeTiff)) {
      out.push(f);
      continue;
    }
    try {
      if (p.zarr) out.push(...(await channelEntries(f)).entries);
      else {
        const names = await omeTiffChannels(rangeReader(p.location));
        if (names === null || names.length <= 1) out.push(f);
        else
          out.push(
            ...names.map((_, c) => `${p.location}#c=${c}${f.includes('#') ? `&${f.slice(f.indexOf('#') + 1)}` : ''}`),
          );
      }
    } catch {
      out.push(f);
    }
  }
  return out;
}

/** True when expandEntries may change the list (saves the async call for plain files). */
export function mayExpand(files: readonly string[]): boolean {
  return files.some((f) => /\.zarr(\/|#|$)|\.ome\.tiff?(#|$)/i.test(f));
}
