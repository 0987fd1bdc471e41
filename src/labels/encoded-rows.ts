// Read the scratch CSV DuckDB writes for the labels stage: per line the packed raw-value codes
// (packed-codes.ts), then the row's idx as the last field; each field is repacked with the
// normalised values' ids at the same bit positions. The file is read in slices into one reused
// buffer and parsed as bytes: no per-value JS strings, and memory touched only for the result
// (fresh pages are costly; the whole file at once would double the stage's peak). It can be
// read while DuckDB is still writing it: DuckDB spends most of the statement sorting, then writes
// the file front to back, and the parse keeps pace with the writing instead of following it.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { IdxColumn } from './idx-column.js';
import type { Pack } from './packed-codes.js';

export interface EncodedRows {
  /** packs.length words per row, side by side: each pack's columns' fields, fieldOf[column][raw field]. */
  words: Int32Array;
  idx: IdxColumn;
  /** Rows whose idx is NULL (an empty unquoted field; an empty string is written "" instead). */
  missingIdx: number;
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const ZERO = 0x30;

/** Bytes read per slice; a line longer than this grows the buffer. */
const SLICE = 1 << 22;

const nextTurn = (ms = 0): Promise<void> => new Promise((done) => (ms ? setTimeout(done, ms) : setImmediate(done)));

/**
 * @param packs the packed numbers of a line, in order; a column's raw field is 0 where its value
 *   is missing, else 1 + its raw id (as DuckDB numbered the column's distinct raw values).
 * @param fieldOf per column, raw field → normalised field (label-table.ts dictionaryOf).
 * @param n the number of lines expected (from a count), so arrays are allocated once.
 * @param written when given, DuckDB is still writing the file and this settles once it is done:
 *   reaching the end of what is there waits for more instead of ending, and a byte that has not
 *   landed (a NUL) is an error: the caller reads the file again once it is whole. Each slice also
 *   yields to the event loop, so DuckDB's callbacks (the next query's start) are not held up.
 */
export async function readEncodedRows(
  path: string,
  packs: readonly Pack[],
  fieldOf: readonly Int32Array[],
  n: number,
  written?: Promise<unknown>,
): Promise<EncodedRows> {
  let writing = written !== undefined;
  let failed: unknown;
  written?.then(
    () => {
      writing = false;
    },
    (e) => {
      writing = false;
      failed = e;
    },
  );
  while (writing && !existsSync(path)) await nextTurn(2);
  if (failed) throw failed;
  const fields = packs.length;
  const packMaps = packs.map((p) => p.columns.map((c) => fieldOf[c]));
  const packBits = packs.map((p) => Int32Array.from(p.bits));
  const words = new Int32Array(n * fields);
  const fd = openSync(path, 'r');
  try {
    // Room for the idx bytes, grown if need be: pages never written are never touched.
    let bytes = Buffer.allocUnsafe(Math.max(1 << 16, writing ? n * 32 : statSync(path).size));
    const offsets = new Int32Array(n + 1);
    let buf = Buffer.allocUnsafe(SLICE);
    let have = 0; // bytes of buf holding data not parsed yet, from 0
    let eof = false;
    let r = 0;
    let o = 0;
    let missingIdx = 0;
    while (!eof || have > 0) {
      if (!eof) {
        if (have === buf.length) {
          const bigger = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(bigger, 0, 0, have);
          buf = bigger;
        }
        // Whether DuckDB was done before this read: then a read of nothing is the end.
        const wasWriting = writing;
        const got = readSync(fd, buf, have, buf.length - have, null);
        have += got;
        if (got === 0) {
          if (failed) throw failed;
          if (wasWriting) {
            await nextTurn(2);
            continue;
          }
          eof = true;
        } else if (written) await nextTurn();
      }
      // Lines before the last LF are whole, except one whose quoted idx holds that LF: the quoted
      // path checks against `have` and leaves an unfinished line for the next slice.
      let limit = buf.lastIndexOf(LF, have - 1) + 1;
      if (eof) limit = have;
      // This slice's idx bytes are fewer than its bytes.
      if (o + have > bytes.length) {
        const bigger = Buffer.allocUnsafe(Math.max(bytes.length * 2, o + have));
        bytes.copy(bigger, 0, 0, o);
        bytes = bigger;
      }
      let p = 0;
      while (p < limit) {
        const start = p;
        if (r >= n) throw new Error(`scratch rows: more than the ${n} lines expected`);
        for (let f = 0; f < fields; f++) {
          let v = 0;
          let ch = buf[p++];
          while (ch !== COMMA) {
            const d = ch - ZERO;
            // Anything but digits here (a NUL where a write has not landed yet, a cut line) is an error.
            if (d >>> 0 > 9 || p > limit) throw new Error(`scratch rows: line ${r + 1} is malformed`);
            v = v * 10 + d;
            ch = buf[p++];
          }
          const maps = packMaps[f];
          const bits = packBits[f];
          let word = 0;
          for (let i = 0, shift = 0; i < maps.length; i++) {
            word |= maps[i][v & ((1 << bits[i]) - 1)] << shift;
            v >>>= bits[i];
            shift += bits[i];
          }
          words[r * fields + f] = word;
        }
        const s = p;
        if (buf[p] === QUOTE) {
          p++;
          for (;;) {
            if (p >= have) break;
            if (buf[p] === QUOTE) {
              if (p + 1 >= have && !eof) {
                p = have; // a doubled quote may continue in the next slice
                break;
              }
              if (buf[p + 1] === QUOTE) p += 2;
              else break;
            } else p++;
          }
          if (p >= have && eof) throw new Error('scratch rows: unterminated quoted field');
          p++;
        } else {
          while (p < limit && buf[p] !== LF && buf[p] !== CR) p++;
        }
        // A line is whole once its end of line is in the buffer (or the file has ended).
        if (p >= have && !eof) {
          p = start;
          break;
        }
        if (p === s) missingIdx++;
        if (written) {
          // Read while DuckDB writes: a NUL is a byte that has not landed yet (no idx holds one).
          for (let j = s; j < p; j++) {
            const b = buf[j];
            if (b === 0) throw new Error(`scratch rows: line ${r + 1} is malformed`);
            bytes[o++] = b;
          }
        } else for (let j = s; j < p; j++) bytes[o++] = buf[j];
        offsets[++r] = o;
        if (buf[p] === CR) p++;
        if (buf[p] === LF) p++;
      }
      buf.copy(buf, 0, p, have);
      have -= p;
      if (eof && have > 0) throw new Error('scratch rows: an unfinished last line');
    }
    if (r !== n) throw new Error(`scratch rows: ${r} lines, expected ${n}`);
    return { words, idx: new IdxColumn(bytes.subarray(0, o), offsets), missingIdx };
  } finally {
    closeSync(fd);
  }
}
