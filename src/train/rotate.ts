// Keras ImageDataGenerator(rotation_range=360, fill_mode="reflect") on one gray plane, exactly:
// apply_affine_transform rotates about the pixel-grid centre ((h−1)/2, (w−1)/2) and samples with
// scipy.ndimage.affine_transform(order=1, mode="reflect"), i.e. bilinear interpolation on an image
// extended by half-sample symmetric reflection (d c b a | a b c d | d c b a).

/** Index i folded into [0, n) by half-sample symmetric reflection (period 2n). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const p = 2 * n;
  let m = i % p;
  if (m < 0) m += p;
  return m >= n ? p - 1 - m : m;
}

/**
 * Rotate a row-major plane (width × height) by `degrees` counter-clockwise on screen (Keras's
 * sense: output (r, c) reads input R·((r, c) − centre) + centre with R = [[cos, −sin], [sin, cos]]).
 */
export function rotateReflect(
  src: ArrayLike<number>,
  width: number,
  height: number,
  degrees: number,
  out = new Float32Array(width * height),
): Float32Array {
  if (src.length !== width * height)
    throw new RangeError(`rotateReflect: plane has ${src.length} values, expected ${width}×${height}`);
  const t = (degrees * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const cr = height / 2 - 0.5;
  const cc = width / 2 - 0.5;
  for (let r = 0; r < height; r++) {
    const dr = r - cr;
    for (let c = 0; c < width; c++) {
      const dc = c - cc;
      const y = cos * dr - sin * dc + cr;
      const x = sin * dr + cos * dc + cc;
      const y0 = Math.floor(y);
      const x0 = Math.floor(x);
      const fy = y - y0;
      const fx = x - x0;
      let ya: number, yb: number, xa: number, xb: number;
      if (y0 >= 0 && y0 < height - 1 && x0 >= 0 && x0 < width - 1) {
        // Inside the image (most pixels): no reflection, and the modulo arithmetic is skipped.
        ya = y0 * width;
        yb = ya + width;
        xa = x0;
        xb = x0 + 1;
      } else {
        ya = reflectIndex(y0, height) * width;
        yb = reflectIndex(y0 + 1, height) * width;
        xa = reflectIndex(x0, width);
        xb = reflectIndex(x0 + 1, width);
      }
      const top = src[ya + xa] * (1 - fx) + src[ya + xb] * fx;
      const bottom = src[yb + xa] * (1 - fx) + src[yb + xb] * fx;
      out[r * width + c] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}
