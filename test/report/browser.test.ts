// The report as a curator sees it: Debian's chromium (driven by playwright-core through
// executablePath, never a downloaded browser) opens index.html over file://, with every request
// that is not a local file refused. CI installs chromium with apt; the test skips only where
// /usr/bin/chromium is absent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runReport, writeIndex, type ReportResult } from '../../src/report/run-report.js';
import type { LabelSummary } from '../../src/report/release-db.js';
import { makeDemoRelease } from './demo-release.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM)
  ? false
  : `Debian's chromium is not installed at ${CHROMIUM} (apt-get install chromium); CI installs it`;

let root: string;
let report: ReportResult;
let browser: Browser;

before(async () => {
  if (skip) return;
  root = await mkdtemp(join(tmpdir(), 'cytoimagenet-report-browser-'));
  const demo = await makeDemoRelease(join(root, 'demo'));
  report = await runReport({
    release: demo.release,
    out: join(root, 'site'),
    catalog: demo.catalog,
    seed: 0,
    progress: false,
    log: () => undefined,
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

interface Watched {
  page: Page;
  errors: string[];
  offline: string[];
}

/** A page that records console errors, page errors and failed loads, and refuses the network. */
async function open(url: string): Promise<Watched> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  const offline: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => errors.push(`failed to load ${r.url()}`));
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith('file:') || u.startsWith('data:')) return route.continue();
    offline.push(u);
    return route.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors, offline };
}

const indexUrl = (): string => pathToFileURL(report.index).href;

/** Every <img> on the page decoded with a size. */
async function brokenImages(page: Page): Promise<string[]> {
  return page.$$eval('img', (imgs) =>
    imgs.filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.getAttribute('src') ?? '?'),
  );
}

test('index.html over file://: charts drawn, images loaded, no console errors, nothing from the network', {
  skip,
}, async () => {
  const { page, errors, offline } = await open(indexUrl());
  const charts = await page.$$eval('.chart', (els) => els.map((e) => e.id));
  assert.equal(charts.length, 8, `charts: ${charts.join(', ')}`);
  await page.waitForFunction(
    "[...document.querySelectorAll('.chart')].every((e) => e.getAttribute('data-rendered') === '1')",
    undefined,
    { timeout: 30_000 },
  );
  for (const id of charts) {
    const marks = await page.$$eval(`#${id} svg .mark-rect path, #${id} svg .mark-rect`, (els) => els.length);
    assert.ok((await page.$(`#${id} svg, #${id} canvas`)) !== null, `${id} has no svg/canvas`);
    assert.ok(marks > 0, `${id} draws no bars`);
  }
  assert.deepEqual(await brokenImages(page), []);
  assert.ok((await page.$$('img')).length >= 2, 'mosaic and umap images');
  assert.deepEqual(errors, []);
  assert.deepEqual(offline, []);

  // a screenshot is a picture, not a blank page
  const shot = await page.screenshot({ fullPage: true });
  const stats = await sharp(shot).greyscale().stats();
  assert.ok(stats.channels[0].stdev > 20, `screenshot looks blank (stdev ${stats.channels[0].stdev})`);
  const { width, height } = await sharp(shot).metadata();
  assert.ok(width! >= 1000 && height! > 1500, `${width}×${height}`);
  await page.close();
});

test('typing in the search narrows the label list', { skip }, async () => {
  const { page, errors } = await open(indexUrl());
  const items = () => page.$$eval('#label-list li', (lis) => lis.map((li) => li.textContent ?? ''));
  const all = await items();
  assert.equal(all.length, report.labels);
  await page.fill('#search', 'blood');
  const blood = await items();
  assert.ok(blood.length > 0 && blood.length < all.length, `${blood.length} of ${all.length}`);
  for (const t of blood) assert.match(t, /blood/);
  // several words: all must match (label, category or source)
  await page.fill('#search', 'red cell_type');
  assert.deepEqual(
    (await items()).map((t) => t.split(' ')[0]),
    ['red'],
  );
  await page.fill('#search', 'no such label');
  assert.equal((await items()).length, 0);
  assert.match((await page.textContent('#search-count')) ?? '', /^0 of /);
  await page.fill('#search', '');
  assert.equal((await items()).length, all.length);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a label page shows 81 images, each with its provenance and source thumbnail', { skip }, async () => {
  const { page, errors, offline } = await open(indexUrl());
  await page.fill('#search', 'dmso');
  await Promise.all([page.waitForEvent('load'), page.click('#label-list li a')]);
  assert.match(page.url(), /labels\/dmso\.html$/);
  assert.equal(await page.textContent('h1'), 'dmso');
  const grid = await page.$eval('#grid', (i) => {
    const img = i as unknown as { naturalWidth: number; naturalHeight: number };
    return [img.naturalWidth, img.naturalHeight];
  });
  assert.deepEqual(grid, [1008, 1008]);
  assert.equal((await page.$$('.gridwrap a')).length, 81);
  const prov = await page.$$eval('li.prov-item', (lis) =>
    lis.map((li) => ({
      idx: li.querySelector('.source-idx')?.textContent ?? '',
      files: li.querySelector('.source-files')?.textContent ?? '',
      thumb: li.querySelector('.sprite.src') !== null,
      tile: li.querySelector('.sprite.tile') !== null,
    })),
  );
  assert.equal(prov.length, 81);
  for (const p of prov) {
    assert.match(p.idx, /^demo_cellpaint-/);
    assert.match(p.files, /\.tif/);
    assert.ok(p.tile && p.thumb, JSON.stringify(p));
  }
  // the sprite sheets behind the tiles and thumbnails load
  // (a string: the test compiles without the DOM types)
  const sheets = (await page.evaluate(`(async () => {
    const urls = [...new Set([...document.querySelectorAll('.sprite')].map((e) => getComputedStyle(e).backgroundImage))];
    return Promise.all(urls.map((u) => new Promise((res) => {
      const img = new Image();
      img.onload = () => res(img.naturalWidth);
      img.onerror = () => res(0);
      img.src = u.slice(5, -2);
    })));
  })()`)) as number[];
  assert.deepEqual(sheets.sort(), [1008, 9 * 128].sort());
  // clicking a tile of the grid leads to its provenance entry
  await page.click('.gridwrap a[href="#p17"]');
  assert.match(page.url(), /#p17$/);
  assert.deepEqual(await brokenImages(page), []);
  assert.deepEqual(errors, []);
  assert.deepEqual(offline, []);
  const stats = await sharp(await page.screenshot())
    .greyscale()
    .stats();
  assert.ok(stats.channels[0].stdev > 20, 'label page screenshot looks blank');
  await page.close();
});

test('the index of a 1,000-label, 1 M-image release: the list draws at most 400, the search finds any label', {
  skip,
}, async () => {
  // Only the index is made (from the demo's figures and 1,000 label entries): what the browser
  // loads for it is the same whatever the number of images, which live on the label pages.
  const out = join(root, 'big-index');
  await mkdir(out, { recursive: true });
  const labels: LabelSummary[] = Array.from({ length: 1000 }, (_, i) => ({
    label: `label ${i}`,
    category: ['compound', 'gene', 'phenotype'][i % 3],
    dirLabel: `label_${i}`,
    images: 1000,
    crops: 700,
    train: 900,
    val: 100,
    sources: [`source_${i % 40}`],
  }));
  const cols = Math.ceil(Math.sqrt(labels.length));
  await sharp({ create: { width: cols * 64, height: cols * 64, channels: 3, background: '#404040' } })
    .png()
    .toFile(join(out, 'mosaic.png'));
  const index = await writeIndex(out, { figures: report.figures, labels, umap: null, mosaicCols: cols, seed: 0 });
  const { page, errors, offline } = await open(pathToFileURL(index).href);
  const items = () => page.$$eval('#label-list li', (lis) => lis.length);
  assert.equal(await items(), 400);
  assert.match((await page.textContent('#search-count')) ?? '', /^1000 of 1000 labels \(first 400 shown/);
  // every word must match: '99' is in 99, 199 … 899 and 990 … 999
  await page.fill('#search', 'label 99');
  assert.equal(await items(), 19);
  await page.fill('#search', 'label 999');
  assert.deepEqual(await page.$$eval('#label-list li a', (as) => as.map((a) => a.getAttribute('href'))), [
    'labels/label_999.html',
  ]);
  assert.equal((await page.$$('#mosaic-wrap a')).length, 1000, 'one link per mosaic tile');
  assert.deepEqual(errors, []);
  assert.deepEqual(offline, []);
  await page.close();
});
