// The catalog's `channels` for rows whose source files are OME-Zarr images and whose table gave no
// channel names: the images' own names, omero.channels[].label (src/sources/ome-zarr.ts), one per
// channel the entry stands for (all of them for a bare `…/image.ome.zarr`, one for `#c=K`), cleaned
// as every channels value is (clean.ts). Only image metadata is read (a local folder's .zattrs and
// .zarray, or two small requests for a URL), never pixels. A row keeps NULL when one of its files is
// not an OME-Zarr image, when an image has no omero labels, or when its metadata cannot be read now
// (a missing store is the file check's business; an unreachable URL the build's).
import type { DuckDBConnection } from '@duckdb/node-api';
import { isAbsolute } from 'node:path';
import { isRemote, isZarrEntry, parseEntry, resolveEntry } from '../sources/fetch/entry.js';
import { openImage } from '../sources/ome-zarr.js';
import { cleanValue, type SynonymRule } from './clean.js';

/** Metadata reads in flight at once (a remote store's host sees at most the fetch's per-host limit). */
const AT_ONCE = 8;

/**
 * Fills `channels` where it is NULL for the catalog rows of the dir_names in `dirsTable` whose
 * source files are all OME-Zarr images; `imagesRoot` resolves relative entries. Returns the rows filled.
 */
export async function fillZarrChannels(
  conn: DuckDBConnection,
  catalogTable: string,
  dirsTable: string,
  imagesRoot: string | null,
  rules: readonly SynonymRule[],
): Promise<number> {
  const rows = `${catalogTable} WHERE dir_name IN (SELECT dir_name FROM ${dirsTable}) AND channels IS NULL`;
  const r = await conn.runAndReadAll(
    // a substring test first (cheap over millions of rows; `.Zarr` in mixed case is not looked
    // for), the exact rule (isZarrEntry) below
    `SELECT DISTINCT source_files FROM ${rows} AND (contains(source_files, '.zarr') OR contains(source_files, '.ZARR'))`,
  );
  const lists = r
    .getRows()
    .map(([v]) => String(v))
    .filter((l) => l.split('|').some(isZarrEntry));
  if (lists.length === 0) return 0;
  const names = new Map<string, Promise<string[] | null>>();
  const namesOf = (entry: string): Promise<string[] | null> => {
    let p = names.get(entry);
    if (!p) {
      p = entryNames(entry, imagesRoot);
      names.set(entry, p);
    }
    return p;
  };
  const filled: Array<[string, string]> = [];
  let next = 0;
  const work = async (): Promise<void> => {
    while (next < lists.length) {
      const list = lists[next++];
      const all: string[] = [];
      let known = true;
      for (const entry of list.split('|')) {
        const n = isZarrEntry(entry) ? await namesOf(entry) : null;
        if (n === null) {
          known = false;
          break;
        }
        all.push(...n);
      }
      const clean = known ? cleanValue('channels', all.join('|'), rules) : null;
      if (clean !== null) filled.push([list, clean]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, lists.length) }, work));
  if (filled.length === 0) return 0;
  await conn.run('CREATE OR REPLACE TEMP TABLE zarr_channels (source_files VARCHAR, channels VARCHAR)');
  const ap = await conn.createAppender('zarr_channels', 'main', 'temp');
  for (const [list, clean] of filled) {
    ap.appendVarchar(list);
    ap.appendVarchar(clean);
    ap.endRow();
  }
  ap.flushSync();
  ap.closeSync();
  const n = await conn.runAndReadAll(
    `UPDATE ${catalogTable} SET channels = z.channels FROM zarr_channels z ` +
      `WHERE ${catalogTable}.source_files = z.source_files AND ${catalogTable}.channels IS NULL ` +
      `AND ${catalogTable}.dir_name IN (SELECT dir_name FROM ${dirsTable})`,
  );
  await conn.run('DROP TABLE zarr_channels');
  return Number(n.getRows()[0]?.[0] ?? filled.length);
}

/** The channel names one OME-Zarr entry stands for, or null when they are not known. */
async function entryNames(entry: string, imagesRoot: string | null): Promise<string[] | null> {
  try {
    const p = parseEntry(entry);
    const at = isRemote(entry) || isAbsolute(entry) || imagesRoot === null ? entry : resolveEntry(entry, imagesRoot);
    const img = await openImage(at);
    if (!img.labelled) return null;
    if (p.selectors.c === undefined) return img.channels;
    return p.selectors.c < img.channels.length ? [img.channels[p.selectors.c]] : null;
  } catch {
    return null;
  }
}
