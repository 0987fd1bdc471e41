// The rows of one image set's channels as the per-image executor reads them (image-set.ts): each
// channel's gray codes (toGray's integer sums), one band of rows at a time. In memory, a band is a
// view of the decoded image and the whole image is one band; from spill files (spill-rows.ts) a
// band is read from disk when asked for, so a huge image is never held whole. The executor's
// histograms, whole-image facts and crop windows (crop-kernel.ts) read rows only through this
// interface, so both sources run the same code.
import type { GrayImage } from './types.js';

export type IntegerCodes = Uint8Array | Uint16Array | Uint32Array;

export interface RowSource {
  readonly width: number;
  readonly height: number;
  /** The most rows one band may have: the height for an image in memory. */
  readonly bandRows: number;
  /** Per channel: toGray's divisor and largest code. */
  readonly channels: readonly { divisor: number; maxCode: number }[];
  /**
   * The most merged values (float64) a pass may hold at once: a band's values, or a crop's
   * selection pool (crop-kernel.ts). Infinity in memory, where the image is held anyway.
   */
  readonly maxValues: number;
  /**
   * Gray codes of rows [y0, y1) of channel c (y1 − y0 ≤ bandRows), at least columns [x0, x1)
   * (default: all). Valid until the next call for the same channel.
   */
  rows(c: number, y0: number, y1: number, x0?: number, x1?: number): Rows;
}

/** Codes of a band: pixel (y, x) of rows from y0 is data[(y − y0)·stride + x − left]. */
export interface Rows {
  data: IntegerCodes;
  stride: number;
  left: number;
}

/** The bands [y0, y1) that cover rows [from, to), each at most `rows` high (default src.bandRows). */
export function* bandsOf(src: RowSource, from: number, to: number, rows = src.bandRows): Generator<[number, number]> {
  for (let y = from; y < to; y += rows) yield [y, Math.min(y + rows, to)];
}

/** Rows per band for a pass that holds the merged values of `columns` columns (at most src.maxValues values). */
export function valueRows(src: RowSource, columns: number): number {
  return Math.min(src.bandRows, Math.max(1, Math.floor(src.maxValues / Math.max(1, columns))));
}

/** Every band of channel c, top to bottom, all columns. */
export function* channelBands(src: RowSource, c: number): Generator<IntegerCodes> {
  for (const [y0, y1] of bandsOf(src, 0, src.height)) yield src.rows(c, y0, y1).data;
}

/** Integer gray images in memory (same size) as a source of one band. */
export function memoryRows(grays: readonly GrayImage[]): RowSource {
  const { width, height } = grays[0];
  return {
    width,
    height,
    bandRows: Math.max(1, height),
    channels: grays.map((g) => ({ divisor: g.divisor, maxCode: g.maxCode })),
    maxValues: Number.POSITIVE_INFINITY,
    rows: (c, y0, y1) => {
      const d = grays[c].data as IntegerCodes;
      return { data: y0 === 0 && y1 === height ? d : d.subarray(y0 * width, y1 * width), stride: width, left: 0 };
    },
  };
}

/** Channel c over a window (the whole image when win is null) as a gray image of its own. */
export function windowGray(
  src: RowSource,
  c: number,
  win: { x_min: number; x_max: number; y_min: number; y_max: number } | null,
): GrayImage {
  const w = win ?? { x_min: 0, x_max: src.width, y_min: 0, y_max: src.height };
  const cw = w.x_max - w.x_min;
  const { divisor, maxCode } = src.channels[c];
  let out: IntegerCodes | null = null;
  for (const [y0, y1] of bandsOf(src, w.y_min, w.y_max)) {
    const band = src.rows(c, y0, y1, w.x_min, w.x_max);
    if (win === null && y0 === 0 && y1 === src.height && band.stride === cw) {
      out = band.data; // the whole image in one band: nothing to copy
      break;
    }
    out ??= new (band.data.constructor as { new (n: number): IntegerCodes })(cw * (w.y_max - w.y_min));
    for (let y = y0; y < y1; y++) {
      const start = (y - y0) * band.stride + w.x_min - band.left;
      out.set(band.data.subarray(start, start + cw) as never, (y - w.y_min) * cw);
    }
  }
  return {
    width: cw,
    height: w.y_max - w.y_min,
    data: out ?? new Uint16Array(0),
    divisor,
    integer: true,
    maxCode,
  };
}
