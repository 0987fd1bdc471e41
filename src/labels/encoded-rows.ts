// Parse the scratch CSV DuckDB writes for the labels stage: per line k integer codes, then the
// row's idx as the last field. One pass over bytes: no per-value JS strings.
import { IdxColumn } from './idx-column.js';

export interface EncodedRows {
  codes: Int32Array[];
  idx: IdxColumn;
  /** Rows whose idx is NULL (an empty unquoted field; an empty string is written "" instead). */
  missingIdx: number;
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const MINUS = 0x2d;
const ZERO = 0x30;

/** @param n the number of lines expected (from a count), so arrays are allocated once. */
export function parseEncodedRows(buf: Buffer, k: number, n: number): EncodedRows {
  const codes = Array.from({ length: k }, () => new Int32Array(n));
  const starts = new Int32Array(n);
  const ends = new Int32Array(n);
  let p = 0;
  let r = 0;
  let missingIdx = 0;
  const len = buf.length;
  while (p < len) {
    if (r >= n) throw new Error(`scratch rows: more than the ${n} lines expected`);
    for (let c = 0; c < k; c++) {
      let neg = false;
      if (buf[p] === MINUS) {
        neg = true;
        p++;
      }
      let v = 0;
      while (buf[p] !== COMMA) v = v * 10 + (buf[p++] - ZERO);
      codes[c][r] = neg ? -v : v;
      p++;
    }
    const s = p;
    if (buf[p] === QUOTE) {
      p++;
      for (;;) {
        if (buf[p] === QUOTE) {
          if (buf[p + 1] === QUOTE) p += 2;
          else break;
        } else p++;
        if (p >= len) throw new Error('scratch rows: unterminated quoted field');
      }
      p++;
    } else {
      while (p < len && buf[p] !== LF && buf[p] !== CR) p++;
    }
    if (p === s) missingIdx++;
    starts[r] = s;
    ends[r] = p;
    if (buf[p] === CR) p++;
    if (buf[p] === LF) p++;
    r++;
  }
  if (r !== n) throw new Error(`scratch rows: ${r} lines, expected ${n}`);
  // Compact the idx fields so the scratch buffer can be freed.
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + (ends[i] - starts[i]);
  const bytes = Buffer.allocUnsafe(offsets[n]);
  // Byte loops: fields are short, and Buffer.copy's per-call cost dominates at millions of rows.
  for (let i = 0; i < n; i++) for (let j = starts[i], o = offsets[i]; j < ends[i]; j++, o++) bytes[o] = buf[j];
  return { codes, idx: new IdxColumn(bytes, offsets), missingIdx };
}
