// Test helper: a labels folder read back the way a user (or the build stage) would read it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';

export type CsvRow = Record<string, string>;

export function readCsv(path: string): CsvRow[] {
  return parse(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true }) as CsvRow[];
}

export interface LabelsFolder {
  labels: CsvRow[];
  candidates: CsvRow[];
  assignments: CsvRow[];
  manifest: Record<string, unknown>;
  raw: { labels: string; assignments: string; manifest: string };
}

export function readLabelsFolder(dir: string): LabelsFolder {
  const raw = {
    labels: readFileSync(join(dir, 'labels.csv'), 'utf8'),
    assignments: readFileSync(join(dir, 'assignments.csv'), 'utf8'),
    manifest: readFileSync(join(dir, 'labels.json'), 'utf8'),
  };
  return {
    labels: readCsv(join(dir, 'labels.csv')),
    candidates: readCsv(join(dir, 'candidates.csv')),
    assignments: readCsv(join(dir, 'assignments.csv')),
    manifest: JSON.parse(raw.manifest) as Record<string, unknown>,
    raw,
  };
}
