// Lists the files under an images folder as '/'-separated paths relative to it (sorted, so any
// order-dependent step downstream is deterministic). Hidden files and folders are skipped (a
// listed hidden file is still found: see checkUnusualPaths in src/catalog/ingest.ts).
// Symlinks are followed, to files and to folders alike, as the build follows them when it reads
// (docs/catalog.md, "Where image files may be"); a folder already being walked is not entered
// again, so a symlink loop ends.
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, ancestors: ReadonlySet<string>): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const d of entries) {
      if (d.name.startsWith('.')) continue;
      const p = join(dir, d.name);
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      if (d.isSymbolicLink()) {
        try {
          const st = await stat(p);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue; // dangling link: the file is missing
        }
      }
      if (isDir) {
        const real = await realpath(p);
        if (ancestors.has(real)) continue;
        await walk(p, new Set([...ancestors, real]));
      } else if (isFile) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  await walk(root, new Set([await realpath(root)]));
  return out.sort();
}
