// describe: what a catalog holds, as tables a user can open and charts they can look at:
//   categories.csv — per label category: distinct labels, labels with ≥ threshold rows (the spec's
//                    "Category / # of labels" table counts those), rows with a value;
//   databases.csv, sources.csv — rows per database and per source (with file status);
//   categories.svg/.png, sources.svg/.png — bar charts (vega-lite; PNG rasterised by sharp).
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse as parseVega, View } from 'vega';
import sharp from 'sharp';
import { CATEGORIES, LABELS } from '../defaults.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { csvField } from '../util/csv.js';
import { resolveInside } from '../util/safe-path.js';
import { CATALOG_TABLE, SOURCES_TABLE } from '../sources/schema.js';
import { withCatalog } from './db.js';
import { ident } from '../util/sql.js';
import { requireCatalogFile } from './export.js';

export interface CategorySummary {
  category: string;
  labels: number;
  labelsAtThreshold: number;
  rows: number;
}

export interface SourceSummary {
  dir_name: string;
  database: string;
  name: string;
  rows: number;
  present: number;
  missing: number;
  unchecked: number;
}

export interface DatabaseSummary {
  database: string;
  sources: number;
  rows: number;
}

export interface CatalogDescription {
  rows: number;
  threshold: number;
  categories: CategorySummary[];
  databases: DatabaseSummary[];
  sources: SourceSummary[];
  files: string[];
}

export function toCsv(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return [header.join(','), ...rows.map((r) => r.map(csvField).join(','))].join('\n') + '\n';
}

async function renderChart(spec: TopLevelSpec): Promise<{ svg: string; png: Buffer }> {
  const view = new View(parseVega(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer();
  return { svg, png };
}

function barSpec(
  title: string,
  values: Record<string, string | number>[],
  x: string,
  y: string,
  xTitle: string,
  yTitle: string,
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    data: { values },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: y, type: 'nominal', sort: '-x', title: yTitle },
      x: { field: x, type: 'quantitative', title: xTitle },
    },
    width: 480,
  };
}

export async function describeCatalog(
  catalogPath: string,
  outDir: string,
  opts: { threshold?: number } = {},
): Promise<CatalogDescription> {
  const abs = requireCatalogFile(catalogPath);
  const out = resolve(outDir);
  await mkdir(out, { recursive: true });
  const threshold = opts.threshold ?? LABELS.threshold;
  const d = await withCatalog(
    abs,
    async ({ conn }) => {
      const rows = Number(
        (await conn.runAndReadAll(`SELECT count(*) AS n FROM ${CATALOG_TABLE}`)).getRowObjectsJson()[0].n,
      );
      const categories: CategorySummary[] = [];
      for (const c of CATEGORIES) {
        const r = await conn.runAndReadAll(
          `WITH t AS (SELECT unnest(string_split(${ident(c)}, '|')) AS label FROM ${CATALOG_TABLE} WHERE ${ident(c)} IS NOT NULL), ` +
            `n AS (SELECT label, count(*) AS k FROM t GROUP BY label) ` +
            `SELECT (SELECT count(*) FROM n) AS labels, (SELECT count(*) FROM n WHERE k >= ${threshold}) AS at, ` +
            `(SELECT count(*) FROM ${CATALOG_TABLE} WHERE ${ident(c)} IS NOT NULL) AS rows`,
        );
        const o = r.getRowObjectsJson()[0];
        categories.push({
          category: c,
          labels: Number(o.labels),
          labelsAtThreshold: Number(o.at),
          rows: Number(o.rows),
        });
      }
      const src = await conn.runAndReadAll(
        `SELECT c.dir_name, coalesce(any_value(s.database), any_value(c.database)) AS database, coalesce(any_value(s.name), any_value(c.name)) AS name, count(*) AS rows, ` +
          `count(*) FILTER (WHERE files_status = 'present') AS present, count(*) FILTER (WHERE files_status = 'missing') AS missing, ` +
          `count(*) FILTER (WHERE files_status = 'unchecked') AS unchecked ` +
          `FROM ${CATALOG_TABLE} c LEFT JOIN ${SOURCES_TABLE} s USING (dir_name) GROUP BY c.dir_name ORDER BY rows DESC, c.dir_name`,
      );
      const sources: SourceSummary[] = src.getRowObjectsJson().map((o) => ({
        dir_name: String(o.dir_name),
        database: String(o.database),
        name: String(o.name),
        rows: Number(o.rows),
        present: Number(o.present),
        missing: Number(o.missing),
        unchecked: Number(o.unchecked),
      }));
      const dbs = new Map<string, DatabaseSummary>();
      for (const s of sources) {
        const e = dbs.get(s.database) ?? { database: s.database, sources: 0, rows: 0 };
        e.sources++;
        e.rows += s.rows;
        dbs.set(s.database, e);
      }
      const databases = [...dbs.values()].sort((a, b) => b.rows - a.rows || a.database.localeCompare(b.database));
      return { rows, threshold, categories, databases, sources, files: [] as string[] };
    },
    { readOnly: true },
  );

  const write = async (name: string, data: string | Uint8Array): Promise<void> => {
    const p = resolveInside(out, name);
    await writeFileAtomic(p, data);
    d.files.push(p);
  };
  await write(
    'categories.csv',
    toCsv(
      ['category', 'labels', `labels_with_${threshold}_or_more_rows`, 'rows'],
      d.categories.map((c) => [c.category, c.labels, c.labelsAtThreshold, c.rows]),
    ),
  );
  await write(
    'databases.csv',
    toCsv(
      ['database', 'sources', 'rows'],
      d.databases.map((x) => [x.database, x.sources, x.rows]),
    ),
  );
  await write(
    'sources.csv',
    toCsv(
      ['dir_name', 'database', 'name', 'rows', 'files_present', 'files_missing', 'files_unchecked'],
      d.sources.map((s) => [s.dir_name, s.database, s.name, s.rows, s.present, s.missing, s.unchecked]),
    ),
  );
  const cat = await renderChart(
    barSpec(
      `Distinct labels per category (${d.rows} rows)`,
      d.categories.map((c) => ({ category: c.category, labels: c.labels })),
      'labels',
      'category',
      '# of distinct labels',
      'category',
    ),
  );
  await write('categories.svg', cat.svg);
  await write('categories.png', cat.png);
  const srcChart = await renderChart(
    barSpec(
      'Rows per source',
      d.sources.map((s) => ({ source: `${s.dir_name} (${s.database})`, rows: s.rows })),
      'rows',
      'source',
      'rows',
      'source',
    ),
  );
  await write('sources.svg', srcChart.svg);
  await write('sources.png', srcChart.png);
  return d;
}
