// A copy of a CSV/TSV table with each record's 1-based number written as a new first field. The
// catalog stores each row's record number (source_row); DuckDB can only number rows in file order
// with a window (row_number() OVER ()), which runs the whole insert on one thread. Reading this
// copy, the insert runs on every thread and still knows each row's place.
//
// Guarantee: the copy is written only when its records are exactly DuckDB's (read with quote '"',
// escape '"', as sources/table-reader.ts does). Anything this reader does not follow with
// certainty (a quote inside an unquoted field, text after a closing quote, a carriage return not
// before a line feed, a delimiter longer than one byte) gives `null` and the caller numbers rows
// with the window instead: slower, never different. Blank lines are skipped, as DuckDB skips them.
import { open } from 'node:fs/promises';

const LF = 10;
const CR = 13;
const QUOTE = 34;
/** Read size; a line longer than this is carried over and read on. */
const CHUNK = 8 << 20;
/** Room kept before each chunk for the unfinished line of the one before. */
const CARRY_ROOM = 1 << 20;
/** The widest record-number prefix: 16 digits (record numbers < 10^16) and the delimiter. */
const NUMBER_MAX = 17;

export interface NumberedCopy {
  /** Data records (header excluded, blank lines skipped). */
  records: number;
}

/** Why a copy stopped: the caller falls back to numbering by window. */
class NotCopyable extends Error {}

/** Parser state carried from one chunk to the next (a quoted field may hold line feeds). */
interface State {
  inQuote: boolean;
  /** Data records started so far. */
  records: number;
  /** The header line is still to come (it gets the column's name, not a number). */
  headerPending: boolean;
}

/**
 * Writes `dest`: `src` with `headerName` + delim before the header line (null: the file has no
 * header) and the record number + delim before each data record. Returns null (and leaves `dest`
 * partial, for the caller's temp folder) when the file is not one this copy follows exactly.
 * `cancelled()` is polled between chunks. Reads, numbering and writes overlap: the next chunk is
 * read and the last one written while this one is numbered.
 */
export async function writeNumberedCopy(
  src: string,
  dest: string,
  delim: string,
  headerName: string | null,
  cancelled: () => boolean = () => false,
): Promise<NumberedCopy | null> {
  const d = Buffer.from(delim, 'utf8');
  if (d.length !== 1 || d[0] === QUOTE || d[0] === LF || d[0] === CR) return null;
  const delimByte = d[0];
  const header = Buffer.from(`${headerName ?? ''}${delim}`, 'utf8');
  const input = await open(src, 'r');
  const output = await open(dest, 'w');
  const state: State = { inQuote: false, records: 0, headerPending: headerName !== null };
  let writing: Promise<unknown> = Promise.resolve();
  try {
    // Two input buffers (one being read while the other is numbered), each with room before the
    // chunk for the previous chunk's unfinished line; two output buffers (one being written).
    const inputs = [Buffer.allocUnsafe(CARRY_ROOM + CHUNK), Buffer.allocUnsafe(CARRY_ROOM + CHUNK)];
    const outputs: Buffer[] = [];
    let reading = input.read(inputs[0], CARRY_ROOM, CHUNK, null);
    let carry: Buffer = Buffer.alloc(0);
    for (let k = 0; ; k++) {
      if (cancelled()) return null;
      const { bytesRead } = await reading;
      const buf = inputs[k % 2];
      const eof = bytesRead === 0;
      if (!eof) reading = input.read(inputs[(k + 1) % 2], CARRY_ROOM, CHUNK, null);
      let data: Buffer;
      if (carry.length <= CARRY_ROOM) {
        buf.set(carry, CARRY_ROOM - carry.length);
        data = buf.subarray(CARRY_ROOM - carry.length, CARRY_ROOM + bytesRead);
      } else data = Buffer.concat([carry, buf.subarray(CARRY_ROOM, CARRY_ROOM + bytesRead)]); // a very long line
      if (k === 0 && data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf)
        data = data.subarray(3);
      // Whole lines only (the lookahead after a quote or a CR stays inside); at the end, the rest.
      const end = eof ? data.length : data.lastIndexOf(LF) + 1;
      await writing; // its buffer is reused two chunks on
      const out = end > 0 ? numberLines(data.subarray(0, end), delimByte, header, state, outputs, k % 2) : null;
      // Kept before the next read overwrites `buf`.
      carry = eof ? carry : Buffer.from(data.subarray(end));
      if (out) writing = output.write(out);
      if (eof) break;
    }
    await writing;
    if (state.inQuote) return null; // DuckDB reports the unterminated quote; the window path names it
    return { records: state.records };
  } catch (e) {
    await writing.catch(() => undefined);
    if (e instanceof NotCopyable) return null;
    throw e;
  } finally {
    await input.close();
    await output.close();
  }
}

/**
 * Numbers the records of `data` (whole lines; only the file's last may lack its line feed) into a
 * new buffer. Lines are found and copied whole (memchr, memcpy); only a line with a quote, or
 * inside a quoted field, is walked byte by byte. Throws NotCopyable where DuckDB's reading is not
 * certain.
 */
function numberLines(
  data: Buffer,
  delim: number,
  header: Buffer,
  state: State,
  outputs: Buffer[],
  slot: number,
): Buffer {
  const n = data.length;
  // Room for a prefix per 8 bytes of input; fewer, longer lines are the usual case.
  const want = n + (n >> 3) + header.length + (1 << 16);
  if ((outputs[slot]?.length ?? 0) < want) outputs[slot] = Buffer.allocUnsafe(want);
  let out = outputs[slot];
  let o = 0;
  // Lines are copied through a plain Uint8Array view: its subarray is much lighter than a Buffer's.
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length);
  let nextQuote = data.indexOf(QUOTE);
  let nextCr = data.indexOf(CR);
  let pos = 0;
  while (pos < n) {
    const lf = data.indexOf(LF, pos);
    const lineEnd = lf < 0 ? n : lf; // the line feed excluded
    const stop = lf < 0 ? n : lf + 1;
    // A CR only right before a line feed (CRLF): DuckDB also ends a line at a lone CR.
    while (nextCr >= 0 && nextCr < lineEnd) {
      if (nextCr !== lineEnd - 1 || lf < 0) throw new NotCopyable();
      nextCr = data.indexOf(CR, nextCr + 1);
    }
    if (o + (stop - pos) + NUMBER_MAX + header.length > out.length) {
      out = grow(out, o, n - pos);
      outputs[slot] = out;
    }
    const blank = lineEnd === pos || (lineEnd === pos + 1 && data[pos] === CR);
    const recordStart = !state.inQuote && !blank;
    if (recordStart) {
      if (state.headerPending) {
        out.set(header, o);
        o += header.length;
        state.headerPending = false;
      } else o = writePrefix(out, o, ++state.records, delim);
    }
    if (state.inQuote || (nextQuote >= 0 && nextQuote < lineEnd)) {
      followQuotes(data, pos, lineEnd, recordStart, delim, state);
      while (nextQuote >= 0 && nextQuote < lineEnd) nextQuote = data.indexOf(QUOTE, nextQuote + 1);
    }
    out.set(bytes.subarray(pos, stop), o);
    o += stop - pos;
    pos = stop;
  }
  return out.subarray(0, o);
}

/**
 * The quotes of one line [from, to): a quote opens a field only at the field's start, `""` inside
 * is a quote, and a closing quote is followed by the delimiter or the line's end. `state.inQuote`
 * carries an open field to the next line.
 */
function followQuotes(data: Buffer, from: number, to: number, recordStart: boolean, delim: number, state: State): void {
  let inQuote = state.inQuote;
  for (let i = from; i < to; i++) {
    if (data[i] !== QUOTE) continue;
    if (inQuote) {
      if (i + 1 < to && data[i + 1] === QUOTE) {
        i++;
        continue;
      }
      inQuote = false;
      const next = i + 1 < to ? data[i + 1] : LF;
      if (next !== delim && next !== LF && next !== CR) throw new NotCopyable();
    } else {
      // DuckDB keeps a quote inside an unquoted field as text: not followed here.
      if (!((i === from && recordStart) || (i > from && data[i - 1] === delim))) throw new NotCopyable();
      inQuote = true;
    }
  }
  state.inQuote = inQuote;
}

/** `out` with room for `rest` more input bytes and their prefixes. */
function grow(out: Buffer, used: number, rest: number): Buffer {
  const bigger = Buffer.allocUnsafe(used + rest * 2 + (1 << 20));
  bigger.set(out.subarray(0, used), 0);
  return bigger;
}

/** Writes `n` in decimal and the delimiter at `o`; returns the new offset. */
function writePrefix(out: Buffer, o: number, n: number, delim: number): number {
  if (n >= 1e16) throw new NotCopyable();
  let digits = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
  let v = n;
  for (let i = o + digits - 1; i >= o; i--) {
    out[i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  out[o + digits] = delim;
  return o + digits + 1;
}
