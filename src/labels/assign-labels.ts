// The labels stage end to end: catalog → postings → least-first selection → labels folder.
// Called by `cytoimagenet labels`, the demo and the build stage.
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { rm, rmdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Category } from '../defaults.js';
import { writeFileAtomic, writeFileAtomicPieces } from '../util/fs-atomic.js';
import { resolveInside } from '../util/safe-path.js';
import { csvTable } from '../util/csv.js';
import { assignDirLabels, dirLabelKey } from './dir-label.js';
import { debugClock, debugProcessStart } from './debug-clock.js';
import { loadLabelTable } from './load-catalog.js';
import { parseLabelsOptions, type LabelsOptions, type LabelsOptionsInput } from './options.js';
import { buildPostings } from './postings.js';
import { nothingSelectedError } from './nothing-selected.js';
import { selectLabels, type LabelOutcome } from './select-labels.js';
import {
  categoriesCsv,
  databasesCsv,
  summariseCategories,
  summariseDatabases,
  summaryMarkdown,
  type CategorySummary,
  type DatabaseSummary,
  type SummaryContext,
} from './summary.js';
import { toolVersion } from '../util/tool-version.js';
import { assignmentsCsv, writeAssignments } from './assignments-csv.js';

export { assignmentsCsv };

/** File names inside the labels folder (docs/labels.md). */
export const LABELS_FILES = {
  labels: 'labels.csv',
  assignments: 'assignments.csv',
  manifest: 'labels.json',
  candidates: 'candidates.csv',
  summaryCategories: 'summary-categories.csv',
  summaryDatabases: 'summary-databases.csv',
  summary: 'summary.md',
} as const;

/** Column order of labels.csv. */
export const LABELS_CSV_COLUMNS = [
  'label',
  'category',
  'order',
  'count',
  'candidates',
  'selected',
  'dir_label',
] as const;

/** One kept label, as written to labels.csv. */
export interface LabelRow {
  label: string;
  category: Category;
  order: number;
  count: number;
  candidates: number;
  selected: number;
  dir_label: string;
}

/** labels.json: what the labels folder was made from. */
export interface LabelsManifest {
  threshold: number;
  cap: number;
  presample: number;
  seed: number;
  excludeSources: string[];
  categories: Category[];
  catalogFingerprint: string;
  toolVersion: string;
  /**
   * sha256 of the files the build reads, so a folder mixing two runs (a re-run killed part-way,
   * files copied in) is refused by the build instead of released under the wrong seed and cap.
   */
  sha256: { 'labels.csv': string; 'assignments.csv': string };
  /** Only in a folder made by `labels --extend`: the folder it grows (docs/labels.md "Extending"). */
  parent?: { digest: string; catalogFingerprint: string };
}

export interface LabelsReport {
  outDir: string;
  /** Absolute paths of the files written. */
  files: Record<keyof typeof LABELS_FILES, string>;
  options: LabelsOptions;
  manifest: LabelsManifest;
  /** Catalog rows labelled from (after --exclude-source). */
  rows: number;
  excludedRows: number;
  /** Candidates visited (count ≥ threshold). */
  candidates: number;
  /** Labels kept. */
  labels: number;
  /** Candidates skipped for lack of rows at their visit. */
  skipped: number;
  /** Images assigned. */
  images: number;
  labelRows: LabelRow[];
  perCategory: CategorySummary[];
  perDatabase: DatabaseSummary[];
  /** Wall-clock seconds per phase (fingerprint: the writer's wait for it, as it runs alongside). */
  seconds: { fingerprint: number; load: number; select: number; write: number };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Test hook: CYTOIMAGENET_LABELS_CRASH_AT=<point> makes the process SIGKILL itself there. */
function crashPoint(point: string): void {
  if (process.env.CYTOIMAGENET_LABELS_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}

/** What a labels folder holds, ready to write (assignLabels and extendLabels share the writer). */
export interface LabelsFolderParts {
  labelRows: readonly LabelRow[];
  /** Every candidate, kept or skipped, in the order candidates.csv lists them. */
  candidates: readonly LabelOutcome[];
  /** assignments.csv, whole or made in pieces (writeAssignments), so it need not be whole in memory. */
  assignments: Buffer | ((write: (piece: Uint8Array) => void) => void);
  perCategory: CategorySummary[];
  perDatabase: DatabaseSummary[];
  summary: SummaryContext;
  /**
   * labels.json without its sha256, which the writer fills in. The catalog fingerprint may still be
   * computing: the writer awaits it only before labels.json, the last file.
   */
  manifest: Omit<LabelsManifest, 'sha256' | 'parent' | 'catalogFingerprint'> &
    Pick<LabelsManifest, 'parent'> & { catalogFingerprint: string | Promise<string> };
}

/**
 * Writes the labels folder, each file atomically. labels.json goes first and comes back last:
 * while the folder is being rewritten it has none, so a run killed here leaves a folder every
 * reader refuses (docs/labels.md, "Outputs"). The other files are written side by side (their
 * writes and fsyncs overlap on libuv's threads).
 */
export async function writeLabelsFolder(
  out: string,
  p: LabelsFolderParts,
): Promise<{ paths: LabelsReport['files']; manifest: LabelsManifest; fingerprintWait: number }> {
  const labelsCsv = Buffer.from(
    csvTable(
      LABELS_CSV_COLUMNS,
      p.labelRows.map((r) => LABELS_CSV_COLUMNS.map((c) => r[c])),
    ),
  );
  const { parent, ...rest } = p.manifest;
  const assignmentsHash = createHash('sha256');
  const { assignments } = p;
  const produceAssignments =
    typeof assignments === 'function'
      ? (write: (piece: Uint8Array) => void) =>
          assignments((piece) => {
            assignmentsHash.update(piece);
            write(piece);
          })
      : (write: (piece: Uint8Array) => void) => {
          assignmentsHash.update(assignments);
          write(assignments);
        };
  const files = Object.fromEntries(
    Object.entries(LABELS_FILES).map(([k, name]) => [k, resolveInside(out, name)]),
  ) as LabelsReport['files'];
  await rm(files.manifest, { force: true });
  const written = [
    writeFileAtomic(files.labels, labelsCsv),
    // Grouped by label in visit order, idx ascending within a label; idx bytes copied as they are.
    writeFileAtomicPieces(files.assignments, produceAssignments).then(() => crashPoint('assignments')),
    writeFileAtomic(files.summaryCategories, categoriesCsv(p.perCategory)),
    writeFileAtomic(files.summaryDatabases, databasesCsv(p.perDatabase)),
    writeFileAtomic(files.summary, summaryMarkdown(p.summary, p.perCategory, p.perDatabase)),
    writeFileAtomic(
      files.candidates,
      csvTable(
        ['label', 'category', 'order', 'count', 'candidates', 'selected', 'status', 'presampled'],
        p.candidates.map((o) => [
          o.token,
          o.category,
          o.order,
          o.count,
          o.candidates,
          o.rows.length,
          o.kept ? 'kept' : 'skipped',
          o.presampled,
        ]),
      ),
    ),
  ];
  const waitFrom = performance.now();
  const fingerprint = await rest.catalogFingerprint;
  const fingerprintWait = (performance.now() - waitFrom) / 1000;
  await Promise.all(written);
  // Written last: a folder with labels.json is complete.
  const manifest: LabelsManifest = {
    ...rest, // key order as before: catalogFingerprint keeps its place
    catalogFingerprint: fingerprint,
    sha256: { 'labels.csv': sha256(labelsCsv), 'assignments.csv': assignmentsHash.digest('hex') },
    ...(parent ? { parent } : {}),
  };
  await writeFileAtomic(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  return { paths: files, manifest, fingerprintWait };
}

export async function assignLabels(
  catalogPath: string,
  outDir: string,
  input: LabelsOptionsInput = {},
): Promise<LabelsReport> {
  debugProcessStart();
  const options = parseLabelsOptions(input);
  const catalog = resolve(catalogPath);
  const out = resolve(outDir);
  const existed = existsSync(out);
  const clock = { t: performance.now() };
  const lap = (): number => {
    const now = performance.now();
    const s = (now - clock.t) / 1000;
    clock.t = now;
    return s;
  };

  // The fingerprint is DuckDB work on its own threads: started once the load's DuckDB part is
  // done, it runs beside the single-threaded JS phases instead of competing with DuckDB, and only
  // labels.json, the last file written, waits for it.
  const loaded = await loadLabelTable(catalog, options.excludeSources, out);
  const load = lap();

  const { table } = loaded;
  const debug = debugClock();
  const postings = buildPostings(table, options.categories, options.threshold);
  debug('postings');
  const { outcomes, keptOf } = selectLabels(table, postings, options);
  debug('select');
  const kept = outcomes.filter((o) => o.kept);
  if (kept.length === 0) {
    // Nothing to write: leave no empty folder behind (an existing one is left as it was).
    if (!existed) await rmdir(out).catch(() => undefined);
    // Labels of values only --exclude-source rows hold have count 0 (the dictionaries cover the whole catalog).
    throw nothingSelectedError(
      postings.labels.filter((l) => l.count > 0),
      options,
      catalog,
    );
  }
  const folderOf = assignDirLabels(kept.map((o) => ({ label: o.token, category: o.category })));
  const folders = kept.map((o) => folderOf.get(dirLabelKey(o.token, o.category)) as string);
  const select = lap();
  debug('folders');

  const labelRows: LabelRow[] = kept.map((o, i) => ({
    label: o.token,
    category: o.category,
    order: o.order,
    count: o.count,
    candidates: o.candidates,
    selected: o.rows.length,
    dir_label: folders[i],
  }));
  const perCategory = summariseCategories(outcomes, options.categories);
  const perDatabase = summariseDatabases(table, outcomes);
  debug('summaries');
  const files = await writeLabelsFolder(out, {
    labelRows,
    candidates: outcomes,
    assignments: (write) => writeAssignments(table.idx, kept, write, keptOf),
    perCategory,
    perDatabase,
    summary: { catalog, rows: table.n, excludedRows: loaded.excludedRows, ...options },
    manifest: {
      threshold: options.threshold,
      cap: options.cap,
      presample: options.presample,
      seed: options.seed,
      excludeSources: options.excludeSources,
      categories: options.categories,
      catalogFingerprint: loaded.fingerprint,
      toolVersion: toolVersion(),
    },
  });
  const write = lap() - files.fingerprintWait;
  debug(`files written (${files.fingerprintWait.toFixed(2)} s of it waiting for the fingerprint)`);

  return {
    outDir: out,
    files: files.paths,
    options,
    manifest: files.manifest,
    rows: table.n,
    excludedRows: loaded.excludedRows,
    candidates: outcomes.length,
    labels: kept.length,
    skipped: outcomes.length - kept.length,
    images: kept.reduce((s, o) => s + o.rows.length, 0),
    labelRows,
    perCategory,
    perDatabase,
    seconds: { fingerprint: files.fingerprintWait, load, select, write },
  };
}
