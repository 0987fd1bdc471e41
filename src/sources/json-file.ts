// JSON files with errors that say where: JSON.parse's character offset becomes a line number.
import { readFileSync } from 'node:fs';
import { UserError } from '../util/errors.js';

export function readJsonFile(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(msg);
    const line = pos ? text.slice(0, Number(pos[1])).split('\n').length : undefined;
    throw new UserError(`not valid JSON: ${msg}`, { file, line });
  }
}
