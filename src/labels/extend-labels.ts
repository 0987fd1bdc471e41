// `labels --extend PARENT`: grow a labels folder from a catalog that gained rows, keeping
// everything the parent selected exactly as it is (docs/labels.md "Extending a labels folder").
// Guarantees, given the parent's catalog grown by new rows:
//   - every parent label keeps its rows and its dir_label, and every used row stays used;
//   - a parent label is topped up to the cap from never-used rows only, stratified as usual
//     (a parent label below the cap took every row it could at its visit, so those are new rows);
//   - new labels come from never-used rows, visited least-first as usual, drawn as a fresh run
//     would draw them (Rng.derive(seed, 'labels', category, token));
//   - labels.json records the parent's digest, which the incremental build checks;
//   - nothing new and the same catalog: the output is the parent, byte for byte.
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { CATEGORIES, type Category } from '../defaults.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { isInside, resolveInside } from '../util/safe-path.js';
import { Rng } from '../util/rng.js';
import { toolVersion } from '../util/tool-version.js';
import {
  assignmentsCsv,
  LABELS_FILES,
  writeLabelsFolder,
  type LabelRow,
  type LabelsFolderParts,
  type LabelsManifest,
  type LabelsReport,
} from './assign-labels.js';
import { dirLabelKey, extendDirLabels } from './dir-label.js';
import type { IdxColumn } from './idx-column.js';
import { valueId } from './label-table.js';
import { loadLabelTable } from './load-catalog.js';
import { labelsDigest } from './labels-digest.js';
import { parseLabelsOptions, type LabelsOptions, type LabelsOptionsInput } from './options.js';
import { buildPostings } from './postings.js';
import { drawRows, labelRng, type LabelOutcome } from './select-labels.js';
import { summariseCategories, summariseDatabases } from './summary.js';
import { visitOrder } from './visit-order.js';

export interface ExtendReport extends LabelsReport {
  parentDigest: string;
  /** Rows added to parent labels, and labels that grew. */
  toppedUp: number;
  grownLabels: number;
  /** Labels the parent did not have. */
  newLabels: number;
  /** True when nothing was new and the output is the parent's files, byte for byte. */
  unchanged: boolean;
}

/** The options that shape a selection; `--extend` takes them all from the parent. */
const SHAPING = ['threshold', 'cap', 'presample', 'seed', 'excludeSources', 'categories'] as const;

function readParentManifest(parent: string): LabelsManifest {
  const path = join(parent, LABELS_FILES.manifest);
  if (!existsSync(path))
    throw new UserError(
      '--extend: the folder holds no labels.json (not a finished labels folder)',
      { file: path },
      'point --extend at a folder written by `cytoimagenet labels`',
    );
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as LabelsManifest;
    if (typeof m.catalogFingerprint !== 'string' || typeof m.cap !== 'number') throw new Error('fields missing');
    return m;
  } catch (e) {
    throw new UserError(`--extend: labels.json is not valid (${(e as Error).message})`, { file: path });
  }
}

/** The parent's options; a flag given beside --extend must agree with them. */
function parentOptions(m: LabelsManifest, given: LabelsOptionsInput): LabelsOptions {
  const options = parseLabelsOptions({
    threshold: m.threshold,
    cap: m.cap,
    presample: m.presample,
    seed: m.seed,
    excludeSources: m.excludeSources ?? [],
    categories: m.categories ?? [...CATEGORIES],
  });
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const asGiven = parseLabelsOptions({ ...options, ...defined });
  const diffs = SHAPING.filter((k) => JSON.stringify(asGiven[k]) !== JSON.stringify(options[k])).map(
    (k) => `${k} ${JSON.stringify(asGiven[k])} (the parent's is ${JSON.stringify(options[k])})`,
  );
  if (diffs.length)
    throw new UserError(
      `--extend keeps the parent's options, but ${diffs.join(', ')}`,
      {},
      'leave these flags out: an extension is drawn with the options of the folder it grows',
    );
  return options;
}

/** Byte-order comparison of the idx of table row r with `key` (raw UTF-8), as DuckDB sorts. */
function compareRow(idx: IdxColumn, r: number, key: Buffer): number {
  const { bytes, offsets } = idx;
  const a = offsets[r];
  const e = offsets[r + 1];
  if (bytes[a] === 0x22) return Buffer.compare(Buffer.from(idx.get(r), 'utf8'), key); // quoted field
  const len = e - a;
  const n = Math.min(len, key.length);
  for (let j = 0; j < n; j++) {
    const d = bytes[a + j] - key[j];
    if (d !== 0) return d;
  }
  return len - key.length;
}

/** The table row holding idx, or -1 (rows are sorted by idx). */
function findRow(idx: IdxColumn, value: string): number {
  const key = Buffer.from(value, 'utf8');
  let lo = 0;
  let hi = idx.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareRow(idx, mid, key);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

interface ParentLabel {
  row: LabelRow;
  old: number[];
  added: Int32Array;
  /** Rows available at the top-up visit. */
  available: number;
  count: number;
  presampled: boolean;
}

export async function extendLabels(
  catalogPath: string,
  parentDir: string,
  outDir: string,
  given: LabelsOptionsInput = {},
): Promise<ExtendReport> {
  const t0 = performance.now();
  const catalog = resolve(catalogPath);
  const parent = resolve(parentDir);
  const out = resolve(outDir);
  if (isInside(out, parent) || isInside(parent, out))
    throw new UserError(
      '--out must be a folder of its own, apart from the --extend folder',
      { file: out },
      'the parent stays as it is: it is what releases built from it record',
    );
  const manifest = readParentManifest(parent);
  const options = parentOptions(manifest, given);
  const { threshold, cap, presample, seed } = options;
  const parentDigest = labelsDigest(parent);
  for (const f of [LABELS_FILES.labels, LABELS_FILES.assignments] as const) {
    const want = manifest.sha256?.[f];
    if (
      want !== undefined &&
      createHash('sha256')
        .update(readFileSync(join(parent, f)))
        .digest('hex') !== want
    )
      throw new UserError(
        `--extend: ${f} does not belong with labels.json (its sha256 differs from the one labels.json records)`,
        { file: join(parent, f) },
        'the parent folder mixes two runs, or a file was edited; extend the folder a release was built from',
      );
  }

  const loaded = await loadLabelTable(catalog, options.excludeSources, out);
  const { table } = loaded;
  const load = (performance.now() - t0) / 1000;
  const t1 = performance.now();

  // The parent's labels and rows, each row found in the grown catalog.
  const labelsCsv = join(parent, LABELS_FILES.labels);
  const assignCsv = join(parent, LABELS_FILES.assignments);
  const parentRows = parse(readFileSync(labelsCsv), { columns: true }) as Record<string, string>[];
  const parents = new Map<string, ParentLabel>();
  let maxOrder = 0;
  for (const r of parentRows) {
    const row: LabelRow = {
      label: r.label,
      category: r.category as Category,
      order: Number(r.order),
      count: Number(r.count),
      candidates: Number(r.candidates),
      selected: Number(r.selected),
      dir_label: r.dir_label,
    };
    if (!row.dir_label)
      throw new UserError(
        `labels.csv has no dir_label for '${row.label}' (${row.category})`,
        { file: labelsCsv, column: 'dir_label' },
        'extend a folder written by `cytoimagenet labels`: the folders of its labels must be fixed before it grows',
      );
    maxOrder = Math.max(maxOrder, row.order);
    parents.set(dirLabelKey(row.label, row.category), {
      row,
      old: [],
      added: new Int32Array(0),
      available: 0,
      count: row.count,
      presampled: false,
    });
  }
  const candidatesCsv = join(parent, LABELS_FILES.candidates);
  if (existsSync(candidatesCsv))
    for (const r of parse(readFileSync(candidatesCsv), { columns: true }) as Record<string, string>[])
      maxOrder = Math.max(maxOrder, Number(r.order) || 0);

  const used = new Uint8Array(table.n);
  const assignments = parse(readFileSync(assignCsv), { columns: true }) as Record<string, string>[];
  for (const [i, a] of assignments.entries()) {
    const where = { file: assignCsv, line: i + 2 };
    const p = parents.get(dirLabelKey(a.label, a.category));
    if (!p)
      throw new UserError(`assignments.csv names label '${a.label}' (${a.category}), which labels.csv lacks`, where);
    const r = findRow(table.idx, a.idx);
    if (r < 0)
      throw new UserError(
        `the catalog has no row '${a.idx}', which the parent labels use`,
        { ...where, column: 'idx' },
        '--extend needs the catalog the parent was made from, grown by new rows (no row removed or changed)',
      );
    const code = valueId(table.columns[a.category as Category], r);
    const value = code < 0 ? '' : table.columns[a.category as Category].values[code];
    if (!value.split('|').includes(a.label))
      throw new UserError(
        `catalog row '${a.idx}' no longer holds ${a.category} '${a.label}', as it did for the parent labels`,
        { ...where, column: 'idx' },
        '--extend needs the catalog the parent was made from, grown by new rows (no row removed or changed)',
      );
    if (used[r]) throw new UserError(`idx '${a.idx}' is assigned twice in the parent`, where);
    used[r] = 1;
    p.old.push(r);
  }

  // One visit, least-first as usual: parent labels top up from never-used rows, the others are
  // new candidates drawn as a fresh run would draw them.
  const postings = buildPostings(table, options.categories, threshold);
  let longest = 0;
  for (let l = 0; l < postings.labels.length; l++)
    longest = Math.max(longest, postings.offsets[l + 1] - postings.offsets[l]);
  const scratch = new Int32Array(longest);
  const fresh: LabelOutcome[] = [];
  for (const l of visitOrder(postings.labels, threshold)) {
    const { category, token, count } = postings.labels[l];
    let m = 0;
    for (let q = postings.offsets[l]; q < postings.offsets[l + 1]; q++) {
      const r = postings.rows[q];
      if (!used[r]) scratch[m++] = r;
    }
    const p = parents.get(dirLabelKey(token, category));
    let rows: Int32Array;
    let presampled = false;
    if (p) {
      p.count = count;
      p.available = m;
      const need = cap - p.old.length;
      if (m === 0 || need <= 0) continue;
      rows = scratch.slice(0, m);
      if (m > need) {
        const rng = Rng.derive(seed, 'labels', category, token, 'extend', parentDigest);
        ({ rows, presampled } = drawRows(table, rows, need, category, presample, rng));
      }
      p.added = rows;
      p.presampled = presampled;
    } else {
      const kept = m >= threshold;
      rows = new Int32Array(0);
      if (kept) {
        rows = scratch.slice(0, m);
        if (m > cap)
          ({ rows, presampled } = drawRows(table, rows, cap, category, presample, labelRng(seed, category, token)));
      }
      fresh.push({ token, category, order: 0, count, candidates: m, kept, presampled, rows });
    }
    for (let i = 0; i < rows.length; i++) used[rows[i]] = 1;
  }
  fresh.forEach((o, i) => {
    o.order = maxOrder + i + 1;
  });
  const newKept = fresh.filter((o) => o.kept);
  const grown = [...parents.values()].filter((p) => p.added.length > 0);
  const toppedUp = grown.reduce((s, p) => s + p.added.length, 0);
  const fingerprint = await loaded.fingerprint;
  const select = (performance.now() - t1) / 1000;
  const t2 = performance.now();

  // Parent outcomes (kept, old rows + added, ascending = idx order), then the new candidates.
  const parentOutcomes: LabelOutcome[] = [...parents.values()].map((p) => {
    const rows = Int32Array.from([...p.old, ...p.added]).sort();
    return {
      token: p.row.label,
      category: p.row.category,
      order: p.row.order,
      count: p.count,
      candidates: p.row.candidates + p.available,
      kept: true,
      presampled: p.presampled,
      rows,
    };
  });
  const outcomes = [...parentOutcomes, ...fresh];
  const kept = [...parentOutcomes, ...newKept];
  const fixed = new Map([...parents.entries()].map(([k, p]) => [k, p.row.dir_label]));
  const folderOf = extendDirLabels(
    fixed,
    newKept.map((o) => ({ label: o.token, category: o.category })),
  );
  const labelRows: LabelRow[] = kept.map((o) => ({
    label: o.token,
    category: o.category,
    order: o.order,
    count: o.count,
    candidates: o.candidates,
    selected: o.rows.length,
    dir_label: folderOf.get(dirLabelKey(o.token, o.category)) as string,
  }));
  const perCategory = summariseCategories(outcomes, options.categories);
  const perDatabase = summariseDatabases(table, outcomes);
  const files = Object.fromEntries(
    Object.entries(LABELS_FILES).map(([k, name]) => [k, resolveInside(out, name)]),
  ) as LabelsReport['files'];
  const unchanged = toppedUp === 0 && newKept.length === 0 && fingerprint === manifest.catalogFingerprint;
  const next: LabelsFolderParts['manifest'] = {
    threshold,
    cap,
    presample,
    seed,
    excludeSources: options.excludeSources,
    categories: options.categories,
    catalogFingerprint: fingerprint,
    toolVersion: toolVersion(),
    parent: { digest: parentDigest, catalogFingerprint: manifest.catalogFingerprint },
  };
  let written: LabelsManifest = manifest;
  if (unchanged) {
    // Nothing new: the extension is its parent, so a release built from the parent is complete.
    await rm(files.manifest, { force: true });
    const names = Object.keys(LABELS_FILES) as (keyof typeof LABELS_FILES)[];
    for (const k of names.filter((n) => n !== 'manifest'))
      if (existsSync(join(parent, LABELS_FILES[k])))
        await writeFileAtomic(files[k], readFileSync(join(parent, LABELS_FILES[k])));
    await writeFileAtomic(files.manifest, readFileSync(join(parent, LABELS_FILES.manifest)));
  } else {
    ({ manifest: written } = await writeLabelsFolder(out, {
      labelRows,
      candidates: outcomes,
      assignments: assignmentsCsv(table.idx, kept),
      perCategory,
      perDatabase,
      summary: { catalog, rows: table.n, excludedRows: loaded.excludedRows, ...options },
      manifest: next,
    }));
  }
  const write = (performance.now() - t2) / 1000;
  return {
    outDir: out,
    files,
    options,
    manifest: written,
    rows: table.n,
    excludedRows: loaded.excludedRows,
    candidates: outcomes.length,
    labels: kept.length,
    skipped: fresh.length - newKept.length,
    images: kept.reduce((s, o) => s + o.rows.length, 0),
    labelRows,
    perCategory,
    perDatabase,
    seconds: { fingerprint: 0, load, select, write },
    parentDigest,
    toppedUp,
    grownLabels: grown.length,
    newLabels: newKept.length,
    unchanged,
  };
}
