// Outputs are written to a temporary name in the same folder and renamed into place, so a crash
// never leaves a half-written file under its final name.
import { writeSync } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  // fh.writeFile writes off the main thread, beside whatever the caller runs meanwhile (e.g. the
  // labels stage's files beside the catalog fingerprint).
  await replaceAtomically(path, (fh) => fh.writeFile(data));
}

/**
 * writeFileAtomic for data made in pieces, so it never has to be whole in memory: `produce`
 * hands each piece to `write`, in file order (written at once; a piece may be reused after).
 */
export async function writeFileAtomicPieces(
  path: string,
  produce: (write: (piece: Uint8Array) => void) => void,
): Promise<void> {
  await replaceAtomically(path, (fh) =>
    produce((piece) => {
      for (let at = 0; at < piece.length; ) at += writeSync(fh.fd, piece, at, piece.length - at);
    }),
  );
}

/** The temporary file, written by `write` and synced, renamed to `path`; removed on any failure. */
async function replaceAtomically(path: string, write: (fh: FileHandle) => Promise<void> | void): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempNameFor(path);
  try {
    const fh = await open(tmp, 'w');
    try {
      await write(fh);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
