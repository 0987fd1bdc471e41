// What an evaluation leaves in its output folder:
//   results.json        per task: correct, total, accuracy, ci95 per subset (+ counts, settings)
//   per_class.csv       accuracy per true label, for every task in results.json
//   table2.md           the paper's Table 2 layout (tasks as rows, feature sets as columns)
//   bbbc021_predictions.csv   per treatment: truth, NSC / NSCB prediction and nearest neighbour
// Running the three tasks into one folder gathers them in one results.json and one table.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { csvField } from '../util/csv.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { resolveInside } from '../util/safe-path.js';
import type { Bbbc021Result } from './bbbc021.js';
import type { Coos7Result } from './coos7.js';
import type { CyclopsResult } from './cyclops.js';
import type { ClassAccuracy } from './per-class.js';
import type { Accuracy } from './vote.js';

export type TaskResult = Bbbc021Result | Coos7Result | CyclopsResult;
export type TaskName = TaskResult['task'];

/** One task's entry in results.json: its result plus what produced it. */
export type TaskEntry = Omit<TaskResult, 'predictions'> & {
  name: string;
  features: string[];
  toolVersion: string;
  date: string;
};
export type ResultsFile = Partial<Record<TaskName, TaskEntry>>;

/** The rows of Table 2, in the paper's order: [task, subset, row title]. */
export const TABLE2_ROWS: readonly [TaskName, string, string][] = [
  ['bbbc021', 'nsc', 'BBBC021 (NSC)'],
  ['bbbc021', 'nscb', 'BBBC021 (NSCB)'],
  ['cyclops', 'loo', 'CYCLoPs (LOO)'],
  ['coos7', 'test1', 'COOS-7 test 1'],
  ['coos7', 'test2', 'COOS-7 test 2'],
  ['coos7', 'test3', 'COOS-7 test 3'],
  ['coos7', 'test4', 'COOS-7 test 4'],
];

function pct(x: number): string {
  return (100 * x).toFixed(2);
}

export function formatAccuracy(a: Accuracy): string {
  return `${pct(a.accuracy)} ± ${pct(a.ci95)} % (${a.correct}/${a.total})`;
}

function subsetOf(entry: TaskEntry | undefined, subset: string): Accuracy | undefined {
  if (!entry) return undefined;
  const v = (entry as unknown as Record<string, unknown>)[subset];
  return v && typeof v === 'object' && 'accuracy' in v ? (v as Accuracy) : undefined;
}

/** Markdown in the layout of the paper's Table 2: one row per task subset, one column per feature set. */
export function renderTable2(columns: readonly { name: string; results: ResultsFile }[]): string {
  const rows = TABLE2_ROWS.filter(([task, subset]) => columns.some((c) => subsetOf(c.results[task], subset)));
  const k = (task: TaskName): string => {
    const ks = [...new Set(columns.map((c) => c.results[task]?.k).filter((x) => x !== undefined))];
    return ks.length === 1 ? `${ks[0]}-NN` : 'k-NN';
  };
  const head = `| Task | ${columns.map((c) => c.name).join(' | ')} |`;
  const rule = `|---|${columns.map(() => '---').join('|')}|`;
  const body = rows.map(([task, subset, title]) => {
    const t = `${title}, ${k(task)}${task === 'bbbc021' ? ' cosine' : ''}`;
    return `| ${t} | ${columns
      .map((c) => {
        const a = subsetOf(c.results[task], subset);
        return a ? formatAccuracy(a) : '—';
      })
      .join(' | ')} |`;
  });
  return [
    'kNN accuracy ± 95 % interval (1.96·√(p(1−p)/n)), correct/total in brackets.',
    '',
    head,
    rule,
    ...body,
    '',
  ].join('\n');
}

export function renderPerClassCsv(results: ResultsFile): string {
  const lines = ['task,subset,label,correct,total,accuracy,ci95'];
  for (const task of ['bbbc021', 'cyclops', 'coos7'] as const) {
    const e = results[task];
    if (!e) continue;
    for (const c of e.perClass as ClassAccuracy[])
      lines.push([task, c.subset, c.label, c.correct, c.total, c.accuracy, c.ci95].map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}

export function renderBbbc021Predictions(r: Bbbc021Result): string {
  const lines = [
    'treatment,compound,concentration,week,moa,nsc_prediction,nsc_neighbour,nscb_prediction,nscb_neighbour',
  ];
  for (const p of r.predictions) {
    lines.push(
      [
        p.treatment,
        p.compound,
        p.concentration,
        p.week,
        p.moa,
        p.nsc ?? '',
        p.nscNeighbour ?? '',
        p.nscb ?? '',
        p.nscbNeighbour ?? '',
      ]
        .map(csvField)
        .join(','),
    );
  }
  return lines.join('\n') + '\n';
}

export async function readResults(dir: string): Promise<ResultsFile> {
  const path = resolveInside(dir, 'results.json');
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ResultsFile;
  } catch (e) {
    throw new UserError(
      `cannot read the earlier results: ${(e as Error).message}`,
      { file: path },
      'remove it or choose another --out folder',
    );
  }
}

/** Merge this task into DIR/results.json and rewrite the derived files. Returns the written paths. */
export async function writeResults(
  dir: string,
  result: TaskResult,
  meta: { name: string; features: string[]; toolVersion: string },
): Promise<string[]> {
  const results = await readResults(dir);
  const { predictions: _drop, ...rest } = result as TaskResult & { predictions?: unknown };
  const entry = { ...rest, ...meta, date: new Date().toISOString() } as TaskEntry;
  results[result.task] = entry;
  const written: string[] = [];
  const put = async (name: string, text: string): Promise<void> => {
    const p = resolveInside(dir, name);
    await writeFileAtomic(p, text);
    written.push(p);
  };
  await put('results.json', JSON.stringify(results, null, 2) + '\n');
  await put('per_class.csv', renderPerClassCsv(results));
  const names = [...new Set(Object.values(results).map((e) => e!.name))];
  await put('table2.md', renderTable2([{ name: names.join(' / '), results }]));
  if (result.task === 'bbbc021') await put('bbbc021_predictions.csv', renderBbbc021Predictions(result));
  return written;
}
