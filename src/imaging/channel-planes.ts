// The channels of a released image, kept apart (`build --keep-channels`, docs/build.md "Keeping
// the channels"): one 16-bit plane per channel of the same window the merged image shows (a crop
// window, or the whole image), each normalised to its own 0.1/99.9 percentiles over that window
// (numpy's linear percentile, src/imaging/percentile.ts) and scaled to 0..65535. A channel that
// is uniform over the window is all zeros, as in normalize.ts. The merged output is not touched.
import { IMAGING } from '../defaults.js';
import { roundHalfUp } from './encode.js';
import { imagePercentiles } from './percentile.js';
import type { CropWindow, GrayImage } from './types.js';

/** The window of a gray image (the whole image when win is null), as a gray image of its own. */
function windowOf(gray: GrayImage, win: CropWindow | null): GrayImage {
  if (win === null) return gray;
  const cw = win.x_max - win.x_min;
  const ch = win.y_max - win.y_min;
  const src = gray.data;
  const out = new (src.constructor as { new (n: number): typeof src })(cw * ch);
  for (let y = 0; y < ch; y++) {
    const start = (win.y_min + y) * gray.width + win.x_min;
    out.set(src.subarray(start, start + cw) as never, y * cw);
  }
  return { ...gray, width: cw, height: ch, data: out };
}

/** One channel over one window: normalised to the window's own 0.1/99.9 percentiles, 16-bit. */
export function channelPlane(gray: GrayImage, win: CropWindow | null): Uint16Array {
  const w = windowOf(gray, win);
  const [lo, hi] = imagePercentiles(w, [IMAGING.lowPercentile, IMAGING.highPercentile]);
  const d = w.data;
  const n = d.length;
  const out = new Uint16Array(n);
  if (!(hi > lo)) return out; // uniform over the window (or all NaN)
  const range = hi - lo;
  const div = w.divisor;
  for (let i = 0; i < n; i++) {
    const v = (div === 1 ? d[i] : d[i] / div) - lo;
    out[i] = roundHalfUp((v > 0 ? (v < range ? v / range : 1) : 0) * 65535);
  }
  return out;
}

/** Every channel's plane for each window (null: the whole image), windows outermost. */
export function channelPlanes(
  channels: readonly GrayImage[],
  windows: readonly (CropWindow | null)[],
): Uint16Array[][] {
  return windows.map((win) => channels.map((g) => channelPlane(g, win)));
}
