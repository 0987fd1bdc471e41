// `cytoimagenet report` as a function: a release folder → a static site that opens from disk.
//   index.html      charts (vega-lite, bundled), the label search, mosaic.png, umap.png
//   labels/<d>.html per label: the 9×9 grid (<d>.png), each shown image's provenance, and
//                   <d>.sources.png (the source thumbnails with their crop boxes, a sheet)
// Every random choice is drawn from Rng.derive(seed, what, label folder), so the same release and
// seed give the same bytes whatever the order labels finish in. No dates or paths are written.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { UserError, messageOf } from '../util/errors.js';
import { isInside, resolveInside } from '../util/safe-path.js';
import { Rng } from '../util/rng.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { validateOptions } from '../util/zod-options.js';
import { REPORT, type ReportOptionsInput, reportOptionsSchema } from './options.js';
import { sqlString as sql } from '../util/sql.js';
import { ReleaseDb, type ImageRow, type LabelSummary } from './release-db.js';
import { chartSpecs, figureData, type FigureData } from './figures.js';
import { sheet, sourceImage, thumbOf, tile, withBox } from './tiles.js';
import { indexPage, labelPage, type ShownImage } from './pages.js';
import { CSS, INDEX_JS } from './site-assets.js';
import { runUmap, type UmapResult } from './umap.js';

/** The report's options (options.ts, reportOptionsSchema: the `report` command's flags), and where its lines go. */
export interface ReportOptions extends ReportOptionsInput {
  log?: (line: string) => void;
}

export interface ReportResult {
  out: string;
  index: string;
  labels: number;
  images: number;
  figures: FigureData;
  umap: UmapResult | null;
  seconds: number;
}

/** The browser builds of vega and vega-lite from node_modules (their packages export no subpaths). */
function bundled(pkg: 'vega' | 'vega-lite'): string {
  const main = createRequire(import.meta.url).resolve(pkg);
  return join(dirname(main), `${pkg}.min.js`);
}

/** A FIFO lock: one DuckDB connection serves the labels processed concurrently. */
function serial(): <T>(fn: () => Promise<T>) => Promise<T> {
  let chain: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };
}

async function pool<T>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, worker));
}

async function prepareOut(out: string, release: string): Promise<void> {
  if (isInside(release, out) || isInside(out, release))
    throw new UserError(
      'the report folder and the release folder overlap',
      { file: out },
      'give --out a folder outside the release (the release must stay as built)',
    );
  if (existsSync(out)) {
    const entries = await readdir(out);
    const ours = entries.includes('index.html') && existsSync(join(out, 'assets', 'report.css'));
    if (entries.length && !ours)
      throw new UserError(
        'the output folder is not empty and holds no report',
        { file: out },
        'give --out an empty or new folder (or an earlier report, which is replaced)',
      );
    // an earlier report: index.html goes first, so a run that stops half-way leaves no index
    for (const f of [
      'index.html',
      'labels',
      'assets',
      'mosaic.png',
      'umap.png',
      'umap.csv',
      'diversity.csv',
      'figures.json',
    ])
      await rm(join(out, f), { recursive: true, force: true });
  }
  await mkdir(join(out, 'labels'), { recursive: true });
  await mkdir(join(out, 'assets'), { recursive: true });
}

function progressBar(total: number, enabled: boolean, log: (l: string) => void): { tick(): void; stop(): void } {
  if (!enabled || total === 0) return { tick: () => undefined, stop: () => undefined };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: 'report |{bar}| {value}/{total} labels | ETA {eta_formatted}',
        hideCursor: true,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { tick: () => bar.increment(), stop: () => bar.stop() };
  }
  let done = 0;
  let nextReport = Math.ceil(total / 10);
  return {
    tick: () => {
      done++;
      if (done >= nextReport || done === total) {
        log(`report: ${done}/${total} labels`);
        nextReport = done + Math.ceil(total / 10);
      }
    },
    stop: () => undefined,
  };
}

export async function runReport(options: ReportOptions): Promise<ReportResult> {
  const t0 = Date.now();
  const { log: logTo, ...input } = options;
  const o = validateOptions(reportOptionsSchema, input, 'report');
  const log = logTo ?? ((l: string) => process.stderr.write(`${l}\n`));
  const seed = o.seed;
  const release = resolve(o.release);
  const out = resolve(o.out);
  if (!existsSync(release)) throw new UserError('release folder not found', { file: release });
  const db = await ReleaseDb.open(release, o.catalog);
  try {
    const labels = await db.labels();
    if (labels.length === 0) throw new UserError('the release has no images', { file: join(release, 'metadata.csv') });
    await prepareOut(out, release);
    const figures = await figureData(db);
    const locked = serial();

    // Per label: the grid, the source thumbnails, the page, and its mosaic tile.
    const mosaic: (Buffer | null)[] = new Array(labels.length).fill(null);
    const width = o.concurrency ?? Math.max(1, Math.min(4, availableParallelism()));
    const bar = progressBar(labels.length, o.progress ?? Boolean(process.stderr.isTTY), log);
    try {
      await pool(labels, width, async (l, i) => {
        mosaic[i] = await labelSite(db, locked, l, figures, seed, out);
        bar.tick();
      });
    } finally {
      bar.stop();
    }
    const cols = Math.ceil(Math.sqrt(labels.length));
    const rows = Math.ceil(labels.length / cols);
    await writeFile(join(out, 'mosaic.png'), await sheet(mosaic, cols, rows, REPORT.mosaicTile));

    const umap =
      o.umap === false ? null : await runUmap(db, labels, { seed, model: o.model ?? `random:${seed}`, out, log });

    const index = await writeIndex(out, { figures, labels, umap, mosaicCols: cols, seed });
    return {
      out,
      index,
      labels: labels.length,
      images: figures.totals.images,
      figures,
      umap,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await db.close();
  }
}

/**
 * The index and its assets (charts with their data, the label list), index.html last. The
 * mosaic (mosaic.png) and umap.png are written before.
 */
export async function writeIndex(
  out: string,
  d: { figures: FigureData; labels: LabelSummary[]; umap: UmapResult | null; mosaicCols: number; seed: number },
): Promise<string> {
  const specs = chartSpecs(d.figures);
  await mkdir(join(out, 'assets'), { recursive: true });
  await copyFile(bundled('vega'), join(out, 'assets', 'vega.min.js'));
  await copyFile(bundled('vega-lite'), join(out, 'assets', 'vega-lite.min.js'));
  await writeFile(join(out, 'assets', 'report.css'), CSS);
  await writeFile(join(out, 'assets', 'index.js'), INDEX_JS);
  await writeFile(join(out, 'assets', 'charts.js'), `window.REPORT_CHARTS = ${JSON.stringify(specs)};\n`);
  // [label, category, folder, images, crops, sources]: the index's whole per-label data
  const list = d.labels.map((l) => [l.label, l.category, l.dirLabel, l.images, l.crops, l.sources.join(' ')]);
  await writeFile(join(out, 'assets', 'labels.js'), `window.REPORT_LABELS = ${JSON.stringify(list)};\n`);
  await writeFile(join(out, 'figures.json'), `${JSON.stringify(d.figures, null, 1)}\n`);
  const index = join(out, 'index.html');
  const u = d.umap;
  await writeFileAtomic(
    index,
    indexPage({
      figures: d.figures,
      chartIds: Object.keys(specs),
      umap: u && { labels: u.labels, diversity: u.diversity, model: u.model, note: u.note },
      mosaicLabels: d.labels.length,
      mosaicCols: d.mosaicCols,
      seed: d.seed,
    }),
  );
  return index;
}

/** One label's grid, source sheet and page; returns its mosaic tile. */
async function labelSite(
  db: ReleaseDb,
  locked: ReturnType<typeof serial>,
  l: LabelSummary,
  figures: FigureData,
  seed: number,
  out: string,
): Promise<Buffer> {
  const cols = REPORT.gridCols;
  const k = Math.min(cols * cols, l.images);
  const positions = Rng.derive(seed, 'report-grid', l.dirLabel).sampleIndices(l.images, k);
  const mosaicAt = Rng.derive(seed, 'report-mosaic', l.dirLabel).int(0, l.images - 1);
  const [rows, [mosaicRow], perSource] = await locked(async () => [
    await db.imagesAt(l.dirLabel, positions),
    await db.imagesAt(l.dirLabel, [mosaicAt]),
    await db.rows(
      `SELECT dir_name, count(*) AS n FROM m WHERE path = ${sql(l.dirLabel)} GROUP BY dir_name ORDER BY n DESC, dir_name`,
    ),
  ]);
  const fileOf = (r: ImageRow): string => join(db.release, r.path, r.filename);
  const read = async (r: ImageRow, side: number): Promise<Buffer> => {
    try {
      return await tile(fileOf(r), side);
    } catch (e) {
      throw new UserError(
        `cannot read a release image: ${messageOf(e)}`,
        { file: fileOf(r) },
        'the report reads the PNGs of the release folder metadata.csv lists',
      );
    }
  };
  const tiles = await Promise.all(rows.map((r) => read(r, REPORT.tile)));
  // 9 wide; 9 rows at 81 images (every label of a real release), fewer rows for a smaller label
  const gridRows = Math.max(1, Math.ceil(rows.length / cols));
  await writeFile(
    resolveInside(join(out, 'labels'), `${l.dirLabel}.png`),
    await sheet(tiles, cols, gridRows, REPORT.tile),
  );

  // Source thumbnails: each source image set decoded once (a few at a time: they can be large).
  const bySource = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const key = `${r.dirName}\u0000${r.sourceIdx}`;
    if (!bySource.has(key)) bySource.set(key, []);
    bySource.get(key)!.push(i);
  });
  const thumbs: (Buffer | null)[] = new Array(rows.length).fill(null);
  const shown: ShownImage[] = rows.map((row) => ({ row, source: { ok: false, problem: '' } }));
  await pool([...bySource.values()], 2, async (idxs) => {
    const r0 = rows[idxs[0]];
    const paths = db.sourcePaths(r0.dirName, r0.sourceFiles);
    const src = 'files' in paths ? await sourceImage(paths.files) : paths;
    if ('problem' in src) {
      for (const i of idxs) shown[i].source = { ok: false, problem: src.problem };
      return;
    }
    const t = await thumbOf(src, REPORT.thumb);
    for (const i of idxs) {
      thumbs[i] = withBox(t, rows[i].box);
      shown[i].source = { ok: true, width: src.width, height: src.height };
    }
  });
  await writeFile(
    resolveInside(join(out, 'labels'), `${l.dirLabel}.sources.png`),
    await sheet(thumbs, cols, Math.max(1, Math.ceil(rows.length / cols)), REPORT.thumb, 3),
  );
  const info = new Map(figures.bySource.map((s) => [s.source, s]));
  await writeFile(
    resolveInside(join(out, 'labels'), `${l.dirLabel}.html`),
    labelPage({
      label: l,
      shown,
      sources: perSource.map((s) => ({
        source: String(s.dir_name),
        dataset: info.get(String(s.dir_name))?.dataset ?? '',
        database: info.get(String(s.dir_name))?.database ?? '',
        images: Number(s.n),
      })),
      tile: REPORT.tile,
      thumb: REPORT.thumb,
      cols,
    }),
  );
  return read(mosaicRow, REPORT.mosaicTile);
}
