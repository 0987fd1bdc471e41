// The overview's numbers (counts over metadata.csv and rejects.csv, one GROUP BY each) and the
// vega-lite specs that draw them. The data are small (one row per category, source, reason…), so
// they are inlined in the specs; the browser renders them with the vega bundled in the site.
import type { ReleaseDb } from './release-db.js';

export interface FigureData {
  totals: { images: number; labels: number; crops: number; whole: number; sources: number; rejects: number };
  byCategory: { category: string; images: number; labels: number }[];
  byDatabase: { database: string; images: number; labels: number }[];
  bySource: { source: string; dataset: string; database: string; images: number; labels: number }[];
  cropVsWhole: { kind: 'crop' | 'whole image'; images: number }[];
  /** Scaling factor (1 = whole image) per kind. */
  scaling: { scaling: number; kind: 'crop' | 'whole image'; images: number }[];
  rejectsByReason: { reason: string; stage: string; rejects: number }[];
  rejectsBySource: { source: string; reason: string; rejects: number }[];
  split: { dset: string; category: string; images: number }[];
}

const s = (v: unknown): string => (v === null || v === undefined ? '(none)' : String(v));
const kindOf = (crop: unknown): 'crop' | 'whole image' => (crop === true ? 'crop' : 'whole image');

export async function figureData(db: ReleaseDb): Promise<FigureData> {
  const [t] = await db.rows(
    `SELECT count(*) AS images, count(DISTINCT path) AS labels, count(*) FILTER (crop) AS crops, count(DISTINCT dir_name) AS sources FROM m`,
  );
  const [rj] = await db.rows('SELECT count(*) AS n FROM r');
  const per = (col: string) =>
    db.rows(
      `SELECT "${col}" AS k, count(*) AS images, count(DISTINCT path) AS labels FROM m GROUP BY ALL ORDER BY images DESC, k`,
    );
  return {
    totals: {
      images: Number(t.images),
      labels: Number(t.labels),
      crops: Number(t.crops),
      whole: Number(t.images) - Number(t.crops),
      sources: Number(t.sources),
      rejects: Number(rj.n),
    },
    byCategory: (await per('category')).map((r) => ({
      category: s(r.k),
      images: Number(r.images),
      labels: Number(r.labels),
    })),
    byDatabase: (await per('database')).map((r) => ({
      database: s(r.k),
      images: Number(r.images),
      labels: Number(r.labels),
    })),
    bySource: (
      await db.rows(
        `SELECT dir_name AS k, any_value(name ORDER BY name) AS dataset, any_value(database ORDER BY database) AS db, count(*) AS images, count(DISTINCT path) AS labels FROM m GROUP BY dir_name ORDER BY images DESC, k`,
      )
    ).map((r) => ({
      source: s(r.k),
      dataset: r.dataset === null ? '' : String(r.dataset),
      database: r.db === null ? '' : String(r.db),
      images: Number(r.images),
      labels: Number(r.labels),
    })),
    cropVsWhole: (await db.rows('SELECT crop, count(*) AS images FROM m GROUP BY crop ORDER BY crop DESC')).map(
      (r) => ({ kind: kindOf(r.crop), images: Number(r.images) }),
    ),
    scaling: (
      await db.rows(
        'SELECT coalesce(scaling, 1) AS scaling, crop, count(*) AS images FROM m GROUP BY ALL ORDER BY scaling DESC, crop',
      )
    ).map((r) => ({ scaling: Number(r.scaling), kind: kindOf(r.crop), images: Number(r.images) })),
    rejectsByReason: (
      await db.rows(
        "SELECT coalesce(reason, '(none)') AS reason, coalesce(stage, '(none)') AS stage, count(*) AS n FROM r GROUP BY ALL ORDER BY n DESC, reason, stage",
      )
    ).map((r) => ({ reason: s(r.reason), stage: s(r.stage), rejects: Number(r.n) })),
    rejectsBySource: (
      await db.rows(
        "SELECT source, coalesce(reason, '(none)') AS reason, count(*) AS n FROM r GROUP BY ALL ORDER BY source, n DESC, reason",
      )
    ).map((r) => ({ source: s(r.source), reason: s(r.reason), rejects: Number(r.n) })),
    split: (
      await db.rows(
        "SELECT coalesce(dset, '(none)') AS dset, category, count(*) AS images FROM m GROUP BY ALL ORDER BY dset DESC, category",
      )
    ).map((r) => ({ dset: s(r.dset), category: s(r.category), images: Number(r.images) })),
  };
}

type Spec = Record<string, unknown>;

const WIDTH = 360;

function bars(title: string, values: object[], y: string, x: string, extra: Spec = {}): Spec {
  const n = new Set(values.map((v) => (v as Record<string, unknown>)[y])).size;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: WIDTH,
    height: { step: n > 40 ? 10 : 18 },
    data: { values },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: y, type: 'nominal', sort: '-x', title: null, axis: { labelLimit: 180 } },
      x: { field: x, type: 'quantitative', aggregate: 'sum', title: x },
      ...extra,
    },
  };
}

/** Scaling factors as the spec writes them (1, 1/2, 1/4 …). */
export function scalingName(f: number): string {
  if (f === 1) return '1 (whole image)';
  const inv = 1 / f;
  return Number.isInteger(Math.round(inv * 1e6) / 1e6) ? `1/${Math.round(inv)}` : String(f);
}

/** The overview charts, by element id. */
export function chartSpecs(d: FigureData): Record<string, Spec> {
  const kindColor = {
    field: 'kind',
    type: 'nominal',
    title: null,
    scale: { domain: ['whole image', 'crop'], range: ['#4c78a8', '#f58518'] },
  };
  return {
    'chart-category': bars('Images per category', d.byCategory, 'category', 'images'),
    'chart-database': bars('Images per database', d.byDatabase, 'database', 'images'),
    'chart-source': bars('Images per source', d.bySource, 'source', 'images', {
      tooltip: [
        { field: 'source' },
        { field: 'dataset' },
        { field: 'database' },
        { field: 'images', type: 'quantitative' },
        { field: 'labels', type: 'quantitative' },
      ],
    }),
    'chart-crops': bars('Crops and whole images', d.cropVsWhole, 'kind', 'images', { color: kindColor }),
    'chart-scaling': {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: 'Scaling (crop side / image side)',
      width: WIDTH,
      height: 160,
      data: { values: d.scaling.map((r) => ({ ...r, factor: scalingName(r.scaling) })) },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: {
          field: 'factor',
          type: 'ordinal',
          sort: { field: 'scaling', order: 'descending' },
          title: 'scaling',
          axis: { labelAngle: 0 },
        },
        y: { field: 'images', type: 'quantitative', aggregate: 'sum', title: 'images' },
        color: kindColor,
      },
    },
    'chart-rejects-reason': bars(
      `Rejects per reason (${d.totals.rejects} in rejects.csv)`,
      d.rejectsByReason,
      'reason',
      'rejects',
      { color: { field: 'stage', type: 'nominal' } },
    ),
    'chart-rejects-source': bars('Rejects per source', d.rejectsBySource, 'source', 'rejects', {
      color: { field: 'reason', type: 'nominal' },
    }),
    'chart-split': {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: 'Train / val split per category',
      width: WIDTH,
      height: { step: 18 },
      data: { values: d.split },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'category', type: 'nominal', title: null },
        x: { field: 'images', type: 'quantitative', aggregate: 'sum', title: 'images' },
        color: { field: 'dset', type: 'nominal', title: null, scale: { domain: ['train', 'val'] } },
      },
    },
  };
}
