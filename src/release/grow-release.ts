// An incremental build (docs/build.md "Growing a release"): `build --labels EXTENDED --out
// RELEASE`, where EXTENDED was made by `labels --extend` from the labels RELEASE was built from.
// Only what is new is built; released files are never read or rewritten and never renamed.
//
// Before anything in RELEASE changes, the tables that will be rewritten (metadata.parquet,
// rejects.csv, shards/index.json, build.json) are copied to OUT/.build/base; a killed build
// resumes from that copy, so the release as it was is the base of every retry.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { UserError } from '../util/errors.js';
import { dirLabelKey } from '../labels/dir-label.js';
import { BUILD_JSON, type BuildRecord, type Generation } from './out-folder.js';
import { sqlString } from '../util/sql.js';
import { sortRejects, type ReleasePlan, type ReleaseStats } from './release-plan.js';
import { compareCodePoints } from '../util/stable-order.js';
import type { DroppedLabel, Job, RejectRow, RejectStage } from './types.js';
import { SHARDS_DIR, type ShardInfo } from './webdataset.js';

export const BASE_DIR = 'base';

/** What the release held before this generation. */
export interface ReleaseBase {
  record: BuildRecord;
  /** The metadata rows as they were (read by DuckDB when the tables are rewritten). */
  metadataParquet: string;
  /** Released labels: folder, image count and every catalog idx the label has seen (released or rejected). */
  released: Map<string, { dirLabel: string; images: number }>;
  /** Per label key: idx already built for it (released or rejected). */
  known: Map<string, Set<string>>;
  rejects: RejectRow[];
  images: number;
  crops: number;
  /** shards/index.json entries, when the release has shards. */
  shards: ShardInfo[];
  generations: Generation[];
}

const TABLES = ['metadata.parquet', 'rejects.csv', BUILD_JSON, 'README.md'] as const;

/** Copies the tables an incremental build rewrites into workDir/base (atomically: a rename last). */
export function snapshotBase(out: string, workDir: string): void {
  const base = join(workDir, BASE_DIR);
  const tmp = `${base}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const f of TABLES) copyFileSync(join(out, f), join(tmp, f));
  const index = join(out, SHARDS_DIR, 'index.json');
  if (existsSync(index)) copyFileSync(index, join(tmp, 'shards-index.json'));
  rmSync(base, { recursive: true, force: true });
  renameSync(tmp, base);
}

/** A number from the old card's quality-control list (releases built before generations were recorded). */
function cardFigure(card: string, line: string): number {
  const m = card.match(new RegExp(`^- ${line}: ([\\d,]+)`, 'm'));
  return m ? Number(m[1].replaceAll(',', '')) : 0;
}

export async function loadBase(workDir: string): Promise<ReleaseBase> {
  const base = join(workDir, BASE_DIR);
  if (!existsSync(base))
    throw new UserError(
      'the work folder of this incremental build lost its copy of the release it grows',
      { file: base },
      'restore the release from a backup; it cannot be grown safely',
    );
  const record = JSON.parse(readFileSync(join(base, BUILD_JSON), 'utf8')) as BuildRecord;
  const metadataParquet = join(base, 'metadata.parquet');
  const instance = await DuckDBInstance.create(':memory:', { temp_directory: '' });
  const conn = await instance.connect();
  try {
    const released = new Map<string, { dirLabel: string; images: number }>();
    const known = new Map<string, Set<string>>();
    const see = (key: string, idx: string): void => {
      const s = known.get(key);
      if (s) s.add(idx);
      else known.set(key, new Set([idx]));
    };
    const labels = (
      await conn.runAndReadAll(
        `SELECT label, category, any_value(path) AS path, count(*)::INTEGER AS n FROM read_parquet(${sqlString(metadataParquet)}) GROUP BY label, category`,
      )
    ).getRowObjectsJson();
    for (const r of labels)
      released.set(dirLabelKey(String(r.label), String(r.category)), { dirLabel: String(r.path), images: Number(r.n) });
    const reader = await conn.runAndReadAll(
      `SELECT DISTINCT label, category, source_idx FROM read_parquet(${sqlString(metadataParquet)})`,
    );
    for (const [label, category, idx] of reader.getRows())
      see(dirLabelKey(String(label), String(category)), String(idx));
    const [totals] = (
      await conn.runAndReadAll(
        `SELECT count(*)::INTEGER AS images, (count(*) FILTER (crop))::INTEGER AS crops FROM read_parquet(${sqlString(metadataParquet)})`,
      )
    ).getRowObjectsJson();
    const rejects = (
      await conn.runAndReadAll(
        `SELECT idx, label, category, stage, reason, detail FROM read_csv(${sqlString(join(base, 'rejects.csv'))}, header = true, all_varchar = true)`,
      )
    )
      .getRowObjectsJson()
      .map((r) => ({
        idx: String(r.idx),
        label: String(r.label),
        category: String(r.category),
        stage: String(r.stage) as RejectStage,
        reason: String(r.reason),
        detail: r.detail === null ? '' : String(r.detail),
      }));
    for (const r of rejects) see(dirLabelKey(r.label, r.category), r.idx);
    const indexPath = join(base, 'shards-index.json');
    const shards = existsSync(indexPath)
      ? (JSON.parse(readFileSync(indexPath, 'utf8')) as { shards: ShardInfo[] }).shards
      : [];
    // A release grown for the first time: its first build becomes generation 0.
    const card = readFileSync(join(base, 'README.md'), 'utf8');
    const generations = record.generations ?? [
      {
        generation: 0,
        labelsFingerprint: record.labelsFingerprint,
        catalogFingerprint: record.catalogFingerprint,
        toolVersion: record.toolVersion,
        images: Number(totals.images),
        crops: Number(totals.crops),
        newLabels: released.size,
        grownLabels: 0,
        cropsFailedQc: cardFigure(card, 'crops failing crop QC'),
        capped: cardFigure(card, 'images removed by the cap'),
      },
    ];
    return {
      record,
      metadataParquet,
      released,
      known,
      rejects,
      images: Number(totals.images),
      crops: Number(totals.crops),
      shards,
      generations,
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Which jobs this generation runs, and which old rejects stay. */
export interface Growth {
  /** Jobs to run: new jobs of released labels, and every job of a label not yet released that gained one. */
  jobs: Job[];
  /** Labels built whole now (not released before, and grown). */
  whole: Set<string>;
  /** Released labels that gained jobs. */
  grown: Set<string>;
  /** Old rejects that still hold (those of labels built whole now are made again). */
  rejects: RejectRow[];
}

export function planGrowth(all: readonly Job[], base: ReleaseBase): Growth {
  const byLabel = new Map<string, Job[]>();
  for (const j of all) {
    const k = dirLabelKey(j.label, j.category);
    const list = byLabel.get(k);
    if (list) list.push(j);
    else byLabel.set(k, [j]);
  }
  const jobs: Job[] = [];
  const whole = new Set<string>();
  const grown = new Set<string>();
  for (const [k, list] of byLabel) {
    const known = base.known.get(k) ?? new Set<string>();
    const fresh = list.filter((j) => !known.has(j.idx));
    if (fresh.length === 0) continue;
    if (base.released.has(k)) {
      grown.add(k);
      jobs.push(...fresh);
    } else {
      whole.add(k);
      jobs.push(...list);
    }
  }
  for (const [k, r] of base.released) {
    const list = byLabel.get(k) ?? [];
    const ids = new Set(list.map((j) => j.idx));
    for (const idx of base.known.get(k) ?? [])
      if (!ids.has(idx))
        throw new UserError(
          `the labels no longer select '${idx}' for released label folder '${r.dirLabel}'`,
          {},
          'an incremental build needs labels made by `cytoimagenet labels --extend` from the labels of this release',
        );
  }
  const rejects = base.rejects.filter((r) => !whole.has(dirLabelKey(r.label, r.category)));
  return { jobs, whole, grown, rejects };
}

export function generationOf(record: BuildRecord): Omit<Generation, 'generation'> {
  return {
    labelsFingerprint: record.labelsFingerprint,
    catalogFingerprint: record.catalogFingerprint,
    toolVersion: record.toolVersion,
  };
}

/** The whole release after this generation: what the card, rejects.csv and build.json show. */
export interface ReleaseTotals {
  stats: ReleaseStats;
  labels: number;
  dropped: DroppedLabel[];
  rejects: RejectRow[];
  generations: Generation[];
}

export function releaseTotals(
  plan: ReleasePlan,
  base: ReleaseBase,
  growth: Growth,
  generation: number,
  record: BuildRecord,
): ReleaseTotals {
  const rejects = sortRejects([...growth.rejects, ...plan.rejects]);
  const rejectsByReason: Record<string, number> = {};
  for (const r of rejects) rejectsByReason[r.reason] = (rejectsByReason[r.reason] ?? 0) + 1;
  const dropped = [...plan.dropped];
  const stillDropped = new Map<string, DroppedLabel>();
  for (const r of growth.rejects)
    if (r.reason === 'label-below-min-release')
      stillDropped.set(dirLabelKey(r.label, r.category), {
        label: r.label,
        category: r.category,
        images: Number(/label has (\d+) images/.exec(r.detail)?.[1] ?? 0),
      });
  dropped.push(...stillDropped.values());
  dropped.sort((a, b) => compareCodePoints(a.label, b.label) || compareCodePoints(a.category, b.category));
  const key = (l: { label: string; category: string }): string => dirLabelKey(l.label, l.category);
  const newLabels = plan.labels.filter((l) => !base.released.has(key(l))).length;
  const current: Generation = {
    generation,
    ...generationOf(record),
    images: plan.stats.images,
    crops: plan.stats.crops,
    newLabels,
    grownLabels: plan.labels.length - newLabels,
    cropsFailedQc: plan.stats.cropsFailedQc,
    capped: plan.stats.capped,
  };
  const generations = [...base.generations, current];
  const sum = (f: (g: Generation) => number | undefined): number => generations.reduce((s, g) => s + (f(g) ?? 0), 0);
  return {
    stats: {
      jobs: plan.stats.jobs,
      images: base.images + plan.stats.images,
      crops: base.crops + plan.stats.crops,
      cropsFailedQc: sum((g) => g.cropsFailedQc),
      capped: sum((g) => g.capped),
      rejectsByReason,
    },
    labels: base.released.size + newLabels,
    dropped,
    rejects,
    generations,
  };
}
