// Crop geometry (the spec's "upsampling"), made deterministic: every random
// choice comes from the Rng passed in.
import { IMAGING } from '../defaults.js';
import type { Rng } from '../util/rng.js';
import type { CropWindow } from './types.js';

/** Crops per croppable image from the label's size n relative to the cap: 1 at the cap, 2 from 55 %, 3 from 40 %, else 4. */
export function cropCount(labelSize: number, cap: number): 1 | 2 | 3 | 4 {
  if (labelSize >= cap) return 1;
  // integer comparisons: no float rounding at the 55 % / 40 % boundaries
  if (labelSize * 100 >= cap * 55) return 2;
  if (labelSize * 100 >= cap * 40) return 3;
  return 4;
}

/** Whether an image is large enough to crop: at least 2 × 70 px on both sides. */
export function isCroppable(width: number, height: number): boolean {
  const min = 2 * IMAGING.minCropSide;
  return width >= min && height >= min;
}

/** The scales whose crop is at least 70 px on both sides (unfloored product; exactly 70 passes). */
export function usableScales(width: number, height: number): number[] {
  return IMAGING.cropScales.filter((s) => s * width >= IMAGING.minCropSide && s * height >= IMAGING.minCropSide);
}

/**
 * k crop windows: k distinct quadrants (all four in row-major order when k = 4, otherwise drawn
 * without replacement), each with a scale from usableScales — distinct scales while there are
 * enough, topped up with replacement when there are fewer usable scales than crops — placed at
 * a random position inside its quadrant. The 1/2 scale fills its quadrant exactly.
 * Returns [] for images under 140 px on either side.
 */
export function planCrops(width: number, height: number, k: number, rng: Rng): CropWindow[] {
  if (!Number.isInteger(k) || k < 1 || k > 4) throw new RangeError(`planCrops: k must be 1..4, got ${k}`);
  if (!isCroppable(width, height)) return [];
  const usable = usableScales(width, height);
  let scales: number[];
  if (usable.length >= k) scales = rng.sampleIndices(usable.length, k).map((i) => usable[i]);
  else {
    scales = [...usable];
    while (scales.length < k) scales.push(rng.pick(usable));
  }
  rng.shuffle(scales);
  const halfW = Math.floor(width / 2);
  const halfH = Math.floor(height / 2);
  const offsets: Array<[number, number]> = [
    [0, 0],
    [0, halfW],
    [halfH, 0],
    [halfH, halfW],
  ];
  const quadrants = k === 4 ? [0, 1, 2, 3] : rng.sampleIndices(4, k);
  return quadrants.map((q, i) => {
    const s = scales[i];
    const [yOff, xOff] = offsets[q];
    const cw = Math.floor(width * s);
    const ch = Math.floor(height * s);
    let xMin = xOff;
    let yMin = yOff;
    if (s !== 1 / 2) {
      xMin = xOff + rng.int(0, halfW - cw);
      yMin = yOff + rng.int(0, halfH - ch);
    }
    return {
      x_min: xMin,
      x_max: Math.min(xMin + cw, width),
      y_min: yMin,
      y_max: Math.min(yMin + ch, height),
      scale: s,
      quadrant: q,
    };
  });
}

/** Copy a window out of a row-major single-channel image. */
export function extractCrop<T extends Float64Array | Float32Array | Uint8Array | Uint16Array>(
  data: T,
  width: number,
  win: CropWindow,
): T {
  const cw = win.x_max - win.x_min;
  const ch = win.y_max - win.y_min;
  const out = new (data.constructor as { new (n: number): T })(cw * ch);
  for (let y = 0; y < ch; y++) {
    const start = (win.y_min + y) * width + win.x_min;
    out.set(data.subarray(start, start + cw) as unknown as ArrayLike<number>, y * cw);
  }
  return out;
}
