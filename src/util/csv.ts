// Minimal RFC 4180 CSV writing for the small tables stages write themselves (DuckDB writes the
// big ones); every CSV field the project writes goes through csvField. Labels and names can hold
// commas, quotes, CR/LF and edge spaces (compound names); such fields are quoted, since many
// readers trim unquoted edge spaces (test/util/csv.test.ts reads them back with csv-parse and DuckDB).

export type CsvValue = string | number | boolean | null | undefined;

export function csvField(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One line, without its newline. */
export function csvLine(values: readonly CsvValue[]): string {
  return values.map(csvField).join(',');
}

/** A whole table, header first, '\n' after every line. */
export function csvTable(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  let out = `${csvLine(header)}\n`;
  for (const r of rows) out += `${csvLine(r)}\n`;
  return out;
}
