// Dense row-major feature matrices. Features are held as float32 (what the models emit and what the
// numeric engine multiplies); every statistic and exact distance is accumulated in float64.
export interface Matrix {
  rows: number;
  cols: number;
  /** rows × cols, row-major. */
  data: Float32Array;
}

export function matrix(rows: number, cols: number, data?: Float32Array): Matrix {
  const d = data ?? new Float32Array(rows * cols);
  if (d.length !== rows * cols) throw new RangeError(`matrix data has ${d.length} values, expected ${rows}×${cols}`);
  return { rows, cols, data: d };
}

/** The listed rows, in that order, as a new matrix. */
export function selectRows(m: Matrix, rows: ArrayLike<number>): Matrix {
  const out = new Float32Array(rows.length * m.cols);
  for (let i = 0; i < rows.length; i++) out.set(m.data.subarray(rows[i] * m.cols, (rows[i] + 1) * m.cols), i * m.cols);
  return { rows: rows.length, cols: m.cols, data: out };
}

/** Column-wise concatenation of matrices with the same row count. */
export function concatColumns(parts: readonly Matrix[]): Matrix {
  if (parts.length === 1) return parts[0];
  const rows = parts[0].rows;
  const cols = parts.reduce((s, p) => s + p.cols, 0);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let off = r * cols;
    for (const p of parts) {
      if (p.rows !== rows) throw new RangeError('concatColumns: row counts differ');
      out.set(p.data.subarray(r * p.cols, (r + 1) * p.cols), off);
      off += p.cols;
    }
  }
  return { rows, cols, data: out };
}
