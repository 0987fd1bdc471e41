// Bench for `cytoimagenet report`: projects the time of a 1,000-label, 1 M-image release from
// parts measured in one run on synthetic releases of that shape (small images):
//   1. loading metadata.csv and rejects.csv and counting the figures, on 1,000 labels × 1,000
//      rows (1 M rows, no images needed), with the process's peak RSS;
//   2. the per-label pages (81 tiles, 81 source thumbnails, the page, the mosaic tile) on
//      --labels labels of 100 real images each (80×80 crops of 160×160 3-channel 16-bit TIFF
//      sources), without the UMAP;
//   3. the UMAP (20 labels, whatever the release's size): a full report minus step 2.
// Baseline, same run, same files: the bare codec work of a label (decode its 81 release PNGs and
// its source TIFFs with sharp, nothing else).
//   node dist/bench/report.js [--labels 24] [--rows 1000000]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../src/util/rng.js';
import { csvLine } from '../src/util/csv.js';
import { METADATA_COLUMNS } from '../src/release/release-tables.js';
import { ReleaseDb } from '../src/report/release-db.js';
import { figureData } from '../src/report/figures.js';
import { runReport } from '../src/report/run-report.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const PER_LABEL = 100;
const SRC = 160;
const CROP = 80;

function row(v: Record<string, string | number | boolean>): string {
  return csvLine(METADATA_COLUMNS.map((c) => (v[c] === undefined ? '' : v[c])));
}

/** A release of `labels` labels × 100 images, with real PNGs and their source TIFFs. */
async function imageRelease(dir: string, labels: number): Promise<{ release: string; files: string[][] }> {
  const release = join(dir, 'release');
  const sources = join(dir, 'sources');
  await mkdir(sources, { recursive: true });
  const lines = [METADATA_COLUMNS.join(',')];
  const perLabelFiles: string[][] = [];
  for (let l = 0; l < labels; l++) {
    const d = `label_${String(l).padStart(4, '0')}`;
    await mkdir(join(release, d), { recursive: true });
    const files: string[] = [];
    // 25 source sets per label, 4 crops each
    for (let s = 0; s < PER_LABEL / 4; s++) {
      const rng = Rng.derive(0, 'bench-report', l, s);
      const chans: string[] = [];
      for (let c = 0; c < 3; c++) {
        const px = new Uint16Array(SRC * SRC).map(() => 500 + rng.int(0, 4000));
        const f = join(sources, `${d}_${s}_w${c}.tif`);
        await sharp(px, { raw: { width: SRC, height: SRC, channels: 1 } })
          .toColourspace('grey16')
          .tiff({ compression: 'none' })
          .toFile(f);
        chans.push(f);
      }
      files.push(...chans);
      for (let j = 0; j < 4; j++) {
        const i = s * 4 + j;
        const filename = `${d}-${String(i).padStart(3, '0')}.png`;
        const px = new Uint8Array(CROP * CROP).map(() => rng.int(0, 255));
        await sharp(px, { raw: { width: CROP, height: CROP, channels: 1 } })
          .png()
          .toFile(join(release, d, filename));
        files.push(join(release, d, filename));
        const x = (j % 2) * CROP;
        const y = Math.floor(j / 2) * CROP;
        lines.push(
          row({
            label: `label ${l}`,
            category: ['compound', 'gene', 'phenotype'][l % 3],
            database: 'Bench',
            name: 'Synthetic',
            dir_name: `src${l % 7}`,
            path: d,
            filename,
            idx: `src${l % 7}-${l}-${s}-crop_${j}`,
            crop: true,
            scaling: 0.5,
            x_min: x,
            x_max: x + CROP,
            y_min: y,
            y_max: y + CROP,
            dset: i % 10 === 0 ? 'val' : 'train',
            source_files: chans.join('|'),
            source_idx: `src${l % 7}-${l}-${s}`,
          }),
        );
      }
    }
    perLabelFiles.push(files);
  }
  await writeFile(join(release, 'metadata.csv'), `${lines.join('\n')}\n`);
  await writeFile(join(release, 'rejects.csv'), 'idx,label,category,stage,reason,detail\n');
  return { release, files: perLabelFiles };
}

/** metadata.csv of 1,000 labels × rows/1,000 rows (no images: only the tables are read). */
async function tableRelease(dir: string, rows: number): Promise<string> {
  const release = join(dir, 'tables');
  await mkdir(release, { recursive: true });
  const out = createWriteStream(join(release, 'metadata.csv'));
  out.write(`${METADATA_COLUMNS.join(',')}\n`);
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const l = i % 1000;
    const d = `label_${String(l).padStart(4, '0')}`;
    chunk += `${row({ label: `label ${l}`, category: ['compound', 'gene', 'phenotype'][l % 3], database: `db${l % 5}`, name: 'Synthetic', dir_name: `src${l % 40}`, path: d, filename: `${d}-${String(i).padStart(7, '0')}.png`, idx: `src${l % 40}-${i}`, crop: i % 3 !== 0, scaling: i % 3 ? 0.25 : 1, dset: i % 10 ? 'train' : 'val', source_files: `plate/${i}.tif`, source_idx: `src${l % 40}-${Math.floor(i / 3)}` })}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.write(chunk);
  await new Promise<void>((r) => out.end(() => r()));
  const rej = ['idx,label,category,stage,reason,detail'];
  for (let i = 0; i < 20_000; i++)
    rej.push(
      `src${i % 40}-r${i},label ${i % 1000},compound,qc,${['dim-image', 'uniform-image', 'binary-mask'][i % 3]},`,
    );
  await writeFile(join(release, 'rejects.csv'), `${rej.join('\n')}\n`);
  return release;
}

async function main(): Promise<void> {
  const labels = Number(arg('--labels', '24'));
  const rows = Number(arg('--rows', '1000000'));
  const dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-bench-report-'));
  const quiet = { progress: false, log: (): void => undefined };
  try {
    // 1. the tables at full scale
    const tables = await tableRelease(dir, rows);
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    let t = performance.now();
    const db = await ReleaseDb.open(tables);
    const fig = await figureData(db);
    const list = await db.labels();
    await db.imagesAt(list[500].dirLabel, [0, 5, 99]);
    await db.close();
    const tTables = (performance.now() - t) / 1000;
    clearInterval(timer);
    console.log(
      `tables: ${fig.totals.images.toLocaleString('en-US')} rows, ${list.length} labels, ${fig.totals.rejects} rejects: ${tTables.toFixed(1)} s, peak RSS +${((peak - rss0) / 2 ** 20).toFixed(0)} MiB`,
    );

    // 2. per-label pages, and the same files' bare decoding (the baseline)
    const img = await imageRelease(dir, labels);
    t = performance.now();
    for (const files of img.files)
      await Promise.all(
        files.map((f) =>
          sharp(f)
            .raw()
            .toBuffer()
            .then(() => undefined),
        ),
      );
    const tFloor = (performance.now() - t) / 1000;
    t = performance.now();
    await runReport({ release: img.release, out: join(dir, 'site-pages'), umap: false, ...quiet });
    const tPages = (performance.now() - t) / 1000;
    // 3. a full report: the difference is the UMAP (constant in the release's size)
    t = performance.now();
    const full = await runReport({ release: img.release, out: join(dir, 'site-full'), ...quiet });
    const tFull = (performance.now() - t) / 1000;
    const tUmap = Math.max(0, tFull - tPages);
    const perLabel = tPages / labels;
    console.log(
      `pages: ${labels} labels × 81 images in ${tPages.toFixed(1)} s = ${(perLabel * 1000).toFixed(0)} ms/label; ` +
        `baseline, bare decoding of the same PNGs and TIFFs: ${((tFloor / labels) * 1000).toFixed(0)} ms/label (report/baseline ${(tPages / tFloor).toFixed(1)}×)`,
    );
    console.log(`umap: ${full.umap?.labels} labels, ${full.umap?.points.length} points: ${tUmap.toFixed(1)} s`);
    const projected = tTables + 1000 * perLabel + tUmap;
    console.log(
      `projected for 1,000 labels and ${rows.toLocaleString('en-US')} images: ${(projected / 60).toFixed(1)} min ` +
        `(tables ${tTables.toFixed(0)} s + pages ${((1000 * perLabel) / 60).toFixed(1)} min + umap ${tUmap.toFixed(0)} s)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
