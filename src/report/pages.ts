// The site's HTML: the index (charts, mosaic, UMAP, label search) and one page per label (the
// 9×9 grid and each shown image's provenance). Every value from the release is escaped; pages
// reference only files inside the site, by relative paths, so they open over file://.
import type { FigureData } from './figures.js';
import type { ImageRow, LabelSummary } from './release-db.js';
import type { DiversityRow } from './umap.js';
import { scalingName } from './figures.js';

export const esc = (s: string | number): string =>
  String(s).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
const n = (x: number): string => x.toLocaleString('en-US');

function page(title: string, root: string, body: string, scripts: string[] = []): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="stylesheet" href="${root}assets/report.css">
</head>
<body>
${body}
${scripts.map((s) => `<script src="${root}${s}"></script>`).join('\n')}
</body>
</html>
`;
}

export interface IndexInput {
  figures: FigureData;
  chartIds: string[];
  umap: { labels: number; diversity: DiversityRow[]; model: string; note: string | null } | null;
  mosaicLabels: number;
  mosaicCols: number;
  seed: number;
}

export function indexPage(d: IndexInput): string {
  const t = d.figures.totals;
  const u = d.umap;
  const div = (x: number | null): string => (x === null ? '—' : x.toFixed(3));
  const umapSection = u
    ? `<section id="umap">
<h2>UMAP: whole images against the release's images (before and after upsampling)</h2>
<p class="muted">${n(u.labels)} seeded random labels. Features: ${esc(u.model)}. Left: each sampled source image set merged whole; right: the release images made from the same sources (their crops, or the whole image where it was not cropped). Points are in <a href="umap.csv">umap.csv</a>.${u.note ? ` ${esc(u.note)}` : ''}</p>
<img class="figure" id="umap-png" src="umap.png" alt="UMAP of whole images and release images, coloured by label">
<h2 style="margin-top:14px">Diversity per label (mean pairwise cosine distance of the features)</h2>
<table id="diversity"><thead><tr><th>label</th><th>category</th><th class="num">whole images</th><th class="num">diversity before</th><th class="num">release images</th><th class="num">diversity after</th></tr></thead><tbody>
${u.diversity
  .map(
    (r) =>
      `<tr><td><a href="labels/${encodeURIComponent(r.dirLabel)}.html">${esc(r.label)}</a></td><td>${esc(r.category)}</td><td class="num">${r.before}</td><td class="num">${div(r.diversityBefore)}</td><td class="num">${r.after}</td><td class="num">${div(r.diversityAfter)}</td></tr>`,
  )
  .join('\n')}
</tbody></table>
</section>`
    : '';
  const body = `<header>
<h1>CytoImageNet release report</h1>
<p>${n(t.images)} images (${n(t.crops)} crops, ${n(t.whole)} whole images) in ${n(t.labels)} labels from ${n(t.sources)} source(s); ${n(t.rejects)} rejected inputs. Seed ${d.seed}.</p>
</header>
<main>
<section id="labels">
<h2>Labels</h2>
<input id="search" type="search" placeholder="Filter labels by name, category or source…" autocomplete="off" aria-label="filter labels">
<p id="search-count" class="muted"></p>
<ul id="label-list"></ul>
</section>
<section id="overview">
<h2>Overview</h2>
<div class="charts">
${d.chartIds.map((id) => `<div class="chart" id="${id}"></div>`).join('\n')}
</div>
</section>
<section id="mosaic">
<h2>Mosaic: one seeded random image per label</h2>
<p class="muted">${n(d.mosaicLabels)} labels, in the order of the label list, row by row; point at a tile for its label, click it for the label's page.</p>
<div class="mosaicwrap" id="mosaic-wrap" data-cols="${d.mosaicCols}" data-rows="${Math.ceil(d.mosaicLabels / d.mosaicCols)}"><img id="mosaic-png" src="mosaic.png" alt="one image per label"></div>
</section>
${umapSection}
</main>`;
  return page('CytoImageNet release report', '', body, [
    'assets/vega.min.js',
    'assets/vega-lite.min.js',
    'assets/charts.js',
    'assets/labels.js',
    'assets/index.js',
  ]);
}

export interface ShownImage {
  row: ImageRow;
  /** Whether a thumbnail of the source (with the crop box) is in the sources sheet; else why not. */
  source: { ok: true; width: number; height: number } | { ok: false; problem: string };
}

export interface LabelPageInput {
  label: LabelSummary;
  shown: ShownImage[];
  sources: { source: string; dataset: string; database: string; images: number }[];
  tile: number;
  thumb: number;
  cols: number;
}

export function labelPage(d: LabelPageInput): string {
  const l = d.label;
  const file = encodeURIComponent(l.dirLabel);
  const all = d.shown.length < d.cols * d.cols;
  const gridRows = Math.max(1, Math.ceil(d.shown.length / d.cols));
  const cells = d.shown
    .map((_, k) => {
      const x = (100 / d.cols) * (k % d.cols);
      const y = (100 / gridRows) * Math.floor(k / d.cols);
      return `<a href="#p${k + 1}" style="left:${x.toFixed(4)}%;top:${y.toFixed(4)}%;width:${(100 / d.cols).toFixed(4)}%;height:${(100 / gridRows).toFixed(4)}%" title="image ${k + 1}"></a>`;
    })
    .join('');
  const items = d.shown
    .map((s, k) => {
      const r = s.row;
      const tx = (k % d.cols) * d.tile;
      const ty = Math.floor(k / d.cols) * d.tile;
      const sx = (k % d.cols) * d.thumb;
      const sy = Math.floor(k / d.cols) * d.thumb;
      const box = r.box
        ? `x ${r.box.x_min}–${r.box.x_max}, y ${r.box.y_min}–${r.box.y_max} (${r.box.x_max - r.box.x_min}×${r.box.y_max - r.box.y_min} px)`
        : '';
      const kind = r.crop ? `crop, scaling ${r.scaling === null ? '?' : scalingName(r.scaling)}` : 'whole image';
      const src = s.source.ok
        ? `<div class="sprite src" role="img" aria-label="source image${r.box ? ' with the crop box' : ''}" style="width:${d.thumb}px;height:${d.thumb}px;background-image:url('${file}.sources.png');background-position:-${sx}px -${sy}px"></div>`
        : `<div class="nosrc">source not shown: ${esc(s.source.problem)}</div>`;
      return `<li id="p${k + 1}" class="prov-item">
<div class="sprite tile" role="img" aria-label="${esc(r.filename)}" style="width:${d.tile}px;height:${d.tile}px;background-image:url('${file}.png');background-position:-${tx}px -${ty}px"></div>
${src}
<dl>
<dt>#</dt><dd>${k + 1}</dd>
<dt>file</dt><dd><code>${esc(r.path)}/${esc(r.filename)}</code></dd>
<dt>idx</dt><dd><code>${esc(r.idx)}</code></dd>
<dt>kind</dt><dd>${esc(kind)}</dd>
${box ? `<dt>crop box</dt><dd>${esc(box)}${s.source.ok ? ` in ${s.source.width}×${s.source.height}` : ''}</dd>` : ''}
<dt>split</dt><dd>${esc(r.dset)}</dd>
<dt>source</dt><dd>${esc(r.dirName)}</dd>
<dt>source idx</dt><dd class="source-idx"><code>${esc(r.sourceIdx)}</code></dd>
<dt>source files</dt><dd class="source-files">${r.sourceFiles
        .split('|')
        .filter(Boolean)
        .map((f) => `<code>${esc(f)}</code>`)
        .join('<br>')}</dd>
</dl>
</li>`;
    })
    .join('\n');
  const body = `<header>
<p><a href="../index.html">← all labels</a></p>
<h1>${esc(l.label)}</h1>
<p>category <b>${esc(l.category)}</b> · ${n(l.images)} images (${n(l.crops)} crops, ${n(l.images - l.crops)} whole images) · ${n(l.train)} train / ${n(l.val)} val · folder <code>${esc(l.dirLabel)}</code></p>
</header>
<main>
<section>
<h2>Sources</h2>
<table id="sources"><thead><tr><th>source</th><th>dataset</th><th>database</th><th class="num">images of this label</th></tr></thead><tbody>
${d.sources.map((s) => `<tr><td>${esc(s.source)}</td><td>${esc(s.dataset)}</td><td>${esc(s.database)}</td><td class="num">${n(s.images)}</td></tr>`).join('\n')}
</tbody></table>
</section>
<section>
<h2>${all ? `All ${d.shown.length} images` : `${d.shown.length} seeded random images`} (${d.tile}×${d.tile} tiles; click one for its provenance)</h2>
<div class="gridwrap"><img id="grid" src="${file}.png" width="${d.cols * d.tile}" height="${gridRows * d.tile}" alt="${d.cols}×${gridRows} grid of ${esc(l.label)}">${cells}</div>
</section>
<section>
<h2>Provenance</h2>
<p class="muted">Each shown image, its release file and the source image set it was made from; the source thumbnail shows the crop box in yellow.</p>
<ol class="prov">
${items}
</ol>
</section>
</main>`;
  return page(`${l.label} (${l.category}): CytoImageNet release report`, '../', body);
}
