// The CyCLOPS (yeast WT2 single-cell) folder layout: one folder per localisation label holding
// <id>_gfp.tif and <id>_rfp.tif. As in the paper's protocol, DEAD and GHOST are not localisations
// and are dropped, and SPINDLEPOLE is merged into SPINDLE, which leaves 17 labels.
import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import { compareNatural } from '../util/stable-order.js';

export interface CyclopsCell {
  label: string;
  id: string;
  /** Absolute paths: [gfp, rfp]. */
  files: [string, string];
}

export const CYCLOPS_DROPPED = ['DEAD', 'GHOST'] as const;
export const CYCLOPS_MERGED: Readonly<Record<string, string>> = { SPINDLEPOLE: 'SPINDLE' };

const CHANNEL = /^(.*)_(gfp|rfp)\.tiff?$/i;

/**
 * The label a folder contributes to, or null when the folder is dropped (names compare
 * case-insensitively). A merged folder takes the spelling of its target's folder when that exists.
 */
export function cyclopsLabel(folder: string, siblings: readonly string[] = []): string | null {
  const up = folder.toUpperCase();
  if ((CYCLOPS_DROPPED as readonly string[]).includes(up)) return null;
  const merged = CYCLOPS_MERGED[up];
  if (merged === undefined) return folder;
  return siblings.find((s) => s.toUpperCase() === merged) ?? merged;
}

/** Every cell under dir, ordered by folder name then id (natural order). */
export async function listCyclops(dir: string): Promise<CyclopsCell[]> {
  const root = resolve(dir);
  if (!existsSync(root)) throw new UserError('CyCLOPS folder not found', { file: root });
  const folders = (await readdir(root, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(compareNatural);
  const out: CyclopsCell[] = [];
  for (const folder of folders) {
    const label = cyclopsLabel(folder, folders);
    if (label === null) continue;
    const cells = new Map<string, { gfp?: string; rfp?: string }>();
    for (const e of await readdir(join(root, folder), { withFileTypes: true })) {
      if (!e.isFile()) continue;
      const m = CHANNEL.exec(e.name);
      if (!m) continue;
      const cell = cells.get(m[1]) ?? {};
      cell[m[2].toLowerCase() as 'gfp' | 'rfp'] = join(root, folder, e.name);
      cells.set(m[1], cell);
    }
    for (const id of [...cells.keys()].sort(compareNatural)) {
      const c = cells.get(id)!;
      if (!c.gfp || !c.rfp) {
        throw new UserError(
          `cell '${id}' has no ${c.gfp ? 'rfp' : 'gfp'} channel beside it`,
          { file: (c.gfp ?? c.rfp)! },
          'each cell needs <id>_gfp.tif and <id>_rfp.tif',
        );
      }
      out.push({ label, id, files: [c.gfp, c.rfp] });
    }
  }
  if (out.length === 0) throw new UserError('no CyCLOPS cells (<label>/<id>_gfp.tif + _rfp.tif) found', { file: root });
  return out;
}
