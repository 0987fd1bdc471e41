// Whole-file reads for a source entry's location, local or remote, so callers need not care which.
import { open, readFile } from 'node:fs/promises';
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

/** Ranged reads of a local file or URL (HTTP Range requests, each cached like any fetch). */
export function rangeReader(location: string): (offset: number, length: number) => Promise<Uint8Array> {
  const p = parseEntry(location);
  return async (offset, length) => {
    if (length <= 0) return new Uint8Array(0);
    if (p.remote) return (await fetchBytes(p.resolved, { range: { offset, length } })) as Uint8Array;
    const fh = await open(p.location, 'r');
    try {
      const buf = new Uint8Array(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  };
}
