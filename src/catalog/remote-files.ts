// The file check of a source whose images folder is a URL (a registry entry's `location`,
// src/sources/dataset-registry.ts): every distinct listed file is asked for with one HEAD request
// (src/sources/fetch/http.ts: its retries, its limit of requests in flight per host), so rows are
// present or missing exactly as they would be against a local copy of the folder. An OME-Zarr
// entry names an image group, present when the group's metadata is there (.zattrs, or zarr.json
// for Zarr v3). An entry that is a URL itself stays unchecked, as in any table; an absolute path
// is looked for on this machine.
import type { DuckDBConnection } from '@duckdb/node-api';
import { statSync } from 'node:fs';
import { UserError } from '../util/errors.js';
import { isZarrEntry, resolveEntry } from '../sources/fetch/entry.js';
import { FetchError, fetchSettings, urlExists } from '../sources/fetch/http.js';

async function exists(url: string, zarr: boolean): Promise<boolean> {
  if (url.startsWith('/')) {
    try {
      const st = statSync(url);
      return zarr ? st.isDirectory() : st.isFile();
    } catch {
      return false;
    }
  }
  if (!zarr) return urlExists(url);
  return (await urlExists(`${url}/.zattrs`)) || urlExists(`${url}/zarr.json`);
}

/**
 * Fills temp table present_files (f: the entry key, as entryKeySql gives it) with the listed
 * files found under `root`; returns how many. `rows` is the stage's rows, `configFile` what a
 * failure names.
 */
export async function listRemotePresent(
  conn: DuckDBConnection,
  rows: string,
  root: string,
  entryKeySql: (x: string) => string,
  configFile: string,
): Promise<number> {
  await conn.run('DROP TABLE IF EXISTS present_files');
  await conn.run('CREATE TEMP TABLE present_files (f VARCHAR)');
  const r = await conn.runAndReadAll(
    `SELECT DISTINCT ${entryKeySql('f0')} AS f FROM (SELECT unnest(string_split(source_files, '|')) AS f0 FROM ${rows} WHERE source_files IS NOT NULL) WHERE f0 <> '' ORDER BY f`,
  );
  const keys = r
    .getRows()
    .map(([v]) => v)
    .filter((v) => v !== null)
    .map(String);
  const present: string[] = [];
  let next = 0;
  // Twice the per-host limit in flight keeps every slot busy while answers come back.
  const width = Math.max(1, Math.min(keys.length, fetchSettings().perHost * 2));
  try {
    await Promise.all(
      Array.from({ length: width }, async () => {
        while (next < keys.length) {
          const k = keys[next++];
          if (await exists(resolveEntry(k, root), isZarrEntry(k))) present.push(k);
        }
      }),
    );
  } catch (e) {
    if (!(e instanceof FetchError)) throw e;
    throw new UserError(
      `cannot check the source's images at ${root}: ${e.message}`,
      { file: configFile },
      'the location must answer while ingesting (the catalog was left unchanged); try again, or ingest from a local copy',
    );
  }
  if (present.length) {
    const ap = await conn.createAppender('present_files', 'main', 'temp');
    for (const f of present.sort()) {
      ap.appendVarchar(f);
      ap.endRow();
    }
    ap.flushSync();
    ap.closeSync();
  }
  return present.length;
}
