// assignments.csv: `idx,label,category`, grouped by label in visit order, idx ascending within a
// label. Built without per-row strings: each row's idx bytes are copied from the IdxColumn. The
// copy walks the rows in table order and writes each into its label's place, so the 40 MB of idx
// bytes are read front to back (walking label by label would jump across them once per row, and
// on 2.7 M rows those cache and TLB misses cost twice as much). The file is made in pieces of a
// few MB, one run of consecutive labels each (one pass over the rows per piece), so it never
// needs to be whole in memory: fresh pages are what costs on some machines.
import { csvLine } from '../util/csv.js';
import type { IdxColumn } from './idx-column.js';
import type { LabelOutcome } from './select-labels.js';

const HEADER = Buffer.from('idx,label,category\n');
const PIECE = 1 << 23;

/**
 * Hands assignments.csv to `write` in pieces, in file order; a piece's buffer is reused after.
 * @param keptOf per row, the index in `kept` of the label holding it, or -1 (computed when absent).
 */
export function writeAssignments(
  idx: IdxColumn,
  kept: readonly LabelOutcome[],
  write: (piece: Uint8Array) => void,
  keptOf?: Int32Array,
  pieceBytes = PIECE,
): void {
  const tailList = kept.map((o) => Buffer.from(`,${csvLine([o.token, o.category])}\n`, 'utf8'));
  const tailStart = new Int32Array(kept.length + 1);
  for (let i = 0; i < kept.length; i++) tailStart[i + 1] = tailStart[i] + tailList[i].length;
  const tails = Buffer.concat(tailList);
  const { bytes, offsets } = idx;
  const n = idx.length;
  let labelOf = keptOf;
  if (!labelOf) {
    labelOf = new Int32Array(n).fill(-1);
    for (let l = 0; l < kept.length; l++) {
      const rows = kept[l].rows;
      for (let k = 0; k < rows.length; k++) {
        if (labelOf[rows[k]] >= 0) throw new Error(`assignments: row ${rows[k]} is in two labels`);
        labelOf[rows[k]] = l;
      }
    }
  }
  // Each label's bytes, from one pass in table order.
  const size = new Float64Array(kept.length);
  for (let r = 0; r < n; r++) {
    const l = labelOf[r];
    if (l >= 0) size[l] += offsets[r + 1] - offsets[r] + tailStart[l + 1] - tailStart[l];
  }
  // Pieces: runs of consecutive labels of at most pieceBytes (a bigger label is a piece alone).
  const at = new Float64Array(kept.length);
  let buffer = Buffer.allocUnsafe(Math.min(pieceBytes, HEADER.length + size.reduce((s, v) => s + v, 0)));
  let first = 0;
  let head = HEADER.length; // the header opens the first piece
  while (first < kept.length || head > 0) {
    let end = first;
    let bytesIn = head;
    while (end < kept.length && (end === first || bytesIn + size[end] <= pieceBytes)) {
      at[end] = bytesIn;
      bytesIn += size[end];
      end++;
    }
    if (buffer.length < bytesIn) buffer = Buffer.allocUnsafe(bytesIn);
    const out = buffer;
    if (head > 0) HEADER.copy(out, 0);
    // Plain loops over locals, byte by byte: Buffer.copy's per-call cost dominates for short fields.
    for (let r = 0; r < n; r++) {
      const l = labelOf[r];
      if (l < first || l >= end) continue;
      let p = at[l];
      for (let j = offsets[r], e = offsets[r + 1]; j < e; j++) out[p++] = bytes[j];
      for (let j = tailStart[l], e = tailStart[l + 1]; j < e; j++) out[p++] = tails[j];
      at[l] = p;
    }
    write(out.subarray(0, bytesIn));
    first = end;
    head = 0;
  }
}

/** assignments.csv as one buffer. */
export function assignmentsCsv(idx: IdxColumn, kept: readonly LabelOutcome[]): Buffer {
  const pieces: Buffer[] = [];
  writeAssignments(idx, kept, (piece) => pieces.push(Buffer.from(piece)));
  return Buffer.concat(pieces);
}
