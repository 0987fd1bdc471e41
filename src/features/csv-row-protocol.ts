// Messages between FeatureTableWriter and its row writer thread.

export type ToRowWorker =
  /** Create the temporary CSV and write the header line (newline included). */
  | { type: 'open'; path: string; header: string }
  /** float32 features, or float64 for callers that pass plain numbers (formatted as given). */
  | { type: 'row'; key: string[]; features: Float32Array | Float64Array }
  | { type: 'end' };

export type FromRowWorker = { type: 'written'; rows: number } | { type: 'closed' } | { type: 'error'; message: string };
