// A release opened for the report: metadata.csv and rejects.csv loaded into a DuckDB file in a
// temporary folder (so memory stays bounded at 1 M rows: DuckDB spills, and each query reads one
// label's rows, found by the zone maps of a table sorted by path). Columns are read by name, so
// columns added to metadata.csv later (or in another order) do not matter.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { CATALOG_TABLE, SOURCES_TABLE } from '../sources/schema.js';
import { isRemote, resolveEntry } from '../sources/fetch/entry.js';
import { UserError } from '../util/errors.js';
import { sqlString as sql } from '../util/sql.js';

/** The metadata.csv columns the report reads. */
export const NEEDED_COLUMNS = [
  'label',
  'category',
  'database',
  'name',
  'dir_name',
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
  'source_files',
  'source_idx',
] as const;
const REJECT_COLUMNS = ['idx', 'label', 'category', 'stage', 'reason'] as const;

export type Row = Record<string, unknown>;

/** One label of the release, as the index lists it. */
export interface LabelSummary {
  label: string;
  category: string;
  /** Folder name in the release (and file name in the report). */
  dirLabel: string;
  images: number;
  crops: number;
  train: number;
  val: number;
  /** dir_name of each source, by images descending. */
  sources: string[];
}

/** One image of the release with its provenance. */
export interface ImageRow {
  label: string;
  category: string;
  dirName: string;
  path: string;
  filename: string;
  idx: string;
  crop: boolean;
  scaling: number | null;
  box: { x_min: number; x_max: number; y_min: number; y_max: number } | null;
  dset: string;
  sourceIdx: string;
  /** As listed in metadata.csv ('|' between channels). */
  sourceFiles: string;
}

export class ReleaseDb {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly conn: DuckDBConnection,
    private readonly work: string,
    readonly release: string,
    /** images_root per source (from --catalog), to find relative source files. */
    readonly roots: Map<string, string | null>,
  ) {}

  static async open(releaseDir: string, catalog?: string): Promise<ReleaseDb> {
    const release = resolve(releaseDir);
    const meta = join(release, 'metadata.csv');
    if (!existsSync(meta))
      throw new UserError(
        'metadata.csv not found in the release folder',
        { file: meta },
        'point --release at a folder written by cytoimagenet build',
      );
    const rejects = join(release, 'rejects.csv');
    if (catalog !== undefined && !existsSync(catalog))
      throw new UserError('catalog not found', { file: catalog }, 'give the catalog the release was built from');
    const work = await mkdtemp(join(tmpdir(), 'cytoimagenet-report-'));
    const instance = await DuckDBInstance.create(join(work, 'report.duckdb'), {
      threads: '2',
      memory_limit: '1GB',
      temp_directory: join(work, 'spill'),
    });
    const conn = await instance.connect();
    try {
      const have = await columnsOf(conn, meta);
      for (const c of NEEDED_COLUMNS)
        if (!have.includes(c))
          throw new UserError(
            'required column missing',
            { file: meta, column: c },
            'the report reads metadata.csv as cytoimagenet build writes it',
          );
      const read = `read_csv(${sql(meta)}, header = true, all_varchar = true, quote = '"', escape = '"')`;
      const int = (c: string) => `TRY_CAST(NULLIF("${c}", '') AS INTEGER) AS "${c}"`;
      await conn.run(
        `CREATE TABLE m AS SELECT label, category, database, name, dir_name, path, filename, idx, ` +
          `lower(crop) IN ('true', '1', 't') AS crop, TRY_CAST(NULLIF(scaling, '') AS DOUBLE) AS scaling, ` +
          `${['x_min', 'x_max', 'y_min', 'y_max'].map(int).join(', ')}, dset, source_files, source_idx ` +
          `FROM ${read} ORDER BY path, filename`,
      );
      const roots = new Map<string, string | null>();
      if (catalog !== undefined) {
        await conn.run(`ATTACH ${sql(resolve(catalog))} AS cat (READ_ONLY)`);
        const r = await conn.runAndReadAll(`SELECT dir_name, images_root FROM cat.${SOURCES_TABLE} ORDER BY dir_name`);
        for (const row of r.getRowObjectsJson())
          roots.set(String(row.dir_name), row.images_root === null ? null : String(row.images_root));
      }
      if (existsSync(rejects)) {
        const rhave = await columnsOf(conn, rejects);
        for (const c of REJECT_COLUMNS)
          if (!rhave.includes(c)) throw new UserError('required column missing', { file: rejects, column: c });
        await conn.run(
          `CREATE TABLE r0 AS SELECT idx, label, category, stage, reason FROM read_csv(${sql(rejects)}, header = true, all_varchar = true, quote = '"', escape = '"')`,
        );
      } else {
        await conn.run('CREATE TABLE r0 (idx VARCHAR, label VARCHAR, category VARCHAR, stage VARCHAR, reason VARCHAR)');
      }
      // A reject's source: from the catalog when given; otherwise the idx prefix (`<dir_name>-…`,
      // how ingest names rows) among the release's sources, longest match first.
      const fromCatalog =
        catalog !== undefined ? `(SELECT c.dir_name FROM cat.${CATALOG_TABLE} c WHERE c.idx = r0.idx LIMIT 1)` : 'NULL';
      await conn.run(
        `CREATE TABLE r AS SELECT r0.*, coalesce(${fromCatalog}, ` +
          `(SELECT d.dir_name FROM (SELECT DISTINCT dir_name FROM m) d WHERE starts_with(r0.idx, d.dir_name || '-') ORDER BY length(d.dir_name) DESC, d.dir_name LIMIT 1), ` +
          `'(unknown)') AS source FROM r0`,
      );
      return new ReleaseDb(instance, conn, work, release, roots);
    } catch (e) {
      conn.closeSync();
      instance.closeSync();
      await rm(work, { recursive: true, force: true });
      if (e instanceof UserError) throw e;
      throw new UserError(`cannot read the release: ${(e as Error).message.split('\n')[0]}`, { file: meta });
    }
  }

  async rows(q: string): Promise<Row[]> {
    return (await this.conn.runAndReadAll(q)).getRowObjectsJson() as Row[];
  }

  /** Every label, in release order (by folder). */
  async labels(): Promise<LabelSummary[]> {
    const rows = await this.rows(
      `SELECT path, any_value(label ORDER BY label) AS label, any_value(category ORDER BY category) AS category, ` +
        `count(*) AS images, count(*) FILTER (crop) AS crops, count(*) FILTER (dset = 'train') AS train, ` +
        `count(*) FILTER (dset = 'val') AS val FROM m GROUP BY path ORDER BY path`,
    );
    const src = await this.rows(
      `SELECT path, dir_name, count(*) AS n FROM m GROUP BY path, dir_name ORDER BY path, n DESC, dir_name`,
    );
    const sources = new Map<string, string[]>();
    for (const s of src) {
      const k = String(s.path);
      if (!sources.has(k)) sources.set(k, []);
      sources.get(k)!.push(String(s.dir_name));
    }
    return rows.map((r) => ({
      label: String(r.label),
      category: String(r.category),
      dirLabel: String(r.path),
      images: Number(r.images),
      crops: Number(r.crops),
      train: Number(r.train),
      val: Number(r.val),
      sources: sources.get(String(r.path)) ?? [],
    }));
  }

  /** Rows number `positions` (0-based, in filename order) of one label, in the order given. */
  async imagesAt(dirLabel: string, positions: readonly number[]): Promise<ImageRow[]> {
    if (positions.length === 0) return [];
    const rows = await this.rows(
      `SELECT * FROM (SELECT *, row_number() OVER (ORDER BY filename) - 1 AS i FROM m WHERE path = ${sql(dirLabel)}) ` +
        `WHERE i IN (${positions.join(', ')})`,
    );
    const byPos = new Map(rows.map((r) => [Number(r.i), toImageRow(r)]));
    return positions.map((p) => byPos.get(p)!);
  }

  /** The rows of one label whose source_idx is in `sourceIdx`. */
  async imagesOfSources(dirLabel: string, sourceIdx: readonly string[]): Promise<ImageRow[]> {
    if (sourceIdx.length === 0) return [];
    const rows = await this.rows(
      `SELECT * FROM m WHERE path = ${sql(dirLabel)} AND source_idx IN (${sourceIdx.map(sql).join(', ')}) ORDER BY filename`,
    );
    return rows.map(toImageRow);
  }

  /** Distinct source image sets of one label, by source_idx. */
  async sourcesOf(dirLabel: string): Promise<{ sourceIdx: string; dirName: string; sourceFiles: string }[]> {
    const rows = await this.rows(
      `SELECT source_idx, any_value(dir_name ORDER BY dir_name) AS dir_name, any_value(source_files ORDER BY source_files) AS f ` +
        `FROM m WHERE path = ${sql(dirLabel)} GROUP BY source_idx ORDER BY source_idx`,
    );
    return rows.map((r) => ({
      sourceIdx: String(r.source_idx),
      dirName: String(r.dir_name),
      sourceFiles: r.f === null ? '' : String(r.f),
    }));
  }

  /** Absolute channel files of a source image set, or why they cannot be found. */
  sourcePaths(dirName: string, sourceFiles: string): { files: string[] } | { problem: string } {
    const parts = sourceFiles.split('|').filter((p) => p !== '');
    if (parts.length === 0) return { problem: 'metadata.csv lists no source files' };
    const whole = (p: string): boolean => isAbsolute(p) || isRemote(p);
    if (parts.every(whole)) return { files: parts };
    const root = this.roots.get(dirName);
    if (root === undefined || root === null)
      return {
        problem:
          this.roots.size === 0
            ? 'relative source files: give --catalog (the catalog the release was built from) to find them'
            : `source '${dirName}' has no images_root in the catalog`,
      };
    // images_root may be a URL (a registry entry's location)
    return { files: parts.map((p) => (whole(p) ? p : isRemote(root) ? resolveEntry(p, root) : join(root, p))) };
  }

  async close(): Promise<void> {
    this.conn.closeSync();
    this.instance.closeSync();
    await rm(this.work, { recursive: true, force: true });
  }
}

async function columnsOf(conn: DuckDBConnection, csv: string): Promise<string[]> {
  const r = await conn.runAndReadAll(
    `DESCRIBE SELECT * FROM read_csv(${sql(csv)}, header = true, all_varchar = true, quote = '"', escape = '"')`,
  );
  return r.getRowObjectsJson().map((x) => String(x.column_name));
}

const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

function toImageRow(r: Row): ImageRow {
  const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  const [x0, x1, y0, y1] = [n(r.x_min), n(r.x_max), n(r.y_min), n(r.y_max)];
  return {
    label: str(r.label),
    category: str(r.category),
    dirName: str(r.dir_name),
    path: str(r.path),
    filename: str(r.filename),
    idx: str(r.idx),
    crop: r.crop === true,
    scaling: n(r.scaling),
    box:
      x0 !== null && x1 !== null && y0 !== null && y1 !== null ? { x_min: x0, x_max: x1, y_min: y0, y_max: y1 } : null,
    dset: str(r.dset),
    sourceIdx: str(r.source_idx),
    sourceFiles: str(r.source_files),
  };
}
