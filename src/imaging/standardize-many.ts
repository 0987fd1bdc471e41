// Many image sets through standardizeImageSet + encodePng in one process, pipelined: while the
// JavaScript pixel work of set i runs on the main thread, libvips decodes set i+1 and encodes the
// PNG of set i−1 on its own threads. Each result is exactly what the two calls give one set at a
// time; only the overlap differs.
import { IMAGING } from '../defaults.js';
import { encodePng } from './encode.js';
import {
  assembleSet,
  channelFiles,
  decodeChannels,
  type StandardizedSet,
  type StandardizeOptions,
} from './standardize.js';

export interface StandardizeManyOptions extends StandardizeOptions {
  /** PNG zlib level (default 6). */
  compression?: number;
}

export interface StandardizedPng {
  /** Position in the input list. */
  index: number;
  files: readonly string[];
  set: StandardizedSet;
  /** The PNG of set.output; null when the set is unreadable. */
  png: Buffer | null;
}

/** Standardise and encode image sets in order, yielding each as it is done. */
export async function* standardizeMany(
  sets: ReadonlyArray<readonly string[]>,
  opts: StandardizeManyOptions = {},
): AsyncGenerator<StandardizedPng> {
  const bitDepth = opts.bitDepth ?? 8;
  const compression = opts.compression ?? IMAGING.pngCompression;
  for (const files of sets) if (files.length === 0) throw new RangeError('standardizeMany: an image set with no files');
  // an OME-Zarr or OME-TIFF entry stands for its channels (channelFiles)
  const start = async (set: readonly string[]) => {
    const list = await channelFiles(set);
    return { list, settled: await decodeChannels(list, opts) };
  };
  let next = sets.length > 0 ? start(sets[0]) : null;
  let encoding: Promise<StandardizedPng> | null = null;
  for (let i = 0; i < sets.length; i++) {
    const { list, settled } = await (next as ReturnType<typeof start>);
    next = i + 1 < sets.length ? start(sets[i + 1]) : null;
    const files = list;
    const set = assembleSet(files, settled, bitDepth, opts.rules);
    const png =
      set.output === null ? Promise.resolve(null) : encodePng(set.output, set.width, set.height, { compression });
    const done: Promise<StandardizedPng> = png.then((p) => ({ index: i, files, set, png: p }));
    done.catch(() => undefined); // awaited below; a failure surfaces there, in order
    if (encoding !== null) yield await encoding;
    encoding = done;
  }
  if (encoding !== null) yield await encoding;
}
