// CyCLOPS (yeast WT2 localisation, 17 classes): no split, leave-one-out 11-NN by Euclidean distance
// over the whole set, each cell excluded from its own neighbours by identity (its row), never by
// assuming it comes back first.
import { UserError } from '../util/errors.js';
import { cyclopsLabel } from '../datasets/cyclops-folders.js';
import { applyScaler, fitScaler } from './scaler.js';
import { selectRows } from './matrix.js';
import { exactKnn, type ExactKnnOptions } from './knn.js';
import { perClass, type ClassAccuracy } from './per-class.js';
import { accuracy, vote, type Accuracy } from './vote.js';
import type { TableRows } from './fusion.js';

export type CyclopsScaler = 'standard' | 'none';
export const CYCLOPS_CLASSES = 17;

export interface CyclopsResult {
  task: 'cyclops';
  k: number;
  metric: 'euclidean';
  scaler: CyclopsScaler;
  counts: { cells: number; classes: number; droppedRows: number; mergedRows: number };
  loo: Accuracy;
  perClass: ClassAccuracy[];
  knn: { seconds: number; fallbacks: number };
}

/** table keys: [label, ...]. Rows labelled DEAD or GHOST are dropped, SPINDLEPOLE counts as SPINDLE. */
export async function evaluateCyclops(
  table: TableRows,
  opts: { k: number; scaler: CyclopsScaler; knn?: ExactKnnOptions },
): Promise<CyclopsResult> {
  const { k } = opts;
  const rows: number[] = [];
  const labels: string[] = [];
  let dropped = 0;
  let merged = 0;
  const distinct = [...new Set(table.keys.map((key) => key[0]))];
  for (let r = 0; r < table.keys.length; r++) {
    const raw = table.keys[r][0];
    const label = cyclopsLabel(raw, distinct);
    if (label === null) {
      dropped++;
      continue;
    }
    if (label !== raw) merged++;
    rows.push(r);
    labels.push(label);
  }
  if (rows.length < k + 1) {
    throw new UserError(`${rows.length} cells; leave-one-out ${k}-NN needs at least ${k + 1}`, {
      file: table.file,
      column: 'label',
    });
  }
  let X = selectRows(table.matrix, rows);
  if (opts.scaler === 'standard') X = applyScaler(X, fitScaler(X));
  const t0 = performance.now();
  const nn = await exactKnn(X, X, k, { ...opts.knn, excludeSelf: true });
  const seconds = (performance.now() - t0) / 1000;
  const pred = labels.map((_, q) => vote(Array.from(nn.index.subarray(q * k, q * k + k), (t) => labels[t])));
  return {
    task: 'cyclops',
    k,
    metric: 'euclidean',
    scaler: opts.scaler,
    counts: { cells: rows.length, classes: new Set(labels).size, droppedRows: dropped, mergedRows: merged },
    loo: accuracy(labels.filter((t, i) => t === pred[i]).length, labels.length),
    perClass: perClass('loo', labels, pred),
    knn: { seconds, fallbacks: nn.fallbacks },
  };
}
