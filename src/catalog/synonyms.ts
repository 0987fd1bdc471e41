// The synonym table is data: the shipped src/catalog/synonyms.csv, then any user files (later rules
// see the result of earlier ones). Columns: column,match,from,to[,why].
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';
import { UserError } from '../util/errors.js';
import { CATALOG_COLUMNS } from '../sources/schema.js';
import type { MatchKind, SynonymRule } from './clean.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Path of the shipped synonym table (works from src/ and from dist/src/). */
export function shippedSynonymsPath(): string {
  const candidates = [join(here, 'synonyms.csv'), resolve(here, '..', '..', '..', 'src', 'catalog', 'synonyms.csv')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`shipped synonym table not found (looked in ${candidates.join(', ')})`);
  return found;
}

const KINDS: readonly MatchKind[] = ['exact', 'contains', 'replace'];

export function parseSynonymCsv(text: string, file: string): SynonymRule[] {
  let records: string[][];
  try {
    records = parseCsv(text, { relax_column_count: true, skip_empty_lines: true, trim: false }) as string[][];
  } catch (e) {
    const err = e as { lines?: number; message?: string };
    throw new UserError(`cannot parse the synonym table: ${err.message ?? String(e)}`, { file, line: err.lines });
  }
  const header = (records[0] ?? []).map((h) => h.trim().toLowerCase());
  for (const need of ['column', 'match', 'from', 'to']) {
    if (!header.includes(need)) {
      throw new UserError(
        `missing column '${need}'`,
        { file, line: 1, column: need },
        'a synonym table has the header: column,match,from,to[,why]',
      );
    }
  }
  const at = (row: string[], name: string): string => row[header.indexOf(name)] ?? '';
  const known = new Set<string>(['*', ...CATALOG_COLUMNS]);
  return records.slice(1).map((row, k) => {
    const line = k + 2;
    const column = at(row, 'column').trim().toLowerCase();
    const match = at(row, 'match').trim().toLowerCase() as MatchKind;
    const from = at(row, 'from').toLowerCase();
    if (!known.has(column)) {
      throw new UserError(
        `unknown column '${column}'`,
        { file, line, column: 'column' },
        "use '*' or a catalog column such as cell_type",
      );
    }
    if (!KINDS.includes(match)) {
      throw new UserError(
        `unknown match kind '${match}'`,
        { file, line, column: 'match' },
        'expected exact, contains or replace',
      );
    }
    if (from.trim() === '') throw new UserError("empty 'from' value", { file, line, column: 'from' });
    return { column, match, from, to: at(row, 'to').toLowerCase(), origin: `${file}:${line}` };
  });
}

/** The shipped rules, then those of each user file. */
export function loadSynonymRules(userFiles: readonly string[] = []): SynonymRule[] {
  return loadRuleFiles([shippedSynonymsPath(), ...userFiles]);
}

export function loadRuleFiles(files: readonly string[]): SynonymRule[] {
  const rules: SynonymRule[] = [];
  for (const f of files) {
    if (!existsSync(f)) throw new UserError('synonym table not found', { file: f });
    rules.push(...parseSynonymCsv(readFileSync(f, 'utf8'), f));
  }
  return rules;
}
