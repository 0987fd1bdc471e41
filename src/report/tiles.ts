// Pictures made with sharp: a release image as a square tile, tiles composed into a sheet (the
// 9×9 grid, the mosaic, the sheet of source thumbnails), and a source image set's thumbnail with
// a crop box drawn on it. Sheets are 8-bit gray PNGs, except the thumbnails (gray + a coloured box).
import sharp from 'sharp';
import { standardizeImageSet } from '../imaging/standardize.js';
import { messageOf } from '../util/errors.js';

/** A release PNG stretched to side×side (the original's plain resize), as raw gray pixels. */
export async function tile(file: string, side: number): Promise<Buffer> {
  return sharp(file)
    .greyscale()
    .resize(side, side, { fit: 'fill', kernel: 'lanczos3' })
    .extractChannel(0)
    .raw()
    .toBuffer();
}

/** Raw single-channel tiles laid out row-major in `cols` columns on a black sheet. */
export async function sheet(
  tiles: readonly (Buffer | null)[],
  cols: number,
  rows: number,
  side: number,
  channels: 1 | 3 = 1,
): Promise<Buffer> {
  const W = cols * side;
  const H = rows * side;
  const out = Buffer.alloc(W * H * channels);
  tiles.forEach((t, k) => {
    if (!t) return;
    const x0 = (k % cols) * side;
    const y0 = Math.floor(k / cols) * side;
    const rowBytes = side * channels;
    for (let y = 0; y < side; y++) t.copy(out, ((y0 + y) * W + x0) * channels, y * rowBytes, (y + 1) * rowBytes);
  });
  // zlib level 6: level 9 takes 3–10× as long on these noisy sheets for ~15 % smaller files
  return sharp(out, { raw: { width: W, height: H, channels } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

export interface Box {
  x_min: number;
  x_max: number;
  y_min: number;
  y_max: number;
}

/** A source image set merged as the build does (standardizeImageSet), or why it cannot be read. */
export async function sourceImage(
  files: readonly string[],
): Promise<{ width: number; height: number; gray: Uint8Array } | { problem: string }> {
  try {
    const s = await standardizeImageSet(files);
    if (!s.output) return { problem: s.qc.reason || s.qc.verdict };
    return { width: s.width, height: s.height, gray: s.output as Uint8Array };
  } catch (e) {
    return { problem: messageOf(e) };
  }
}

/** A source image fitted (centred, on black) in a side×side RGB thumbnail, before any box. */
export interface Thumb {
  side: number;
  /** Source pixels → thumbnail pixels. */
  k: number;
  left: number;
  top: number;
  w: number;
  h: number;
  rgb: Buffer;
}

export async function thumbOf(src: { width: number; height: number; gray: Uint8Array }, side: number): Promise<Thumb> {
  const k = Math.min(side / src.width, side / src.height);
  const w = Math.max(1, Math.round(src.width * k));
  const h = Math.max(1, Math.round(src.height * k));
  const left = Math.floor((side - w) / 2);
  const top = Math.floor((side - h) / 2);
  const small = await sharp(src.gray, { raw: { width: src.width, height: src.height, channels: 1 } })
    .resize(w, h, { fit: 'fill' })
    .extractChannel(0) // sharp widens a resized 1-channel raw input to sRGB
    .raw()
    .toBuffer();
  const rgb = Buffer.alloc(side * side * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = small[y * w + x];
      const o = ((top + y) * side + left + x) * 3;
      rgb[o] = v;
      rgb[o + 1] = v;
      rgb[o + 2] = v;
    }
  return { side, k, left, top, w, h, rgb };
}

/**
 * The thumbnail with `box` (source pixels, max exclusive) outlined in yellow, 2 px; drawn by hand
 * (not an SVG overlay) so the pixels do not depend on a renderer's antialiasing.
 */
export function withBox(t: Thumb, box: Box | null): Buffer {
  const out = Buffer.from(t.rgb);
  if (!box) return out;
  const { side, k, left, top, w, h } = t;
  const x0 = left + Math.floor(box.x_min * k);
  const x1 = left + Math.min(w - 1, Math.max(Math.floor(box.x_min * k) + 3, Math.ceil(box.x_max * k) - 1));
  const y0 = top + Math.floor(box.y_min * k);
  const y1 = top + Math.min(h - 1, Math.max(Math.floor(box.y_min * k) + 3, Math.ceil(box.y_max * k) - 1));
  const put = (x: number, y: number): void => {
    if (x < 0 || y < 0 || x >= side || y >= side) return;
    const o = (y * side + x) * 3;
    out[o] = 255;
    out[o + 1] = 214;
    out[o + 2] = 0;
  };
  for (let d = 0; d < 2; d++) {
    for (let x = x0; x <= x1; x++) {
      put(x, y0 + d);
      put(x, y1 - d);
    }
    for (let y = y0; y <= y1; y++) {
      put(x0 + d, y);
      put(x1 - d, y);
    }
  }
  return out;
}
