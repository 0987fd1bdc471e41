// Whole-file reads for a source entry's location, local or remote, so callers need not care which.
import { readFile } from 'node:fs/promises';
import { parseEntry } from './entry.js';
import { fetchBytes } from './http.js';

/** The bytes of a local file or URL (no fragment handling: pass a location). Throws FetchError or a fs error. */
export async function readLocation(location: string): Promise<Uint8Array> {
  const p = parseEntry(location);
  if (!p.remote) {
    const b = await readFile(p.location);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return (await fetchBytes(p.resolved)) as Uint8Array;
}
