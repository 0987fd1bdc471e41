// The evaluate stage's edge: read the features tables, fuse them, run one protocol, write the
// results. The CLI is a thin layer over these three functions.
import { basename, extname, join, resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import { validateOptions } from '../util/zod-options.js';
import { bbbc021OptionsSchema, coos7OptionsSchema, cyclopsOptionsSchema } from './options.js';
import { loadBbbc021ImageSets, BBBC021_IMAGE_TABLE } from '../datasets/bbbc021-tables.js';
import { readFeaturesTable, type FeaturesTable } from './features-table.js';
import { fuseTables, type TableRows } from './fusion.js';
import { selectRows } from './matrix.js';
import { evaluateBbbc021, type Bbbc021Result, type Bbbc021Scaler } from './bbbc021.js';
import { evaluateCoos7, type Coos7Result, type Coos7Scaler } from './coos7.js';
import { evaluateCyclops, type CyclopsResult, type CyclopsScaler } from './cyclops.js';
import { writeResults } from './report.js';
import type { ExactKnnOptions } from './knn.js';

/** Options of the three protocols; validated (defaults filled in) by the schemas in ./options.ts. */
interface Common {
  features: string[];
  out: string;
  /** Neighbours that vote (default: the protocol's, src/defaults.ts EVALUATE). */
  k?: number;
  /** Column title in Table 2 (default: the features file names). */
  name?: string;
  toolVersion: string;
  knn?: ExactKnnOptions;
  log?: (line: string) => void;
}

function defaultName(files: readonly string[]): string {
  return files.map((f) => basename(f, extname(f))).join(' + ');
}

function rowsOf(t: FeaturesTable, keyColumns: readonly string[], keep?: (keys: string[]) => boolean): TableRows {
  const cols = keyColumns.map((k) => t.keyColumns.indexOf(k));
  const keys: string[][] = [];
  const lines: number[] = [];
  const idx: number[] = [];
  for (let r = 0; r < t.matrix.rows; r++) {
    const key = cols.map((c) => t.keys[c][r]);
    if (keep && !keep(key)) continue;
    keys.push(key);
    lines.push(t.lineOf(r));
    idx.push(r);
  }
  const matrix = idx.length === t.matrix.rows ? t.matrix : selectRows(t.matrix, idx);
  return { file: t.file, keys, lines, matrix };
}

async function readAll(
  files: readonly string[],
  required: string[],
  optional: string[],
  log?: (l: string) => void,
): Promise<FeaturesTable[]> {
  if (files.length === 0) throw new UserError('no --features table given');
  const out: FeaturesTable[] = [];
  for (const f of files) {
    const t = await readFeaturesTable(f, { required, optional });
    log?.(`read ${t.matrix.rows} rows × ${t.matrix.cols} features from ${t.file}`);
    out.push(t);
  }
  return out;
}

/** Key columns to join on: the required ones, plus optional ones every table has. */
function joinKeys(tables: readonly FeaturesTable[], required: string[], optional: string[]): string[] {
  return [...required, ...optional.filter((o) => tables.every((t) => t.keyColumns.includes(o)))];
}

export async function runBbbc021(
  input: Common & { metadata: string; scaler?: Bbbc021Scaler },
): Promise<{ result: Bbbc021Result; written: string[] }> {
  const o = { ...input, ...validateOptions(bbbc021OptionsSchema, input, 'evaluate bbbc021') };
  const metadataFile = join(resolve(o.metadata), BBBC021_IMAGE_TABLE);
  const allSets = loadBbbc021ImageSets(o.metadata, { all: true });
  const byKey = new Map(allSets.map((s) => [s.key, s]));
  const tables = await readAll(o.features, ['Image_FileName_DAPI'], [], o.log);
  let ignored = 0;
  const rows = tables.map((t, i) => {
    const r = rowsOf(t, ['Image_FileName_DAPI']);
    let matched = 0;
    r.keys.forEach((k, j) => {
      if (byKey.has(k[0])) matched++;
      else
        throw new UserError(
          `'${k[0]}' is not an image set of ${BBBC021_IMAGE_TABLE}`,
          { file: t.file, line: r.lines[j], column: 'Image_FileName_DAPI' },
          'the key column must hold Image_FileName_DAPI values',
        );
    });
    if (matched === 0)
      throw new UserError('no row matches a BBBC021 image set', { file: t.file, column: 'Image_FileName_DAPI' });
    // Rows without an MOA take no part; drop them before fusing so tables may differ there.
    const kept = rowsOf(t, ['Image_FileName_DAPI'], (k) => byKey.get(k[0])!.moa !== null);
    if (i === 0) ignored = r.keys.length - kept.keys.length;
    return kept;
  });
  const fused = fuseTables(rows, ['Image_FileName_DAPI']);
  const result = evaluateBbbc021(allSets, fused, { k: o.k, scaler: o.scaler, metadataFile });
  result.counts.ignoredRows = ignored;
  const written = await writeResults(o.out, result, {
    name: o.name ?? defaultName(o.features),
    features: tables.map((t) => t.file),
    toolVersion: o.toolVersion,
  });
  return { result, written };
}

export async function runCoos7(
  input: Common & { scaler?: Coos7Scaler },
): Promise<{ result: Coos7Result; written: string[] }> {
  const o = { ...input, ...validateOptions(coos7OptionsSchema, input, 'evaluate coos7') };
  const tables = await readAll(o.features, ['split', 'label'], ['id'], o.log);
  const keys = joinKeys(tables, ['split', 'label'], ['id']);
  const fused = fuseTables(
    tables.map((t) => rowsOf(t, keys)),
    keys,
  );
  const result = await evaluateCoos7(fused, { k: o.k, scaler: o.scaler, knn: o.knn });
  const written = await writeResults(o.out, result, {
    name: o.name ?? defaultName(o.features),
    features: tables.map((t) => t.file),
    toolVersion: o.toolVersion,
  });
  return { result, written };
}

export async function runCyclops(
  input: Common & { scaler?: CyclopsScaler },
): Promise<{ result: CyclopsResult; written: string[] }> {
  const o = { ...input, ...validateOptions(cyclopsOptionsSchema, input, 'evaluate cyclops') };
  const tables = await readAll(o.features, ['label'], ['id'], o.log);
  const keys = joinKeys(tables, ['label'], ['id']);
  const fused = fuseTables(
    tables.map((t) => rowsOf(t, keys)),
    keys,
  );
  const result = await evaluateCyclops(fused, { k: o.k, scaler: o.scaler, knn: o.knn });
  const written = await writeResults(o.out, result, {
    name: o.name ?? defaultName(o.features),
    features: tables.map((t) => t.file),
    toolVersion: o.toolVersion,
  });
  return { result, written };
}
