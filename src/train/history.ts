// history.csv (one row per epoch, like Keras's CSVLogger) and its curves as SVG (vega-lite) and PNG.
import sharp from 'sharp';
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse as parseVega, View } from 'vega';
import { writeFileAtomic } from '../util/fs-atomic.js';

export interface HistoryRow {
  epoch: number;
  train_loss: number;
  train_top1: number;
  train_top7: number;
  val_loss: number | null;
  val_top1: number | null;
  val_top7: number | null;
  images: number;
  seconds: number;
  images_per_second: number;
}

export const HISTORY_COLUMNS: (keyof HistoryRow)[] = [
  'epoch',
  'train_loss',
  'train_top1',
  'train_top7',
  'val_loss',
  'val_top1',
  'val_top7',
  'images',
  'seconds',
  'images_per_second',
];

function cell(v: number | null): string {
  if (v === null) return '';
  return Number.isInteger(v) ? String(v) : v.toPrecision(7);
}

export function historyCsv(rows: readonly HistoryRow[]): string {
  return (
    [HISTORY_COLUMNS.join(','), ...rows.map((r) => HISTORY_COLUMNS.map((c) => cell(r[c])).join(','))].join('\n') + '\n'
  );
}

export function historySpec(rows: readonly HistoryRow[], title: string): TopLevelSpec {
  const long: { epoch: number; metric: string; split: string; value: number }[] = [];
  for (const r of rows) {
    const add = (metric: string, split: string, value: number | null): void => {
      if (value !== null && Number.isFinite(value)) long.push({ epoch: r.epoch, metric, split, value });
    };
    add('loss', 'train', r.train_loss);
    add('loss', 'val', r.val_loss);
    add('top-1 accuracy', 'train', r.train_top1);
    add('top-1 accuracy', 'val', r.val_top1);
    add('top-7 accuracy', 'train', r.train_top7);
    add('top-7 accuracy', 'val', r.val_top7);
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    data: { values: long },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'split', type: 'nominal', title: null },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

export async function renderHistory(rows: readonly HistoryRow[], title: string): Promise<{ svg: string; png: Buffer }> {
  const view = new View(parseVega(compile(historySpec(rows, title)).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer();
  return { svg, png };
}

/** history.csv, history.svg and history.png in `dir`, each written atomically. */
export async function writeHistory(dir: string, rows: readonly HistoryRow[], title: string): Promise<void> {
  await writeFileAtomic(`${dir}/history.csv`, historyCsv(rows));
  const { svg, png } = await renderHistory(rows, title);
  await writeFileAtomic(`${dir}/history.svg`, svg);
  await writeFileAtomic(`${dir}/history.png`, png);
}
