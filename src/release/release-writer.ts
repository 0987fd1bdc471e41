// The seam between the release plan and a release format. Every format has the label folders and
// the tables (the coordinator places the images and writes metadata.csv/parquet); a writer says
// where each sample sits in the format's own containers (a column of the tables) and then writes
// those containers from the placed images. `folders` has none; `webdataset` has tar shards.
import { join } from 'node:path';
import { removeTempFiles } from './out-folder.js';
import type { ReleaseTables, ShardOf } from './release-tables.js';
import type { ReleaseFormat, ReleaseLabel } from './types.js';
import { layoutShards, SHARDS_DIR, writeWebDataset, type ShardInfo } from './webdataset.js';

export interface ReleaseWriter {
  readonly format: ReleaseFormat;
  /** Each sample's place in the format's containers (shard and position), fixed before the tables are written. */
  readonly shardOf: ShardOf;
  /** Writes the format's containers from the placed images and the written tables; idempotent. */
  write(tables: ReleaseTables): Promise<ShardInfo[]>;
}

export function releaseWriter(
  format: ReleaseFormat,
  out: string,
  labels: readonly ReleaseLabel[],
  seed: number,
  samplesPerShard: number,
  /** An incremental build (docs/build.md "Growing a release"): new shards after the release's. */
  grow?: { generation: number; base: readonly ShardInfo[] },
): ReleaseWriter {
  if (format === 'folders') return { format, shardOf: () => ({ shard: -1, pos: -1 }), write: async () => [] };
  const layout = layoutShards(labels, seed, samplesPerShard, grow);
  return {
    format,
    shardOf: layout.shardOf,
    write: async (tables) => {
      removeTempFiles(join(out, SHARDS_DIR));
      return writeWebDataset(out, layout, tables, samplesPerShard, grow?.base);
    },
  };
}
