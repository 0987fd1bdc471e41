// An IDR study file: tab-separated "key<TAB>value..." lines, '#' comment lines, ragged rows, CRLF
// or LF. Keys may repeat (one block per screen); the first value of the first occurrence wins.
import { readFileSync } from 'node:fs';

export type StudyFile = Map<string, string[][]>;

export function parseStudyFile(text: string): StudyFile {
  const out: StudyFile = new Map();
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    const cells = raw.split('\t').map((c) => c.trim());
    const key = cells[0];
    const values = cells.slice(1).filter((c) => c !== '');
    if (!key) continue;
    const list = out.get(key) ?? [];
    list.push(values);
    out.set(key, list);
  }
  return out;
}

export function readStudyFile(path: string): StudyFile {
  return parseStudyFile(readFileSync(path, 'utf8'));
}

/** First value of the first line with this key, or null. */
export function studyValue(study: StudyFile, key: string): string | null {
  const v = study.get(key)?.[0]?.[0];
  return v === undefined || v === '' ? null : v;
}
