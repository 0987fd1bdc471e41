// From the workers' results to the release: per label, cap after upsampling, drop small labels,
// name files and split. Pure: the same jobs and results give the same release, whatever order
// the results arrived in.
import { Rng } from '../util/rng.js';
import { imageFileName } from './binary-name.js';
import { capRows, valRows } from './cap-and-split.js';
import { dirLabelKey } from '../labels/dir-label.js';
import { compareCodePoints, naturalKey, sortNaturalBy } from '../util/stable-order.js';
import type {
  DroppedLabel,
  Job,
  JobOk,
  JobResult,
  RejectRow,
  ReleaseLabel,
  ReleaseSample,
  StagedSample,
} from './types.js';

export interface ReleasePlanOptions {
  cap: number;
  minRelease: number;
  seed: number;
  valFraction: number;
  /**
   * An incremental build (docs/build.md "Growing a release"): the labels already released, by
   * label key, and this build's generation. Their jobs here are only the new ones; they are capped
   * at what the label has left below the cap, never dropped, split on their own and named
   * `<dir_label>-g<generation>-<i>.png`, so no released file moves.
   */
  grow?: { generation: number; released: ReadonlyMap<string, { dirLabel: string; images: number }> };
}

export interface ReleaseStats {
  /** Source image sets planned. */
  jobs: number;
  /** Images released, and how many of them are crops. */
  images: number;
  crops: number;
  /** Crops that failed crop QC, and rows removed by the cap. */
  cropsFailedQc: number;
  capped: number;
  rejectsByReason: Record<string, number>;
}

export interface ReleasePlan {
  labels: ReleaseLabel[];
  dropped: DroppedLabel[];
  rejects: RejectRow[];
  stats: ReleaseStats;
}

interface Row {
  group: string;
  job: Job;
  sample: StagedSample;
}

export function planRelease(
  jobs: readonly Job[],
  results: ReadonlyMap<string, JobResult>,
  dirLabels: ReadonlyMap<string, string>,
  opts: ReleasePlanOptions,
): ReleasePlan {
  const byLabel = new Map<string, Job[]>();
  for (const job of jobs) {
    const k = dirLabelKey(job.label, job.category);
    const list = byLabel.get(k);
    if (list) list.push(job);
    else byLabel.set(k, [job]);
  }
  const labels: ReleaseLabel[] = [];
  const dropped: DroppedLabel[] = [];
  const rejects: RejectRow[] = [];
  const stats: ReleaseStats = {
    jobs: jobs.length,
    images: 0,
    crops: 0,
    cropsFailedQc: 0,
    capped: 0,
    rejectsByReason: {},
  };
  const reject = (job: Job, stage: RejectRow['stage'], reason: string, detail: string): void => {
    rejects.push({ idx: job.idx, label: job.label, category: job.category, stage, reason, detail });
    stats.rejectsByReason[reason] = (stats.rejectsByReason[reason] ?? 0) + 1;
  };

  for (const [key, labelJobs] of byLabel) {
    const dirLabel = dirLabels.get(key);
    if (dirLabel === undefined) throw new Error(`no folder name for label ${JSON.stringify(key)}`);
    const { label, category } = labelJobs[0];
    const sorted = sortNaturalBy(labelJobs, (j) => j.idx);
    const rows: Row[] = [];
    for (const job of sorted) {
      const r = results.get(job.key);
      if (!r) throw new Error(`no result for ${job.idx} (${job.label})`);
      if (!r.ok) {
        reject(job, r.stage, r.reason, r.detail);
        continue;
      }
      stats.cropsFailedQc += (r as JobOk).cropsRejected;
      for (const sample of r.samples) rows.push({ group: job.idx, job, sample });
    }

    const base = opts.grow?.released.get(key);
    // A grown label's own streams: a function of (seed, label, generation), as a fresh label's is of (seed, label).
    const streamIds = base ? [label, category, `g${opts.grow?.generation}`] : [label, category];
    const removed = capRows(
      rows,
      Math.max(0, opts.cap - (base?.images ?? 0)),
      Rng.derive(opts.seed, 'cap', ...streamIds),
    );
    stats.capped += removed.size;
    const kept = rows.filter((_, i) => !removed.has(i));
    const keptGroups = new Set(kept.map((r) => r.group));
    for (const job of sorted) {
      const r = results.get(job.key);
      if (r?.ok && r.samples.length > 0 && !keptGroups.has(job.idx)) {
        reject(job, 'cap', 'capped', `all ${r.samples.length} image(s) removed by the cap of ${opts.cap}`);
      }
    }

    if (!base && kept.length < opts.minRelease) {
      dropped.push({ label, category, images: kept.length });
      for (const job of sorted) {
        if (keptGroups.has(job.idx)) {
          reject(
            job,
            'release',
            'label-below-min-release',
            `label has ${kept.length} images, fewer than ${opts.minRelease}`,
          );
        }
      }
      continue;
    }

    if (base && kept.length === 0) continue;
    const val = valRows(kept, opts.valFraction, Rng.derive(opts.seed, 'split', ...streamIds));
    const samples: ReleaseSample[] = kept.map((row, i) => ({
      label,
      category,
      dirLabel,
      sourceIdx: row.job.idx,
      idx: row.sample.crop ? `${row.job.idx}-crop_${row.sample.j}` : row.job.idx,
      filename: base
        ? imageFileName(`${dirLabel}-g${opts.grow?.generation}`, i, kept.length)
        : imageFileName(dirLabel, i, kept.length),
      dset: val.has(i) ? 'val' : 'train',
      sample: row.sample,
      jobKey: row.job.key,
    }));
    stats.images += samples.length;
    stats.crops += samples.filter((s) => s.sample.crop).length;
    labels.push({ label, category, dirLabel, samples });
  }

  labels.sort((a, b) => compareCodePoints(a.dirLabel, b.dirLabel));
  dropped.sort((a, b) => compareCodePoints(a.label, b.label) || compareCodePoints(a.category, b.category));
  return { labels, dropped, rejects: sortRejects(rejects), stats };
}

/** rejects.csv order: label, category, natural idx, stage. */
export function sortRejects(rejects: readonly RejectRow[]): RejectRow[] {
  const stageOrder = ['read', 'decode', 'qc', 'cap', 'release'];
  const keyed = rejects.map((r) => ({ r, k: naturalKey(r.idx) }));
  keyed.sort(
    (a, b) =>
      compareCodePoints(a.r.label, b.r.label) ||
      compareCodePoints(a.r.category, b.r.category) ||
      compareCodePoints(a.k, b.k) ||
      compareCodePoints(a.r.idx, b.r.idx) ||
      stageOrder.indexOf(a.r.stage) - stageOrder.indexOf(b.r.stage),
  );
  return keyed.map((x) => x.r);
}
