// The original's dataset catalogue (annotations/datasets_info.csv): one row per surveyed dataset,
// list-valued cells as Python literals, some fields over 1 MB (e.g. rxrx19b's phenotype list).
import { readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { UserError } from '../util/errors.js';
import { cellItems, type PyValue } from './python-literal.js';

export interface DatasetInfo {
  dir_name: string;
  database: string;
  name: string;
  link: string | null;
  /** Every column, list literals parsed into arrays of strings. */
  fields: Record<string, string[]>;
}

export function readDatasetsInfo(file: string): DatasetInfo[] {
  let records: Record<string, string>[];
  try {
    records = parseCsv(readFileSync(file, 'utf8'), {
      columns: true,
      skip_empty_lines: true,
      relax_quotes: false,
      max_record_size: 64 * 1024 * 1024,
    }) as Record<string, string>[];
  } catch (e) {
    const err = e as { lines?: number; message?: string };
    throw new UserError(`cannot parse the dataset catalogue: ${err.message ?? String(e)}`, { file, line: err.lines });
  }
  const first = records[0] ?? {};
  for (const need of ['dir_name', 'database', 'name']) {
    if (!(need in first)) throw new UserError(`missing column '${need}'`, { file, line: 1, column: need });
  }
  return records.map((r) => {
    const fields: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(r)) {
      fields[k] = v === '' ? [] : cellItems(v).map((x: PyValue) => (x === null ? '' : String(x)));
    }
    return { dir_name: r.dir_name, database: r.database, name: r.name, link: r.link || null, fields };
  });
}
