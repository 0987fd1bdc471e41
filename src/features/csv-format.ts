// Text of one features-table CSV row, shared by the main thread and the row writer thread.
import { csvField } from '../util/csv.js';

export { csvField };

/** Text that reads back as the same float32 value: 9 significant digits always suffice (and are cheap). */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  return v === 0 ? '0' : v.toPrecision(9);
}

/** One data row: key fields, then the features. */
export function csvRow(key: readonly string[], features: ArrayLike<number>): string {
  const parts = key.map(csvField);
  for (let i = 0; i < features.length; i++) parts.push(formatFloat32(features[i]));
  return parts.join(',') + '\n';
}
