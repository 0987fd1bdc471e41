// assignments.csv as bytes: `idx,label,category`, grouped by label in visit order, idx ascending
// within a label. Built without per-row strings: each row's idx bytes are copied from the
// IdxColumn. The copy walks the rows in table order and writes each into its label's region,
// so the 40 MB of idx bytes are read front to back; walking label by label would jump across
// them once per row, and on 2.7 M rows those cache and TLB misses cost twice as much.
import { csvLine } from '../util/csv.js';
import type { IdxColumn } from './idx-column.js';
import type { LabelOutcome } from './select-labels.js';

export function assignmentsCsv(idx: IdxColumn, kept: readonly LabelOutcome[]): Buffer {
  const header = Buffer.from('idx,label,category\n');
  const tailList = kept.map((o) => Buffer.from(`,${csvLine([o.token, o.category])}\n`, 'utf8'));
  const tailStart = new Int32Array(kept.length + 1);
  for (let i = 0; i < kept.length; i++) tailStart[i + 1] = tailStart[i] + tailList[i].length;
  const tails = Buffer.concat(tailList);
  const { bytes, offsets } = idx;
  const n = idx.length;
  // Per row: the kept label holding it, or -1; and each label's bytes.
  const labelOf = new Int32Array(n).fill(-1);
  const size = new Float64Array(kept.length);
  for (let l = 0; l < kept.length; l++) {
    const rows = kept[l].rows;
    const tail = tailStart[l + 1] - tailStart[l];
    let s = rows.length * tail;
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k];
      if (labelOf[r] >= 0) throw new Error(`assignmentsCsv: row ${r} is in two labels`);
      labelOf[r] = l;
      s += offsets[r + 1] - offsets[r];
    }
    size[l] = s;
  }
  const at = new Float64Array(kept.length);
  let total = header.length;
  for (let l = 0; l < kept.length; l++) {
    at[l] = total;
    total += size[l];
  }
  const out = Buffer.allocUnsafe(total);
  header.copy(out, 0);
  // Plain loops over locals, byte by byte: Buffer.copy's per-call cost dominates for short fields.
  for (let r = 0; r < n; r++) {
    const l = labelOf[r];
    if (l < 0) continue;
    let p = at[l];
    for (let j = offsets[r], e = offsets[r + 1]; j < e; j++) out[p++] = bytes[j];
    for (let j = tailStart[l], e = tailStart[l + 1]; j < e; j++) out[p++] = tails[j];
    at[l] = p;
  }
  return out;
}
