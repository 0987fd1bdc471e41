// The spec's "Category / # of labels" and "Database / Number of Labels Contributed" tables.
import { CATEGORIES, type Category } from '../defaults.js';
import { csvTable } from '../util/csv.js';
import type { LabelTable } from './label-table.js';
import type { LabelOutcome } from './select-labels.js';

export interface CategorySummary {
  category: Category;
  /** Labels kept. */
  labels: number;
  /** Images assigned to them. */
  images: number;
  /** Candidates visited (count ≥ threshold). */
  candidates: number;
  /** Candidates skipped: fewer than threshold rows left at their visit. */
  skipped: number;
}

export interface DatabaseSummary {
  database: string;
  /** Kept labels with at least one image from this database (one label can count for several). */
  labels: number;
  images: number;
}

export const MISSING_DATABASE = '(missing)';

export function summariseCategories(
  outcomes: readonly LabelOutcome[],
  categories: readonly Category[] = CATEGORIES,
): CategorySummary[] {
  return categories.map((category) => {
    const mine = outcomes.filter((o) => o.category === category);
    const kept = mine.filter((o) => o.kept);
    return {
      category,
      labels: kept.length,
      images: kept.reduce((s, o) => s + o.rows.length, 0),
      candidates: mine.length,
      skipped: mine.length - kept.length,
    };
  });
}

export function summariseDatabases(table: LabelTable, outcomes: readonly LabelOutcome[]): DatabaseSummary[] {
  const { words, stride, word, shift, mask, values } = table.columns.database;
  const labels = new Int32Array(values.length + 1);
  const images = new Int32Array(values.length + 1);
  const seen = new Uint8Array(values.length + 1);
  for (const o of outcomes) {
    if (!o.kept) continue;
    seen.fill(0);
    for (const r of o.rows) {
      const d = (words[r * stride + word] >>> shift) & mask; // slot 0 = missing
      images[d]++;
      if (!seen[d]) {
        seen[d] = 1;
        labels[d]++;
      }
    }
  }
  const out: DatabaseSummary[] = [];
  for (let d = 0; d <= values.length; d++) {
    if (images[d] > 0)
      out.push({ database: d === 0 ? MISSING_DATABASE : values[d - 1], labels: labels[d], images: images[d] });
  }
  return out.sort((a, b) => b.labels - a.labels || b.images - a.images || (a.database < b.database ? -1 : 1));
}

export function categoriesCsv(rows: readonly CategorySummary[]): string {
  return csvTable(
    ['category', 'labels', 'images', 'candidates', 'skipped'],
    rows.map((r) => [r.category, r.labels, r.images, r.candidates, r.skipped]),
  );
}

export function databasesCsv(rows: readonly DatabaseSummary[]): string {
  return csvTable(
    ['database', 'labels', 'images'],
    rows.map((r) => [r.database, r.labels, r.images]),
  );
}

function mdCell(s: string | number): string {
  return String(s).replace(/\|/g, '\\|');
}

export interface SummaryContext {
  catalog: string;
  rows: number;
  excludedRows: number;
  threshold: number;
  cap: number;
  presample: number;
  seed: number;
  excludeSources: readonly string[];
}

export function summaryMarkdown(
  ctx: SummaryContext,
  categories: readonly CategorySummary[],
  databases: readonly DatabaseSummary[],
): string {
  const sorted = [...categories].sort(
    (a, b) => b.labels - a.labels || CATEGORIES.indexOf(a.category) - CATEGORIES.indexOf(b.category),
  );
  const labels = categories.reduce((s, c) => s + c.labels, 0);
  const images = categories.reduce((s, c) => s + c.images, 0);
  const lines = [
    '# Weak labels',
    '',
    `${labels} labels, ${images} images, from ${ctx.rows} catalog rows` +
      (ctx.excludedRows ? ` (${ctx.excludedRows} rows of ${ctx.excludeSources.join(', ')} held out)` : '') +
      '.',
    '',
    `Catalog: \`${ctx.catalog}\`. Threshold ${ctx.threshold}, cap ${ctx.cap}, pre-sample ${ctx.presample}, seed ${ctx.seed}.`,
    '',
    '| Category | # of labels | # of images | candidates | skipped |',
    '|---|---:|---:|---:|---:|',
    ...sorted.map((c) => `| ${c.category} | ${c.labels} | ${c.images} | ${c.candidates} | ${c.skipped} |`),
    `| **total** | ${labels} | ${images} | ${categories.reduce((s, c) => s + c.candidates, 0)} | ${categories.reduce((s, c) => s + c.skipped, 0)} |`,
    '',
    'A label counts for every database that contributed at least one of its images.',
    '',
    '| Database | Number of Labels Contributed | # of images |',
    '|---|---:|---:|',
    ...databases.map((d) => `| ${mdCell(d.database)} | ${d.labels} | ${d.images} |`),
    '',
  ];
  return lines.join('\n');
}
