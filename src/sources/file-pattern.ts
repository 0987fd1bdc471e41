// File-name patterns such as "{plate}/{stem}_w{channel}.tif": each {name} captures text inside one
// path segment ({name*} may span folders); {channel} names the channel file of an image. Files
// with the same non-channel placeholders form one image.
import { formatValue, parseTemplate, type TemplatePart } from './template.js';

export interface FilePattern {
  source: string;
  /** Placeholders in order of appearance (channel included). */
  names: string[];
  regex: RegExp;
  hasChannel: boolean;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A pattern's or key template's parts; `{{`/`}}` are literal braces (src/sources/template.ts). */
function patternParts(source: string): TemplatePart[] {
  const parts = parseTemplate(source, (n) => NAME.test(n));
  for (const p of parts) {
    if ('name' in p && p.spec)
      throw new Error(`${p.written}: format specs belong in templates (values, table.files, table.id), not here`);
  }
  return parts;
}

/** Compiles a pattern; throws Error with a plain message on a bad pattern. */
export function compilePattern(source: string, channels?: readonly string[]): FilePattern {
  const names: string[] = [];
  let re = '^';
  let parts: TemplatePart[];
  try {
    parts = patternParts(source);
  } catch (e) {
    throw new Error(`${(e as Error).message} (placeholders look like {name}; write {{ and }} for literal braces)`);
  }
  for (const p of parts) {
    if (!('name' in p)) {
      re += escapeRe(p.text);
      continue;
    }
    const span = p.name.endsWith('*');
    const name = span ? p.name.slice(0, -1) : p.name;
    if (names.includes(name)) throw new Error(`placeholder {${name}} appears twice`);
    names.push(name);
    if (name === 'channel' && channels?.length) re += `(${channels.map(escapeRe).join('|')})`;
    else re += span ? '(.+?)' : '([^/]+?)';
  }
  re += '$';
  if (!names.length) throw new Error('no {placeholder}: give at least one, e.g. "{stem}.png"');
  return { source, names, regex: new RegExp(re), hasChannel: names.includes('channel') };
}

/** The placeholder values of a relative path, or null if it does not match. */
export function matchPattern(p: FilePattern, relPath: string): Record<string, string> | null {
  const m = p.regex.exec(relPath);
  if (!m) return null;
  const out: Record<string, string> = {};
  p.names.forEach((n, i) => (out[n] = m[i + 1]));
  return out;
}

/** Fills a template's {name} placeholders (a pattern's {name*} too); unknown names throw. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return patternParts(template)
    .map((p) => {
      if (!('name' in p)) return p.text;
      const name = p.name.replace(/\*$/, '');
      if (!(name in values)) throw new Error(`unknown placeholder {${name}}`);
      return formatValue(values[name], p.spec);
    })
    .join('');
}

export function templateNames(template: string): string[] {
  return patternParts(template).flatMap((p) => ('name' in p ? [p.name.replace(/\*$/, '')] : []));
}

/** The default image key template: the non-channel placeholders joined by '/'. */
export function defaultKeyTemplate(p: FilePattern): string {
  return p.names
    .filter((n) => n !== 'channel')
    .map((n) => `{${n}}`)
    .join('/');
}

export interface ImageGroup {
  key: string;
  values: Record<string, string>;
  /** Files in channel order (expected names where absent). */
  files: string[];
  complete: boolean;
}

/**
 * Groups matching files into images. Channel order: `channels` if given, else the sorted distinct
 * channel values seen. Groups are sorted by key.
 */
export function groupFiles(
  p: FilePattern,
  files: readonly string[],
  keyTemplate: string,
  channels?: readonly string[],
): { groups: ImageGroup[]; unmatched: number; channelOrder: string[] } {
  const byKey = new Map<string, { values: Record<string, string>; files: Map<string, string> }>();
  let unmatched = 0;
  const seen = new Set<string>();
  for (const f of files) {
    const v = matchPattern(p, f);
    if (!v) {
      unmatched++;
      continue;
    }
    const key = renderTemplate(keyTemplate, v);
    const g = byKey.get(key) ?? { values: { ...v }, files: new Map<string, string>() };
    const ch = p.hasChannel ? v.channel : '';
    seen.add(ch);
    if (!g.files.has(ch)) g.files.set(ch, f);
    byKey.set(key, g);
  }
  const order = p.hasChannel ? (channels?.length ? [...channels] : [...seen].sort()) : [''];
  const groups = [...byKey.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([key, g]) => {
      const out = order.map((ch) => g.files.get(ch) ?? renderTemplate(p.source, { ...g.values, channel: ch }));
      return { key, values: g.values, files: out, complete: order.every((ch) => g.files.has(ch)) };
    });
  return { groups, unmatched, channelOrder: order };
}
