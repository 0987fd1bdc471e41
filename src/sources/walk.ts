// Lists the files under an images folder as '/'-separated paths relative to it (sorted, so any
// order-dependent step downstream is deterministic). Hidden files and folders are skipped.
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const d of entries) {
      if (d.name.startsWith('.')) continue;
      const p = join(dir, d.name);
      if (d.isDirectory()) await walk(p);
      else if (d.isFile() || d.isSymbolicLink()) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  await walk(root);
  return out.sort();
}
