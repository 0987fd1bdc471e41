// COOS-7 (Lu et al. 2019): fit on the training split, 11-NN by Euclidean distance, accuracy on each
// of the four test splits (each a different kind of shift from training) and per class.
import { UserError } from '../util/errors.js';
import { COOS7_SPLITS } from '../datasets/coos7-folders.js';
import { applyScaler, fitScaler } from './scaler.js';
import { selectRows } from './matrix.js';
import { exactKnn, type ExactKnnOptions } from './knn.js';
import { perClass, type ClassAccuracy } from './per-class.js';
import { accuracy, vote, type Accuracy } from './vote.js';
import type { TableRows } from './fusion.js';

export type Coos7Scaler = 'standard' | 'none';
export const COOS7_TESTS = ['test1', 'test2', 'test3', 'test4'] as const;

export interface Coos7Result {
  task: 'coos7';
  k: number;
  metric: 'euclidean';
  scaler: Coos7Scaler;
  counts: Record<string, number>;
  test1?: Accuracy;
  test2?: Accuracy;
  test3?: Accuracy;
  test4?: Accuracy;
  perClass: ClassAccuracy[];
  knn: { seconds: number; fallbacks: number };
}

/** table keys: [split, label, ...]. */
export async function evaluateCoos7(
  table: TableRows,
  opts: { k: number; scaler: Coos7Scaler; knn?: ExactKnnOptions },
): Promise<Coos7Result> {
  const { k } = opts;
  const bySplit = new Map<string, number[]>(COOS7_SPLITS.map((s) => [s, []]));
  for (let r = 0; r < table.keys.length; r++) {
    const split = table.keys[r][0];
    const rows = bySplit.get(split);
    if (!rows)
      throw new UserError(
        `unknown split '${split}'`,
        { file: table.file, line: table.lines[r], column: 'split' },
        `split must be one of ${COOS7_SPLITS.join(', ')}`,
      );
    rows.push(r);
  }
  const train = bySplit.get('train')!;
  if (train.length < k + 1) {
    throw new UserError(`${train.length} training rows (split = train); ${k}-NN needs at least ${k + 1}`, {
      file: table.file,
      column: 'split',
    });
  }
  const tests = COOS7_TESTS.filter((s) => bySplit.get(s)!.length > 0);
  if (tests.length === 0)
    throw new UserError('no test rows (split = test1..test4)', { file: table.file, column: 'split' });

  const trainX = selectRows(table.matrix, train);
  const queryRows = tests.flatMap((s) => bySplit.get(s)!);
  let queryX = selectRows(table.matrix, queryRows);
  let trainS = trainX;
  if (opts.scaler === 'standard') {
    const sc = fitScaler(trainX);
    trainS = applyScaler(trainX, sc);
    queryX = applyScaler(queryX, sc);
  }
  const t0 = performance.now();
  const nn = await exactKnn(trainS, queryX, k, opts.knn);
  const seconds = (performance.now() - t0) / 1000;
  const trainLabels = train.map((r) => table.keys[r][1]);

  const result: Coos7Result = {
    task: 'coos7',
    k,
    metric: 'euclidean',
    scaler: opts.scaler,
    counts: {},
    perClass: [],
    knn: { seconds, fallbacks: nn.fallbacks },
  };
  for (const s of COOS7_SPLITS) result.counts[s] = bySplit.get(s)!.length;
  let q = 0;
  for (const s of tests) {
    const rows = bySplit.get(s)!;
    const truth: string[] = [];
    const pred: string[] = [];
    for (const r of rows) {
      const labels = Array.from(nn.index.subarray(q * k, q * k + k), (t) => trainLabels[t]);
      truth.push(table.keys[r][1]);
      pred.push(vote(labels));
      q++;
    }
    result[s] = accuracy(truth.filter((t, i) => t === pred[i]).length, truth.length);
    result.perClass.push(...perClass(s, truth, pred));
  }
  return result;
}
