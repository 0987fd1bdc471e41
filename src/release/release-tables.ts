// metadata.csv and metadata.parquet (docs/build.md), rejects.csv, and the counts the dataset card
// shows. The released samples are joined to their catalog rows inside DuckDB (no per-row JS
// objects for 0.9 M rows); single-threaded writes with an ORDER BY keep the bytes identical
// from run to run.
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { CATALOG_TABLE, STANDARD_COLUMNS } from '../sources/schema.js';
import { tempNameFor, writeFileAtomic } from '../util/fs-atomic.js';
import { csvLine, csvTable } from '../util/csv.js';
import { sqlString } from '../util/sql.js';
import { CHANNELS_DIR, channelFileName } from './binary-name.js';
import type { RejectRow, ReleaseLabel } from './types.js';

/** The release's columns: the spec's, in its order, then the split and provenance. */
export const METADATA_COLUMNS = [...STANDARD_COLUMNS, 'dset', 'source_files', 'source_idx'] as const;
/** With --keep-channels: the source's channel names and the channel PNGs (both `|`-joined, merge order). */
export const CHANNEL_COLUMNS = ['channel_names', 'channel_files'] as const;
export const REJECTS_COLUMNS = ['idx', 'label', 'category', 'stage', 'reason', 'detail'] as const;

/** Columns the build decides (the rest come from the catalog row). */
const FROM_SAMPLE = new Set([
  'label',
  'category',
  'path',
  'filename',
  'idx',
  'crop',
  'scaling',
  'x_min',
  'x_max',
  'y_min',
  'y_max',
  'dset',
  'source_idx',
]);

const SAMPLE_TYPES: Record<string, string> = {
  label: 'VARCHAR',
  category: 'VARCHAR',
  path: 'VARCHAR',
  filename: 'VARCHAR',
  idx: 'VARCHAR',
  source_idx: 'VARCHAR',
  dset: 'VARCHAR',
  crop: 'BOOLEAN',
  scaling: 'DOUBLE',
  x_min: 'INTEGER',
  x_max: 'INTEGER',
  y_min: 'INTEGER',
  y_max: 'INTEGER',
  shard: 'INTEGER',
  shard_pos: 'INTEGER',
  channel_files: 'VARCHAR',
};

export interface Counts {
  name: string;
  images: number;
  labels: number;
}

export interface ReleaseCounts {
  byCategory: Counts[];
  byDatabase: Counts[];
  /** Per source: name = dir_name; dataset = the source's name. */
  bySource: (Counts & { dataset: string; database: string })[];
  train: number;
  val: number;
}

/** Shard number and position per sample, for the webdataset writer (-1 when none). */
export type ShardOf = (s: { path: string; filename: string }) => { shard: number; pos: number };

export class ReleaseTables {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly conn: DuckDBConnection,
    /** metadata.csv's columns: METADATA_COLUMNS, then CHANNEL_COLUMNS with --keep-channels. */
    readonly columns: readonly string[],
  ) {}

  /** Loads the released samples (via a CSV in the work folder) beside the attached catalog. */
  static async open(
    catalogPath: string,
    workDir: string,
    labels: readonly ReleaseLabel[],
    shardOf: ShardOf,
    /** An incremental build: the metadata rows already released (their shard is -1: already written). */
    baseParquet?: string,
    keepChannels = false,
  ): Promise<ReleaseTables> {
    const samplesCsv = join(workDir, 'samples.csv');
    const cols = Object.keys(SAMPLE_TYPES);
    // Streamed in chunks: at full scale this is ~0.9 M lines.
    const fh = await open(samplesCsv, 'w');
    try {
      let chunk = `${csvLine(cols)}\n`;
      for (const l of labels) {
        for (const s of l.samples) {
          const w = s.sample;
          const { shard, pos } = shardOf({ path: s.dirLabel, filename: s.filename });
          const channelFiles = (w.channels ?? [])
            .map((_, k) => `${s.dirLabel}/${CHANNELS_DIR}/${channelFileName(s.filename, k)}`)
            .join('|');
          chunk += `${csvLine([s.label, s.category, s.dirLabel, s.filename, s.idx, s.sourceIdx, s.dset, w.crop, w.scaling, w.x_min, w.x_max, w.y_min, w.y_max, shard, pos, channelFiles])}\n`;
          if (chunk.length > 1 << 20) {
            await fh.write(chunk);
            chunk = '';
          }
        }
      }
      await fh.write(chunk);
    } finally {
      await fh.close();
    }
    const instance = await DuckDBInstance.create(':memory:', {
      threads: '1',
      temp_directory: join(workDir, 'duckdb-tmp'),
    });
    const conn = await instance.connect();
    try {
      await conn.run(`ATTACH ${sqlString(catalogPath)} AS cat (READ_ONLY)`);
      const types = `{${cols.map((c) => `'${c}': '${SAMPLE_TYPES[c]}'`).join(', ')}}`;
      await conn.run(
        `CREATE TABLE samples AS SELECT * FROM read_csv(${sqlString(samplesCsv)}, header = true, columns = ${types}, quote = '"', escape = '"')`,
      );
      const select = METADATA_COLUMNS.map((c) => (FROM_SAMPLE.has(c) ? `s."${c}"` : `c."${c}"`)).join(', ');
      // Channel names: the catalog's channels when it names one per channel, else the files' stems, else c<k>.
      const files = `string_split(c.source_files, '|')`;
      // An OME-Zarr or OME-TIFF entry stands for several channels: count the channel files written.
      const planes = `len(string_split(s.channel_files, '|'))`;
      const channels = keepChannels
        ? `, CASE WHEN len(string_split(c.channels, '|')) = ${planes} THEN c.channels WHEN len(${files}) = ${planes} THEN array_to_string(list_transform(${files}, f -> regexp_replace(regexp_replace(f, '^.*[/\\\\]', ''), '\\.[^.]*$', '')), '|') ELSE array_to_string(list_transform(range(${planes}), k -> 'c' || k), '|') END AS channel_names, s.channel_files`
        : '';
      await conn.run(
        `CREATE TABLE meta AS SELECT ${select}${channels}, s.shard, s.shard_pos FROM samples s JOIN cat.${CATALOG_TABLE} c ON c.idx = s.source_idx ORDER BY s.path, s.filename`,
      );
      if (baseParquet)
        await conn.run(
          `INSERT INTO meta BY NAME SELECT *, -1 AS shard, -1 AS shard_pos FROM read_parquet(${sqlString(baseParquet)})`,
        );
      return new ReleaseTables(
        instance,
        conn,
        keepChannels ? [...METADATA_COLUMNS, ...CHANNEL_COLUMNS] : METADATA_COLUMNS,
      );
    } catch (e) {
      conn.closeSync();
      instance.closeSync();
      throw e;
    }
  }

  private async copyTo(out: string, format: 'csv' | 'parquet'): Promise<void> {
    const tmp = tempNameFor(out);
    const cols = this.columns.map((c) => `"${c}"`).join(', ');
    const opts = format === 'csv' ? `FORMAT csv, HEADER true` : `FORMAT parquet, COMPRESSION zstd`;
    try {
      await this.conn.run(`COPY (SELECT ${cols} FROM meta ORDER BY path, filename) TO ${sqlString(tmp)} (${opts})`);
      await rename(tmp, out);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async writeMetadata(out: string): Promise<void> {
    await this.copyTo(join(out, 'metadata.csv'), 'csv');
    await this.copyTo(join(out, 'metadata.parquet'), 'parquet');
  }

  /** Metadata rows of one shard, in shard order, as JSON-ready objects. */
  async shardRows(shard: number): Promise<Record<string, unknown>[]> {
    const cols = this.columns.map((c) => `"${c}"`).join(', ');
    const r = await this.conn.runAndReadAll(`SELECT ${cols} FROM meta WHERE shard = ${shard} ORDER BY shard_pos`);
    return r.getRowObjectsJson() as Record<string, unknown>[];
  }

  async counts(): Promise<ReleaseCounts> {
    const q = async (sql: string): Promise<Record<string, unknown>[]> =>
      (await this.conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
    const toCounts = (rows: Record<string, unknown>[]): Counts[] =>
      rows.map((r) => ({
        name: r.k === null ? '(none)' : String(r.k),
        images: Number(r.images),
        labels: Number(r.labels),
      }));
    const byCategory = toCounts(
      await q(
        `SELECT category AS k, count(*) AS images, count(DISTINCT (label, category)) AS labels FROM meta GROUP BY ALL ORDER BY images DESC, k`,
      ),
    );
    const byDatabase = toCounts(
      await q(
        `SELECT database AS k, count(*) AS images, count(DISTINCT (label, category)) AS labels FROM meta GROUP BY ALL ORDER BY images DESC, k`,
      ),
    );
    const bySource = (
      await q(
        `SELECT dir_name AS k, any_value(name ORDER BY name) AS dataset, any_value(database ORDER BY database) AS db, count(*) AS images, count(DISTINCT (label, category)) AS labels FROM meta GROUP BY dir_name ORDER BY images DESC, k`,
      )
    ).map((r) => ({
      name: String(r.k),
      dataset: r.dataset === null ? '' : String(r.dataset),
      database: r.db === null ? '' : String(r.db),
      images: Number(r.images),
      labels: Number(r.labels),
    }));
    const [split] = await q(
      `SELECT count(*) FILTER (dset = 'train') AS train, count(*) FILTER (dset = 'val') AS val FROM meta`,
    );
    return { byCategory, byDatabase, bySource, train: Number(split.train), val: Number(split.val) };
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

export async function writeRejects(out: string, rejects: readonly RejectRow[]): Promise<void> {
  await writeFileAtomic(
    join(out, 'rejects.csv'),
    csvTable(
      REJECTS_COLUMNS,
      rejects.map((r) => [r.idx, r.label, r.category, r.stage, r.reason, r.detail]),
    ),
  );
}
