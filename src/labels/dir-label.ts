// Release folder names for labels. A label's token can hold characters no folder may have
// ('/', ':'), and the same token can be a label in two categories (issue 3 rule 7), so the folder
// name is derived here once, unique over the label table, and build uses it as given.
import { createHash } from 'node:crypto';
import type { Category } from '../defaults.js';

const MAX_LENGTH = 100;
/** Names the release folder uses for its own files (contract 4). */
const RESERVED = new Set(['metadata.csv', 'metadata.parquet', 'rejects.csv', 'readme.md']);
const WINDOWS_DEVICES = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

function shortHash(s: string): string {
  return createHash('sha1').update(s).digest('hex').slice(0, 8);
}

/** A folder-safe form of one token: no separators or control characters, bounded length. */
export function folderName(token: string): string {
  let s = token
    .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '-')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\.+/, '')
    .replace(/[. ]+$/, '');
  if (s === '') s = `label~${shortHash(token)}`;
  if (s.length > MAX_LENGTH) s = `${Array.from(s).slice(0, MAX_LENGTH - 9).join('').trimEnd()}~${shortHash(token)}`;
  if (RESERVED.has(s.toLowerCase()) || WINDOWS_DEVICES.test(s)) s = `${s}_`;
  return s;
}

/**
 * One folder name per label, unique even on case-insensitive file systems. A name shared by two
 * labels gets each label's category as a suffix ('actin__cell_visible', 'actin__gene'); a name
 * still shared after that gets a hash of the token.
 */
export function dirLabels(labels: readonly { token: string; category: Category }[]): string[] {
  const names = labels.map((l) => folderName(l.token));
  const clashes = (list: string[]): Set<string> => {
    const seen = new Map<string, number>();
    for (const n of list) seen.set(n.toLowerCase(), (seen.get(n.toLowerCase()) ?? 0) + 1);
    return new Set([...seen].filter(([, c]) => c > 1).map(([n]) => n));
  };
  let clash = clashes(names);
  const withCategory = names.map((n, i) => (clash.has(n.toLowerCase()) ? `${n}__${labels[i].category}` : n));
  clash = clashes(withCategory);
  const out = withCategory.map((n, i) => (clash.has(n.toLowerCase()) ? `${n}~${shortHash(`${labels[i].category}\u0000${labels[i].token}`)}` : n));
  if (clashes(out).size) throw new Error('dirLabels: could not make folder names unique');
  return out;
}
