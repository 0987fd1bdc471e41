// Several columns' value codes packed into one 31-bit integer (bit fields), so DuckDB's CSV writer
// and the JS parser handle 3 numbers per row instead of one per column: per-value work, not bytes,
// is what those two spend their time on. 31 bits keep JS on int32 arithmetic (shift and mask).

/** Columns (indices) packed together, lowest bits first, and each one's width in bits. */
export interface Pack {
  columns: number[];
  bits: number[];
}

const WIDTH = 31;

/** Bits for codes 0..values (0 = missing, 1 + raw id otherwise). */
export function bitsFor(values: number): number {
  let b = 1;
  while (2 ** b <= values) b++;
  return b;
}

/** First-fit decreasing by width: packs of at most 31 bits. */
export function planPacks(bits: readonly number[]): Pack[] {
  const order = bits.map((_, i) => i).sort((a, b) => bits[b] - bits[a] || a - b);
  const packs: (Pack & { used: number })[] = [];
  for (const c of order) {
    const w = bits[c];
    if (!Number.isInteger(w) || w < 1 || w > WIDTH) throw new RangeError(`planPacks: a column needs ${w} bits`);
    const fit = packs.find((p) => p.used + w <= WIDTH);
    if (fit) {
      fit.columns.push(c);
      fit.bits.push(w);
      fit.used += w;
    } else packs.push({ columns: [c], bits: [w], used: w });
  }
  return packs.map(({ columns, bits }) => ({ columns, bits }));
}
