// Standardisation as scikit-learn's StandardScaler: subtract the mean and divide by the population
// standard deviation (ddof = 0), both computed in float64 over the rows it is fitted on. A column
// that is constant over those rows keeps scale 1 (it is centred, not divided), as sklearn does.
import type { Matrix } from './matrix.js';

export interface Scaler {
  mean: Float64Array;
  /** The divisor per column: the population SD, or 1 for a constant column. */
  scale: Float64Array;
  /** Columns constant over the fitted rows (left unscaled). */
  constant: number[];
}

/** Fit on the listed rows (all rows when omitted). Two passes, so no catastrophic cancellation. */
export function fitScaler(m: Matrix, rows?: ArrayLike<number>): Scaler {
  const idx = rows ?? Array.from({ length: m.rows }, (_, i) => i);
  const n = idx.length;
  if (n === 0) throw new RangeError('fitScaler: no rows to fit on');
  const c = m.cols;
  const mean = new Float64Array(c);
  const lo = new Float64Array(c).fill(Infinity);
  const hi = new Float64Array(c).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    const off = idx[i] * c;
    for (let j = 0; j < c; j++) {
      const v = m.data[off + j];
      mean[j] += v;
      if (v < lo[j]) lo[j] = v;
      if (v > hi[j]) hi[j] = v;
    }
  }
  for (let j = 0; j < c; j++) mean[j] /= n;
  const ss = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    const off = idx[i] * c;
    for (let j = 0; j < c; j++) {
      const d = m.data[off + j] - mean[j];
      ss[j] += d * d;
    }
  }
  const scale = new Float64Array(c);
  const constant: number[] = [];
  for (let j = 0; j < c; j++) {
    // Exactly constant (max == min): rounding in the mean must not turn it into a tiny SD.
    if (lo[j] === hi[j]) {
      scale[j] = 1;
      constant.push(j);
    } else {
      scale[j] = Math.sqrt(ss[j] / n);
    }
  }
  return { mean, scale, constant };
}

/** A new matrix, standardised with the scaler. */
export function applyScaler(m: Matrix, s: Scaler): Matrix {
  const c = m.cols;
  if (s.mean.length !== c) throw new RangeError('applyScaler: column count differs from the fitted one');
  const out = new Float32Array(m.data.length);
  for (let r = 0; r < m.rows; r++) {
    const off = r * c;
    for (let j = 0; j < c; j++) out[off + j] = (m.data[off + j] - s.mean[j]) / s.scale[j];
  }
  return { rows: m.rows, cols: c, data: out };
}
