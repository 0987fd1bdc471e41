// Folder names for labels. The original mapping (' -- '→'-', ' '→'_', '/'→'-', ','→'_')
// is kept for readability, then anything a file system or shell could misread is replaced, and
// collisions get a deterministic suffix. The label text itself is never changed (metadata keeps it).
// The labels stage names every folder here (labels.csv dir_label); the build uses those names when
// they are all acceptable and unique, and names folders itself with the same rules otherwise.
import { createHash } from 'node:crypto';

/** Longest folder name in characters (the original's readable cap). */
export const MAX_DIR_LABEL = 200;
/**
 * Longest folder name in UTF-8 bytes: file systems cap a name at 255 bytes, not characters, and
 * the images inside are named `<dir_label>-<binary>.png`, up to 35 bytes more for a label of up to
 * 2^30 images. ASCII names keep the character cap; a non-ASCII one is cut at a whole character.
 */
export const MAX_DIR_LABEL_BYTES = 220;

/** The longest prefix of s within both caps, never cutting a character (or surrogate pair) in half. */
export function truncateName(s: string, maxChars: number, maxBytes: number): string {
  if (s.length <= maxChars && Buffer.byteLength(s) <= maxBytes) return s;
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    const b = Buffer.byteLength(ch);
    if (end + ch.length > maxChars || bytes + b > maxBytes) break;
    bytes += b;
    end += ch.length;
  }
  return s.slice(0, end);
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
/** Names the release uses for its own files and folders (case-insensitive). */
export const RESERVED_NAMES = new Set([
  'metadata.csv',
  'metadata.parquet',
  'rejects.csv',
  'readme.md',
  'build.json',
  'shards',
  '.build',
  '.build.trash',
]);

/** The readable part: the original's replacements, then a conservative character set. */
export function baseDirLabel(label: string): string {
  let s = label
    .normalize('NFC')
    .replaceAll(' -- ', '-')
    .replaceAll(' ', '_')
    .replaceAll('/', '-')
    .replaceAll('\\', '-')
    .replaceAll(',', '_');
  // Letters and digits of any script are fine in folder names; everything else but - _ . + ( )
  // (control characters, quotes, wildcards, ':' …) becomes '_'.
  s = s.replace(/[^\p{L}\p{N}\-_.+()]/gu, '_');
  // No hidden folders and never '.' or '..'.
  s = s.replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  s = s.replace(/[. ]+$/, ''); // Windows drops trailing dots
  s = truncateName(s, MAX_DIR_LABEL, MAX_DIR_LABEL_BYTES);
  if (s === '' || label.trim() === '') s = 'label';
  if (WINDOWS_RESERVED.test(s) || RESERVED_NAMES.has(s.toLowerCase())) s = `${s}_`;
  return s;
}

/** True for a name this module makes: one folder directly inside OUT, in a conservative character set. */
export function isSafeDirLabel(s: string): boolean {
  return isAcceptableDirLabel(s) && /^[\p{L}\p{N}\-_.+()]+$/u.test(s);
}

/**
 * True for a folder name given by the labels stage that the build can use as is: one folder
 * directly inside OUT (no '/', '\\', control characters, leading dot or '..'), not empty, not one
 * of the release's own names, and short enough for `<name>-<binary>.png` to fit in 255 bytes.
 */
export function isAcceptableDirLabel(s: string): boolean {
  return (
    s.length > 0 &&
    Buffer.byteLength(s) <= MAX_DIR_LABEL_BYTES &&
    !s.startsWith('.') &&
    !/[/\\\u0000-\u001f\u007f]/.test(s) &&
    s.trim() === s &&
    !WINDOWS_RESERVED.test(s) &&
    !RESERVED_NAMES.has(s.toLowerCase())
  );
}

/**
 * The folder of every label: the labels stage's dir_label when it gave one for every label and
 * all are acceptable and unique (case-insensitively); otherwise this module's names for all.
 */
export function resolveDirLabels(keys: readonly LabelKey[], given: ReadonlyMap<string, string>): Map<string, string> {
  const names = keys.map((k) => given.get(keyOf(k)));
  if (
    names.every((g): g is string => g !== undefined && isAcceptableDirLabel(g)) &&
    new Set(names.map((g) => g.toLowerCase())).size === names.length
  ) {
    return new Map(keys.map((k, i) => [keyOf(k), names[i]]));
  }
  return assignDirLabels(keys);
}

export interface LabelKey {
  label: string;
  category: string;
}

function shortHash(k: LabelKey): string {
  return createHash('sha256').update(`${k.label}\u0000${k.category}`).digest('hex').slice(0, 8);
}

const keyOf = (k: LabelKey): string => `${k.label}\u0000${k.category}`;

/**
 * One folder per (label, category), unique even on case-insensitive file systems. A label that
 * appears in several categories gets `<base>_<category>`; other collisions get `<base>_<hash8>`.
 * Pure: the result for a label depends only on the set of labels.
 */
export function assignDirLabels(keys: readonly LabelKey[]): Map<string, string> {
  const sorted = [...keys].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const groups = new Map<string, LabelKey[]>();
  for (const k of sorted) {
    const base = baseDirLabel(k.label).toLowerCase();
    const g = groups.get(base);
    if (g) g.push(k);
    else groups.set(base, [k]);
  }
  const out = new Map<string, string>();
  const taken = new Set<string>();
  for (const members of groups.values()) {
    if (members.length === 1) {
      const name = baseDirLabel(members[0].label);
      out.set(keyOf(members[0]), name);
      taken.add(name.toLowerCase());
    }
  }
  for (const members of groups.values()) {
    if (members.length === 1) continue;
    const sameText = members.every((m) => m.label === members[0].label);
    for (const m of members) {
      // Room for the suffix: '_' + a category name (at most 13 bytes) or '_' + 8 hex digits.
      const base = truncateName(baseDirLabel(m.label), MAX_DIR_LABEL - 14, MAX_DIR_LABEL_BYTES - 14);
      let name = sameText ? `${base}_${baseDirLabel(m.category)}` : `${base}_${shortHash(m)}`;
      if (taken.has(name.toLowerCase())) name = `${base}_${shortHash(m)}`;
      if (taken.has(name.toLowerCase()))
        throw new Error(`cannot find a unique folder for label ${JSON.stringify(m.label)}`);
      out.set(keyOf(m), name);
      taken.add(name.toLowerCase());
    }
  }
  return out;
}

export function dirLabelKey(label: string, category: string): string {
  return keyOf({ label, category });
}

/**
 * Folders for labels added to a folder set that must not move (`labels --extend`, and an
 * incremental build): `fixed` keeps its names; each new label gets the name assignDirLabels gives
 * it among all labels, or `<base>_<hash8>` when that name is taken (case-insensitively).
 */
export function extendDirLabels(
  fixed: ReadonlyMap<string, string>,
  added: readonly LabelKey[],
  given: ReadonlyMap<string, string> = new Map(),
): Map<string, string> {
  const fixedKeys = [...fixed.keys()].map((k) => {
    const [label, category] = k.split('\u0000');
    return { label, category };
  });
  const all = assignDirLabels([...fixedKeys, ...added]);
  const taken = new Set([...fixed.values()].map((n) => n.toLowerCase()));
  const out = new Map(fixed);
  for (const k of [...added].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0))) {
    const wanted = given.get(keyOf(k));
    let name = wanted !== undefined && isAcceptableDirLabel(wanted) ? wanted : (all.get(keyOf(k)) as string);
    if (taken.has(name.toLowerCase())) name = `${baseDirLabel(k.label).slice(0, MAX_DIR_LABEL - 9)}_${shortHash(k)}`;
    if (taken.has(name.toLowerCase()))
      throw new Error(`cannot find a unique folder for label ${JSON.stringify(k.label)}`);
    out.set(keyOf(k), name);
    taken.add(name.toLowerCase());
  }
  return out;
}
