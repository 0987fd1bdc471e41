// The build's inputs: a catalog (docs/catalog.md) and a labels folder (docs/labels.md). Everything is
// checked here, before any work starts: missing files, a labels folder made from another catalog,
// selected rows the catalog does not have.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { z } from 'zod';
import { catalogFingerprint } from '../catalog/fingerprint.js';
import { CATALOG_TABLE, SOURCES_TABLE } from '../sources/schema.js';
import { UserError } from '../util/errors.js';
import { sqlString } from '../util/sql.js';
import { isRemote, resolveEntry } from '../sources/fetch/entry.js';
import { DIGESTED_FILES } from '../labels/labels-digest.js';

export const LABELS_FILES = DIGESTED_FILES;

const labelsJsonSchema = z.object({
  threshold: z.number().int().positive(),
  cap: z.number().int().positive(),
  presample: z.number().int().positive(),
  seed: z.union([z.number(), z.string()]).optional(),
  excludeSources: z.array(z.string()).optional(),
  catalogFingerprint: z.string(),
  toolVersion: z.string().optional(),
  /** Digests of labels.csv and assignments.csv (folders written before they existed have none). */
  sha256: z.record(z.string(), z.string()).optional(),
  /** Set by `labels --extend`: the labels folder this one grows (docs/labels.md "Extending"). */
  parent: z.object({ digest: z.string(), catalogFingerprint: z.string() }).optional(),
});
export type LabelsJson = z.infer<typeof labelsJsonSchema>;

export interface SourceInfo {
  dir_name: string;
  database: string | null;
  name: string | null;
  licence: string | null;
  citation: string | null;
}

/** One selected row: the job's inputs before paths are checked on disk. */
export interface SelectedRow {
  idx: string;
  label: string;
  category: string;
  dirName: string;
  database: string;
  /** Absolute channel files, or null when they cannot be located (reason in `problem`). */
  files: string[] | null;
  problem: string | null;
}

export interface BuildInputs {
  catalogPath: string;
  labelsDir: string;
  labelsJson: LabelsJson;
  catalogFingerprint: string;
  /** sha256 of the labels folder's three contract files. */
  labelsFingerprint: string;
  rows: SelectedRow[];
  /** Images per (label, category) after assignment; key = label \0 category. */
  labelSizes: Map<string, number>;
  /** dir_label column of labels.csv, when the labels stage wrote one; key = label \0 category. */
  dirLabelsFromLabels: Map<string, string>;
  sources: SourceInfo[];
}

export async function readInputs(catalog: string, labels: string): Promise<BuildInputs> {
  const catalogPath = resolve(catalog);
  const labelsDir = resolve(labels);
  if (!existsSync(catalogPath) || !statSync(catalogPath).isFile()) {
    throw new UserError('catalog file not found', { file: catalogPath }, 'make one with `cytoimagenet ingest`');
  }
  if (!existsSync(labelsDir) || !statSync(labelsDir).isDirectory()) {
    throw new UserError('labels folder not found', { file: labelsDir }, 'make one with `cytoimagenet labels`');
  }
  for (const f of LABELS_FILES) {
    if (!existsSync(join(labelsDir, f))) {
      throw new UserError(
        `the labels folder has no ${f}`,
        { file: join(labelsDir, f) },
        f === 'labels.json' && existsSync(join(labelsDir, 'labels.csv'))
          ? 'labels.json is written last, so a `cytoimagenet labels` run into this folder was interrupted: run it again'
          : 'point --labels at a folder written by `cytoimagenet labels`',
      );
    }
  }
  const jsonPath = join(labelsDir, 'labels.json');
  let labelsJson: LabelsJson;
  try {
    labelsJson = labelsJsonSchema.parse(JSON.parse(readFileSync(jsonPath, 'utf8')));
  } catch (e) {
    const why =
      e instanceof z.ZodError
        ? e.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')
        : (e as Error).message;
    throw new UserError(
      `labels.json is not valid: ${why}`,
      { file: jsonPath },
      'it should be the file `cytoimagenet labels` wrote',
    );
  }
  let fingerprint: string;
  try {
    fingerprint = await catalogFingerprint(catalogPath);
  } catch (e) {
    throw new UserError(
      `cannot read the catalog: ${(e as Error).message.split('\n')[0]}`,
      { file: catalogPath },
      'it should be a DuckDB file written by `cytoimagenet ingest`',
    );
  }
  if (fingerprint !== labelsJson.catalogFingerprint) {
    throw new UserError(
      `the labels folder was made from another catalog (its catalogFingerprint is ${labelsJson.catalogFingerprint}, this catalog's is ${fingerprint})`,
      { file: jsonPath },
      `re-run \`cytoimagenet labels --catalog ${catalog}\`, or pass the catalog these labels came from`,
    );
  }
  // The same digest as labelsDigest (src/labels/labels-digest.ts), with each file checked on the way.
  const h = createHash('sha256');
  for (const f of LABELS_FILES) {
    const bytes = readFileSync(join(labelsDir, f));
    const want = labelsJson.sha256?.[f];
    if (want !== undefined && createHash('sha256').update(bytes).digest('hex') !== want) {
      throw new UserError(
        `${f} does not belong with labels.json (its sha256 differs from the one labels.json records): the folder mixes two runs, or a file was edited`,
        { file: join(labelsDir, f) },
        `re-run \`cytoimagenet labels --out ${labels}\` to write the folder again`,
      );
    }
    h.update(f).update('\u0000').update(bytes).update('\u0000');
  }
  const labelsFingerprint = h.digest('hex');

  // No spill folder: nothing is written before OUT is checked (and never outside it).
  const instance = await DuckDBInstance.create(':memory:', { temp_directory: '' });
  const conn = await instance.connect();
  try {
    await conn.run(`ATTACH ${sqlString(catalogPath)} AS cat (READ_ONLY)`);
    const labelsCsv = join(labelsDir, 'labels.csv');
    const assignCsv = join(labelsDir, 'assignments.csv');
    await conn.run(
      `CREATE TEMP TABLE lab AS SELECT * FROM read_csv(${sqlString(labelsCsv)}, header = true, all_varchar = true)`,
    );
    await conn.run(
      `CREATE TEMP TABLE asg AS SELECT * FROM read_csv(${sqlString(assignCsv)}, header = true, all_varchar = true)`,
    );
    const labCols = (await conn.runAndReadAll(`SELECT column_name FROM (DESCRIBE lab)`))
      .getRowObjectsJson()
      .map((r) => String(r.column_name));
    const asgCols = (await conn.runAndReadAll(`SELECT column_name FROM (DESCRIBE asg)`))
      .getRowObjectsJson()
      .map((r) => String(r.column_name));
    for (const c of ['idx', 'label', 'category']) {
      if (!asgCols.includes(c))
        throw new UserError(`assignments.csv has no column '${c}'`, { file: assignCsv, column: c });
    }
    for (const c of ['label', 'category']) {
      if (!labCols.includes(c)) throw new UserError(`labels.csv has no column '${c}'`, { file: labelsCsv, column: c });
    }
    // labels.csv lists the kept labels; 'selected' is their row count (or a flag): 0/false means not kept.
    const selectedWhere = labCols.includes('selected')
      ? `WHERE coalesce(lower(trim(selected)), '') NOT IN ('0', 'false', 'f', 'no', '')`
      : '';
    await conn.run(
      `CREATE TEMP TABLE sel AS SELECT DISTINCT label, category${labCols.includes('dir_label') ? ', dir_label' : ', NULL AS dir_label'} FROM lab ${selectedWhere}`,
    );

    const dirLabelsFromLabels = new Map<string, string>();
    for (const r of (
      await conn.runAndReadAll(
        `SELECT label, category, dir_label FROM sel WHERE dir_label IS NOT NULL AND dir_label <> ''`,
      )
    ).getRowObjectsJson()) {
      dirLabelsFromLabels.set(`${String(r.label)}\u0000${String(r.category)}`, String(r.dir_label));
    }

    const reader = await conn.runAndReadAll(`
      SELECT a.idx, a.label, a.category, c.idx IS NULL AS unknown, c.source_files, c.dir_name, c.database, s.images_root
      FROM (SELECT DISTINCT idx, label, category FROM asg) a
      JOIN sel l ON l.label = a.label AND l.category = a.category
      LEFT JOIN cat.${CATALOG_TABLE} c ON c.idx = a.idx
      LEFT JOIN cat.${SOURCES_TABLE} s ON s.dir_name = c.dir_name`);
    const rows: SelectedRow[] = [];
    const labelSizes = new Map<string, number>();
    for (const r of reader.getRowObjectsJson()) {
      const idx = String(r.idx);
      if (r.unknown === true) {
        throw new UserError(
          `assignments.csv names idx '${idx}', which the catalog does not have`,
          { file: assignCsv, column: 'idx' },
          'the labels folder does not belong to this catalog',
        );
      }
      const label = String(r.label);
      const category = String(r.category);
      const sourceFiles = r.source_files === null ? null : String(r.source_files);
      const root = r.images_root === null ? null : String(r.images_root);
      let files: string[] | null = null;
      let problem: string | null = null;
      const parts = sourceFiles === null ? [] : sourceFiles.split('|').filter((p) => p !== '');
      if (parts.length === 0) problem = 'the catalog lists no source files for this row';
      else if (parts.some((p) => !isAbsolute(p) && !isRemote(p)) && root === null)
        problem = `source '${String(r.dir_name)}' has no images_root, so its relative source files cannot be found`;
      // URLs are read where they are (src/sources/fetch); relative entries lie under images_root
      // (images_root itself may be a URL: a registry entry's location, src/sources/dataset-registry.ts)
      else
        files = parts.map((p) =>
          isAbsolute(p) || isRemote(p)
            ? p
            : isRemote(root as string)
              ? resolveEntry(p, root as string)
              : join(root as string, p),
        );
      rows.push({ idx, label, category, dirName: String(r.dir_name), database: String(r.database), files, problem });
      const k = `${label}\u0000${category}`;
      labelSizes.set(k, (labelSizes.get(k) ?? 0) + 1);
    }

    const sources = (
      await conn.runAndReadAll(
        `SELECT dir_name, database, name, licence, citation FROM cat.${SOURCES_TABLE} ORDER BY dir_name`,
      )
    )
      .getRowObjectsJson()
      .map((r) => ({
        dir_name: String(r.dir_name),
        database: r.database === null ? null : String(r.database),
        name: r.name === null ? null : String(r.name),
        licence: r.licence === null ? null : String(r.licence),
        citation: r.citation === null ? null : String(r.citation),
      }));
    return {
      catalogPath,
      labelsDir,
      labelsJson,
      catalogFingerprint: fingerprint,
      labelsFingerprint,
      rows,
      labelSizes,
      dirLabelsFromLabels,
      sources,
    };
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read the build inputs: ${(e as Error).message.split('\n')[0]}`, { file: labelsDir });
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
