// A release folder as training data: metadata.csv (label, dset, path, filename, ...) → the train
// and val image lists and the class index. The split is the release's own `dset` column (the
// build stage draws it stratified, like the spec's train_test_split(test_size=0.1)).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { UserError } from '../util/errors.js';
import { isInside } from '../util/safe-path.js';

export interface TrainItem {
  /** Stable id: `<path>/<filename>` (also the key for per-image random streams). */
  key: string;
  file: string;
  label: string;
  classIndex: number;
}

export interface ReleaseSplit {
  /** Class names in index order (sorted, as Keras's flow_from_dataframe orders them). */
  classes: string[];
  train: TrainItem[];
  val: TrainItem[];
}

export const REQUIRED_COLUMNS = ['label', 'dset', 'path', 'filename'] as const;

/** `--labels-subset`: a file (one label per line, or a CSV with a `label` column) or a comma list. */
export function parseLabelsSubset(arg: string): string[] {
  let labels: string[];
  if (existsSync(arg) && statSync(arg).isFile()) {
    const text = readFileSync(arg, 'utf8');
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (
      lines.length > 0 &&
      lines[0]
        .split(',')
        .map((s) => s.trim())
        .includes('label')
    ) {
      const rows = parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
      labels = rows.map((r) => r.label);
    } else {
      labels = lines.map((l) => l.trim());
    }
  } else {
    labels = arg.split(',').map((s) => s.trim());
  }
  labels = labels.filter((l) => l !== '');
  if (labels.length === 0)
    throw new UserError(
      `--labels-subset '${arg}' names no labels`,
      {},
      'give a comma list (a,b,c) or a file with one label per line',
    );
  return [...new Set(labels)];
}

/** Read the release's metadata.csv and build the split, optionally restricted to some labels. */
export function readReleaseSplit(releaseDir: string, subset?: readonly string[]): ReleaseSplit {
  const meta = join(releaseDir, 'metadata.csv');
  if (!existsSync(meta)) {
    throw new UserError(
      `no metadata.csv in ${releaseDir}`,
      { file: meta },
      'point --release at a folder written by `cytoimagenet build`',
    );
  }
  const text = readFileSync(meta, 'utf8');
  let rows: string[][];
  try {
    rows = parse(text, { skip_empty_lines: true, relax_column_count: false }) as string[][];
  } catch (e) {
    const err = e as { lines?: number; message: string };
    throw new UserError(`cannot parse metadata.csv: ${err.message}`, { file: meta, line: err.lines });
  }
  if (rows.length === 0) throw new UserError('metadata.csv is empty', { file: meta });
  const header = rows[0];
  const col: Record<string, number> = {};
  for (const name of REQUIRED_COLUMNS) {
    const i = header.indexOf(name);
    if (i < 0)
      throw new UserError(
        `metadata.csv has no '${name}' column`,
        { file: meta, line: 1, column: name },
        `training needs the columns ${REQUIRED_COLUMNS.join(', ')}`,
      );
    col[name] = i;
  }
  const wanted = subset ? new Set(subset) : undefined;
  const seen = new Set<string>();
  const raw: { key: string; file: string; label: string; dset: 'train' | 'val' }[] = [];
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r];
    const line = r + 1;
    const label = row[col.label];
    const dset = row[col.dset];
    if (!label) throw new UserError('empty label', { file: meta, line, column: 'label' });
    if (dset !== 'train' && dset !== 'val') {
      throw new UserError(`dset is '${dset}', expected 'train' or 'val'`, { file: meta, line, column: 'dset' });
    }
    seen.add(label);
    if (wanted && !wanted.has(label)) continue;
    const key = `${row[col.path]}/${row[col.filename]}`;
    const file = join(releaseDir, row[col.path], row[col.filename]);
    if (!isInside(releaseDir, file))
      throw new UserError(`image path leaves the release folder: ${key}`, { file: meta, line, column: 'path' });
    raw.push({ key, file, label, dset });
  }
  if (wanted) {
    const missing = [...wanted].filter((l) => !seen.has(l));
    if (missing.length > 0) {
      throw new UserError(
        `--labels-subset names ${missing.length} label(s) not in the release: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}`,
        { file: meta },
        'labels are matched exactly against the label column of metadata.csv',
      );
    }
  }
  const classes = [...new Set(raw.map((x) => x.label))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (classes.length < 2)
    throw new UserError(`training needs at least 2 labels, the selection has ${classes.length}`, { file: meta });
  const index = new Map(classes.map((c, i) => [c, i]));
  const train: TrainItem[] = [];
  const val: TrainItem[] = [];
  for (const x of raw) {
    const item: TrainItem = { key: x.key, file: x.file, label: x.label, classIndex: index.get(x.label)! };
    (x.dset === 'train' ? train : val).push(item);
  }
  if (train.length === 0)
    throw new UserError('the release has no training images (dset = train) for the selected labels', { file: meta });
  return { classes, train, val };
}
