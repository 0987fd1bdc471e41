// The spec's "effects of upsampling" figure: features of 20 seeded random labels, whole images
// (each sampled source image set merged, before upsampling) against the release images made from
// the same sources (their crops, after), embedded with umap-js driven by the seeded Rng, drawn as
// two panels coloured by label (an SVG rendered to PNG by sharp), plus each label's diversity:
// the mean pairwise cosine distance of its features (the original's DiversityMetric).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { UMAP } from 'umap-js';
import { loadModel } from '../features/model.js';
import { extractFeatures } from '../features/extract.js';
import type { ImageSetJob } from '../features/inputs.js';
import { Rng } from '../util/rng.js';
import { csvTable } from '../util/csv.js';
import { REPORT } from './options.js';
import type { LabelSummary, ReleaseDb } from './release-db.js';
import { esc } from './pages.js';

export type UmapKind = 'whole' | 'upsampled';

export interface DiversityRow {
  label: string;
  category: string;
  dirLabel: string;
  before: number;
  after: number;
  diversityBefore: number | null;
  diversityAfter: number | null;
}

export interface UmapResult {
  labels: number;
  diversity: DiversityRow[];
  points: { label: string; kind: UmapKind; x: number; y: number }[];
  model: string;
  /** Why some whole images are missing, when they are. */
  note: string | null;
}

/** tab20, the original's palette. */
const TAB20 = [
  '#1f77b4',
  '#aec7e8',
  '#ff7f0e',
  '#ffbb78',
  '#2ca02c',
  '#98df8a',
  '#d62728',
  '#ff9896',
  '#9467bd',
  '#c5b0d5',
  '#8c564b',
  '#c49c94',
  '#e377c2',
  '#f7b6d2',
  '#7f7f7f',
  '#c7c7c7',
  '#bcbd22',
  '#dbdb8d',
  '#17becf',
  '#9edae5',
];

/** Mean of 1 − cos(a, b) over all pairs; null below two vectors. */
export function meanCosineDistance(vs: readonly Float32Array[]): number | null {
  if (vs.length < 2) return null;
  const norms = vs.map((v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0)));
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < vs.length; i++)
    for (let j = i + 1; j < vs.length; j++) {
      let dot = 0;
      const a = vs[i];
      const b = vs[j];
      for (let k = 0; k < a.length; k++) dot += a[k] * b[k];
      const den = norms[i] * norms[j];
      sum += 1 - (den > 0 ? dot / den : 0);
      pairs++;
    }
  return sum / pairs;
}

interface Point {
  labelIndex: number;
  kind: UmapKind;
  features: Float32Array;
}

export async function runUmap(
  db: ReleaseDb,
  labels: readonly LabelSummary[],
  o: { seed: number; model: string; out: string; log: (l: string) => void },
): Promise<UmapResult> {
  const pick = Rng.derive(o.seed, 'report-umap')
    .sampleIndices(labels.length, Math.min(REPORT.umapLabels, labels.length))
    .sort((a, b) => a - b);
  const chosen = pick.map((i) => labels[i]);
  const jobs: ImageSetJob[] = [];
  const problems = new Map<string, number>();
  for (let li = 0; li < chosen.length; li++) {
    const l = chosen[li];
    const sources = await db.sourcesOf(l.dirLabel);
    const take = Rng.derive(o.seed, 'report-umap', l.dirLabel)
      .sampleIndices(sources.length, Math.min(REPORT.umapSourcesPerLabel, sources.length))
      .sort((a, b) => a - b)
      .map((i) => sources[i]);
    for (const s of take) {
      const p = db.sourcePaths(s.dirName, s.sourceFiles);
      if ('files' in p) jobs.push({ key: [String(li), 'whole', s.sourceIdx], files: p.files });
      else problems.set(p.problem, (problems.get(p.problem) ?? 0) + 1);
    }
    for (const r of await db.imagesOfSources(
      l.dirLabel,
      take.map((s) => s.sourceIdx),
    ))
      jobs.push({ key: [String(li), 'upsampled', r.idx], files: [join(db.release, r.path, r.filename)] });
  }
  const model = await loadModel(o.model, { threads: REPORT.modelThreads });
  const points: Point[] = [];
  try {
    o.log(`report: UMAP features of ${jobs.length} images from ${chosen.length} labels (${model.description})`);
    await extractFeatures(
      model,
      (async function* () {
        yield* jobs;
      })(),
      {
        method: 'merge-norm',
        size: REPORT.umapImageSize,
        batchSize: 16,
        skipUnreadable: true,
        onSkip: (_job, reason) => {
          const why = reason.split('\n')[0];
          problems.set(why, (problems.get(why) ?? 0) + 1);
        },
        onRow: (key, features) => {
          points.push({ labelIndex: Number(key[0]), kind: key[1] as UmapKind, features });
        },
      },
    );
  } finally {
    await model.session.release();
  }
  const note = problems.size
    ? `Whole images left out: ${[...problems].map(([p, k]) => `${k} (${p})`).join('; ')}.`
    : null;
  if (note) o.log(`report: ${note}`);

  const out: UmapResult['points'] = [];
  const coords = new Map<Point, [number, number]>();
  for (const kind of ['whole', 'upsampled'] as const) {
    const ps = points.filter((p) => p.kind === kind);
    if (ps.length < 3) continue;
    const rng = Rng.derive(o.seed, 'report-umap-embed', kind);
    const umap = new UMAP({
      nComponents: 2,
      nNeighbors: Math.min(15, ps.length - 1),
      minDist: 0.1,
      random: () => rng.float(),
    });
    const xy = umap.fit(ps.map((p) => Array.from(p.features)));
    ps.forEach((p, i) => coords.set(p, [xy[i][0], xy[i][1]]));
  }
  for (const p of points) {
    const c = coords.get(p);
    if (c) out.push({ label: chosen[p.labelIndex].label, kind: p.kind, x: c[0], y: c[1] });
  }
  const diversity: DiversityRow[] = chosen.map((l, li) => {
    const before = points.filter((p) => p.labelIndex === li && p.kind === 'whole').map((p) => p.features);
    const after = points.filter((p) => p.labelIndex === li && p.kind === 'upsampled').map((p) => p.features);
    return {
      label: l.label,
      category: l.category,
      dirLabel: l.dirLabel,
      before: before.length,
      after: after.length,
      diversityBefore: meanCosineDistance(before),
      diversityAfter: meanCosineDistance(after),
    };
  });

  const fixed = (x: number | null): string => (x === null ? '' : x.toFixed(6));
  await writeFile(
    join(o.out, 'umap.csv'),
    csvTable(
      ['label', 'kind', 'x', 'y'],
      out.map((p) => [p.label, p.kind, fixed(p.x), fixed(p.y)]),
    ),
  );
  await writeFile(
    join(o.out, 'diversity.csv'),
    csvTable(
      ['label', 'category', 'whole_images', 'diversity_before', 'release_images', 'diversity_after'],
      diversity.map((d) => [d.label, d.category, d.before, fixed(d.diversityBefore), d.after, fixed(d.diversityAfter)]),
    ),
  );
  const svg = umapSvg(
    chosen.map((l) => l.label),
    points.map((p) => ({ li: p.labelIndex, kind: p.kind, xy: coords.get(p) ?? null })),
  );
  await sharp(Buffer.from(svg), { density: 96 })
    .flatten({ background: '#ffffff' })
    .png({ compressionLevel: 9 })
    .toFile(join(o.out, 'umap.png'));
  return { labels: chosen.length, diversity, points: out, model: model.description, note };
}

/** Two scatter panels (whole | upsampled) and a legend, as SVG. */
export function umapSvg(
  names: readonly string[],
  pts: readonly { li: number; kind: UmapKind; xy: [number, number] | null }[],
): string {
  const P = 460;
  const M = 36;
  const legendW = 260;
  const W = 2 * (P + M) + M + legendW;
  const H = Math.max(P + 2 * M + 20, 40 + 18 * names.length);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, sans-serif">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  const titles: Record<UmapKind, string> = {
    whole: 'Before: whole images',
    upsampled: 'After: release images (crops)',
  };
  (['whole', 'upsampled'] as const).forEach((kind, pi) => {
    const x0 = M + pi * (P + M);
    const y0 = M + 10;
    parts.push(`<text x="${x0}" y="${y0 - 12}" font-size="15" fill="#1d2329">${titles[kind]}</text>`);
    parts.push(`<rect x="${x0}" y="${y0}" width="${P}" height="${P}" fill="none" stroke="#d9dee3"/>`);
    const ps = pts.filter((p) => p.kind === kind && p.xy);
    if (!ps.length) {
      parts.push(
        `<text x="${x0 + P / 2}" y="${y0 + P / 2}" font-size="13" fill="#5b6670" text-anchor="middle">no images</text>`,
      );
      return;
    }
    const xs = ps.map((p) => p.xy![0]);
    const ys = ps.map((p) => p.xy![1]);
    const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const sx = (P - 20) / Math.max(1e-9, maxX - minX);
    const sy = (P - 20) / Math.max(1e-9, maxY - minY);
    for (const p of ps) {
      const cx = x0 + 10 + (p.xy![0] - minX) * sx;
      const cy = y0 + 10 + (maxY - p.xy![1]) * sy;
      parts.push(
        `<circle cx="${cx.toFixed(2)}" cy="${cy.toFixed(2)}" r="3.2" fill="${TAB20[p.li % TAB20.length]}" fill-opacity="0.85"/>`,
      );
    }
  });
  const lx = 2 * (P + M) + M;
  names.forEach((name, i) => {
    const y = M + 10 + i * 18;
    const short = name.length > 30 ? `${name.slice(0, 29)}…` : name;
    parts.push(`<circle cx="${lx + 6}" cy="${y + 6}" r="5" fill="${TAB20[i % TAB20.length]}"/>`);
    parts.push(`<text x="${lx + 18}" y="${y + 10}" font-size="12" fill="#1d2329">${esc(short)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
