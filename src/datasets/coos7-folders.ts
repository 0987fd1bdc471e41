// The COOS-7 folder layout as downloaded: CURATED-COOS7/{train,test1..test4}/<label>/<id>_protein.tif
// and <id>_nucleus.tif (the _mask.tif beside them is not an input). One entry per cell.
import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import { compareNatural } from '../util/stable-order.js';

export const COOS7_SPLITS = ['train', 'test1', 'test2', 'test3', 'test4'] as const;
export type Coos7Split = (typeof COOS7_SPLITS)[number];

export interface Coos7Cell {
  split: Coos7Split;
  label: string;
  id: string;
  /** Absolute paths: [protein, nucleus]. */
  files: [string, string];
}

const CHANNEL = /^(.*)_(protein|nucleus|mask)\.tiff?$/i;

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(compareNatural);
}

/**
 * Every cell under dir, in split order (train, test1..test4), then label, then id (natural order).
 * Splits that are absent are skipped, but at least one must exist; a cell with only one of its two
 * channels is an error naming the file.
 */
export async function listCoos7(dir: string): Promise<Coos7Cell[]> {
  const root = resolve(dir);
  if (!existsSync(root)) throw new UserError('COOS-7 folder not found', { file: root });
  const present = COOS7_SPLITS.filter((s) => existsSync(join(root, s)));
  if (present.length === 0) {
    throw new UserError(
      `no COOS-7 split folders (${COOS7_SPLITS.join(', ')}) found`,
      { file: root },
      'point --dir at the CURATED-COOS7 folder',
    );
  }
  const out: Coos7Cell[] = [];
  for (const split of present) {
    for (const label of await subdirs(join(root, split))) {
      const folder = join(root, split, label);
      const cells = new Map<string, { protein?: string; nucleus?: string }>();
      for (const e of await readdir(folder, { withFileTypes: true })) {
        if (!e.isFile()) continue;
        const m = CHANNEL.exec(e.name);
        if (!m) continue;
        const channel = m[2].toLowerCase();
        if (channel === 'mask') continue;
        const cell = cells.get(m[1]) ?? {};
        cell[channel as 'protein' | 'nucleus'] = join(folder, e.name);
        cells.set(m[1], cell);
      }
      for (const id of [...cells.keys()].sort(compareNatural)) {
        const c = cells.get(id)!;
        if (!c.protein || !c.nucleus) {
          const have = (c.protein ?? c.nucleus)!;
          throw new UserError(
            `cell '${id}' has no ${c.protein ? 'nucleus' : 'protein'} channel beside it`,
            { file: have },
            'each cell needs <id>_protein.tif and <id>_nucleus.tif',
          );
        }
        out.push({ split, label, id, files: [c.protein, c.nucleus] });
      }
    }
  }
  return out;
}
