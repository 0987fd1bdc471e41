// The idx of every row, kept as the bytes of its CSV field rather than as 2.7 M JS strings:
// assignments.csv is written by copying these bytes, and equality checks compare bytes.
import { csvField } from '../util/csv.js';

export class IdxColumn {
  /**
   * @param bytes  the fields, back to back, each already CSV-encoded (quoted where needed)
   * @param offsets n + 1 offsets into bytes: row r is bytes[offsets[r], offsets[r+1])
   */
  constructor(
    readonly bytes: Buffer,
    readonly offsets: Int32Array,
  ) {}

  static fromStrings(values: readonly string[]): IdxColumn {
    const fields = values.map((v) => Buffer.from(csvField(v), 'utf8'));
    const offsets = new Int32Array(values.length + 1);
    fields.forEach((f, i) => {
      offsets[i + 1] = offsets[i] + f.length;
    });
    return new IdxColumn(Buffer.concat(fields), offsets);
  }

  get length(): number {
    return this.offsets.length - 1;
  }

  /** The CSV field of row r, as bytes (no copy). */
  field(r: number): Buffer {
    return this.bytes.subarray(this.offsets[r], this.offsets[r + 1]);
  }

  /** The idx of row r as a string (unquoted). */
  get(r: number): string {
    const s = this.field(r).toString('utf8');
    return s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s;
  }

  /** Whether rows r and q hold the same idx. */
  same(r: number, q: number): boolean {
    const { bytes, offsets } = this;
    const a = offsets[r];
    const b = offsets[q];
    const len = offsets[r + 1] - a;
    if (len !== offsets[q + 1] - b) return false;
    for (let j = 0; j < len; j++) if (bytes[a + j] !== bytes[b + j]) return false;
    return true;
  }
}
