// WebDataset shards, the format large-scale trainers stream: OUT/shards/<dset>-<NNNNNN>.tar, each
// sample a `<key>.png` + `<key>.json` (its metadata row), plus OUT/shards/index.json. Samples are
// spread over shards in a seeded shuffle per split (a streaming reader sees mixed labels), and
// tar headers carry no time, user or host, so the shards are byte-reproducible. Each shard is
// written to a temporary name and renamed, so a resumed build skips the finished ones.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { Rng } from '../util/rng.js';
import { tempNameFor, writeFileAtomic } from '../util/fs-atomic.js';
import type { ReleaseTables, ShardOf } from './release-tables.js';
import type { ReleaseLabel } from './types.js';

export const SHARDS_DIR = 'shards';
export const DEFAULT_SAMPLES_PER_SHARD = 5000;

export interface ShardInfo {
  file: string;
  dset: 'train' | 'val';
  samples: number;
  bytes: number;
  sha256: string;
}

export interface ShardLayout {
  shards: { file: string; dset: 'train' | 'val'; members: { path: string; filename: string }[] }[];
  shardOf: ShardOf;
}

/**
 * Which shard each sample goes to, and where in it. Pure and seeded. `grow` (an incremental
 * build): only the new samples are laid out, in new shards numbered after the release's.
 */
export function layoutShards(
  labels: readonly ReleaseLabel[],
  seed: number,
  perShard: number,
  grow?: { generation: number; base: readonly ShardInfo[] },
): ShardLayout {
  const shards: ShardLayout['shards'] = [];
  const where = new Map<string, { shard: number; pos: number }>();
  for (const dset of ['train', 'val'] as const) {
    const members = labels.flatMap((l) =>
      l.samples.filter((s) => s.dset === dset).map((s) => ({ path: s.dirLabel, filename: s.filename })),
    );
    (grow ? Rng.derive(seed, 'webdataset', dset, `g${grow.generation}`) : Rng.derive(seed, 'webdataset', dset)).shuffle(
      members,
    );
    const first = grow ? grow.base.filter((s) => s.dset === dset).length : 0;
    for (let start = 0, k = first; start < members.length; start += perShard, k++) {
      const chunk = members.slice(start, start + perShard);
      const shard = shards.length;
      chunk.forEach((m, pos) => where.set(`${m.path}/${m.filename}`, { shard, pos }));
      shards.push({ file: `${dset}-${String(k).padStart(6, '0')}.tar`, dset, members: chunk });
    }
  }
  return { shards, shardOf: (s) => where.get(`${s.path}/${s.filename}`) ?? { shard: -1, pos: -1 } };
}

const HEADER = { mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) };

async function writeShard(
  out: string,
  file: string,
  rows: Record<string, unknown>[],
  dset: string,
  firstKey: number,
): Promise<void> {
  const dest = join(out, SHARDS_DIR, file);
  const tmp = tempNameFor(dest);
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(tmp));
  try {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      // Keys without dots or slashes: WebDataset splits a member name at its first dot.
      const key = `${dset}_${String(firstKey + i).padStart(9, '0')}`;
      const png = await readFile(join(out, String(row.path), String(row.filename)));
      await new Promise<void>((res, rej) =>
        pack.entry({ ...HEADER, name: `${key}.png` }, png, (e) => (e ? rej(e) : res())),
      );
      // --keep-channels: channel k travels as `<key>.c<k>.png` (WebDataset: key before the first dot).
      const channelFiles =
        typeof row.channel_files === 'string' && row.channel_files ? row.channel_files.split('|') : [];
      for (const [k, f] of channelFiles.entries()) {
        const data = await readFile(join(out, f));
        await new Promise<void>((res, rej) =>
          pack.entry({ ...HEADER, name: `${key}.c${k}.png` }, data, (e) => (e ? rej(e) : res())),
        );
      }
      const json = Buffer.from(`${JSON.stringify(row)}\n`);
      await new Promise<void>((res, rej) =>
        pack.entry({ ...HEADER, name: `${key}.json` }, json, (e) => (e ? rej(e) : res())),
      );
    }
    pack.finalize();
    await done;
    await rename(tmp, dest);
  } catch (e) {
    pack.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Writes every shard not already present, then the index. Returns the index entries. */
export async function writeWebDataset(
  out: string,
  layout: ShardLayout,
  tables: ReleaseTables,
  perShard: number,
  /** An incremental build: the release's shards, listed as they are (never re-read). */
  base: readonly ShardInfo[] = [],
): Promise<ShardInfo[]> {
  await mkdir(join(out, SHARDS_DIR), { recursive: true });
  const infos: ShardInfo[] = [...base];
  const firstKey = { train: 0, val: 0 };
  for (const s of base) firstKey[s.dset] += s.samples;
  for (let k = 0; k < layout.shards.length; k++) {
    const s = layout.shards[k];
    const dest = join(out, SHARDS_DIR, s.file);
    if (!existsSync(dest)) {
      const rows = await tables.shardRows(k);
      await writeShard(out, s.file, rows, s.dset, firstKey[s.dset]);
    }
    firstKey[s.dset] += s.members.length;
    const bytes = (await stat(dest)).size;
    const h = createHash('sha256');
    await pipeline(createReadStream(dest), h);
    const sha256 = h.digest('hex');
    infos.push({ file: s.file, dset: s.dset, samples: s.members.length, bytes, sha256 });
  }
  const index = {
    format: 'webdataset',
    samplesPerShard: perShard,
    members: [
      'png: the image (8-bit gray)',
      ...(tables.columns.includes('channel_files')
        ? ['c<k>.png: channel k in merge order (16-bit gray, normalised per channel over the same window)']
        : []),
      'json: its row of metadata.csv',
    ],
    shards: infos,
  };
  await writeFileAtomic(join(out, SHARDS_DIR, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  return infos;
}
