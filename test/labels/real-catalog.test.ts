// The labels stage's promises (docs/labels.md) on a real catalog: ingested by the catalog stage from ../shared/data
// (BBBC021, five IDR studies, CytoImageNet's own curated tables), labelled with a threshold
// lowered to the data's size.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { CATEGORIES, type Category } from '../../src/defaults.js';
import { ingestSources } from '../../src/catalog/ingest.js';
import { assignLabels } from '../../src/labels/assign-labels.js';
import { sampleKeys } from '../../src/labels/strata-keys.js';
import { sharedPath } from '../helpers/data.js';
import { readLabelsFolder, type LabelsFolder } from './read-outputs.js';

const OPTS = { threshold: 50, cap: 200, presample: 1000, excludeSources: ['bbbc021'] };
type Row = Record<string, string | null>;

let dir = '';
let catalog = '';
let rows: Row[] = [];
let out: LabelsFolder;

async function readRows(path: string, order = 'idx'): Promise<Row[]> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  try {
    const r = await conn.runAndReadAll(
      `SELECT idx, dir_name, name, ${CATEGORIES.join(', ')} FROM catalog ORDER BY ${order}`,
    );
    return r.getRowObjectsJS() as Row[];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

const tokens = (v: string | null): string[] => (v === null ? [] : v.split('|').map((t) => t.trim()));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-labels-real-'));
  catalog = join(dir, 'catalog.duckdb');
  const configs: Record<string, unknown>[] = [
    { adapter: 'bbbc021', metadata: sharedPath('metadata', 'bbbc021') },
    ...[
      'idr0080-way-perturbation',
      'idr0081-georgi-adenovirus',
      'idr0072-schormann-subcellref',
      'idr0005-toret-adhesion',
      'idr0021-lawo-pericentriolarmaterial',
    ].map((s) => ({ adapter: 'idr', study: sharedPath('metadata', 'idr', s) })),
    ...['bbbc013', 'bbbc039', 'kag_cell_cycle', 'cil_kinome', 'kag_bacteria'].map((t) => ({
      adapter: 'cytoimagenet-table',
      table: sharedPath('metadata', 'cytoimagenet', `${t}_metadata.csv`),
      datasets_info: sharedPath('metadata', 'cytoimagenet', 'datasets_info.csv'),
    })),
  ];
  const paths: string[] = [];
  for (const [i, c] of configs.entries()) {
    paths.push(join(dir, `source${i}.json`));
    await writeFile(paths[i], JSON.stringify(c));
  }
  await ingestSources(paths, catalog);
  rows = await readRows(catalog);
  await assignLabels(catalog, join(dir, 'out'), { ...OPTS, seed: 1 });
  out = readLabelsFolder(join(dir, 'out'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('real catalog: at most one label per image, each holding its token exactly; BBBC021 held out', () => {
  const byIdx = new Map(rows.map((r) => [r.idx!, r]));
  const seen = new Set<string>();
  assert.ok(out.labels.length >= 20, `${out.labels.length} labels`);
  for (const a of out.assignments) {
    assert.ok(!seen.has(a.idx), `${a.idx} twice`);
    seen.add(a.idx);
    const r = byIdx.get(a.idx)!;
    assert.notEqual(r.dir_name, 'bbbc021');
    assert.ok(tokens(r[a.category]).includes(a.label), `${a.idx}: ${a.category} '${r[a.category]}' lacks '${a.label}'`);
  }
});

test('real catalog: least-first visit; available = a per-label scan of unused rows; kept = min(available, cap)', () => {
  const held = rows.filter((r) => r.dir_name !== 'bbbc021');
  const assigned = new Map<string, string[]>();
  for (const a of out.assignments)
    assigned.set(`${a.category}\u0000${a.label}`, [...(assigned.get(`${a.category}\u0000${a.label}`) ?? []), a.idx]);
  const used = new Set<string>();
  let previous = 0;
  for (const c of out.candidates) {
    assert.ok(Number(c.count) >= previous, 'least count first');
    previous = Number(c.count);
    const category = c.category as Category;
    assert.equal(
      held.filter((r) => tokens(r[category]).includes(c.label)).length,
      Number(c.count),
      `count of ${c.label}`,
    );
    const available = held.filter((r) => !used.has(r.idx!) && tokens(r[category]).includes(c.label));
    assert.equal(Number(c.candidates), available.length, `available of ${c.category}:${c.label}`);
    const mine = assigned.get(`${c.category}\u0000${c.label}`) ?? [];
    if (available.length < OPTS.threshold) assert.equal(mine.length, 0);
    else assert.equal(mine.length, Math.min(available.length, OPTS.cap));
    for (const idx of mine) used.add(idx);
  }
  assert.ok(
    out.candidates.some((c) => c.presampled === 'true'),
    'the pre-sample step ran on real data',
  );
});

test('real catalog: stratum counts of a capped label are within floor/ceil of their exact quota', () => {
  const used = new Set<string>();
  const assigned = new Map<string, Set<string>>();
  for (const a of out.assignments) {
    const k = `${a.category}\u0000${a.label}`;
    if (!assigned.has(k)) assigned.set(k, new Set());
    assigned.get(k)!.add(a.idx);
  }
  let checked = 0;
  for (const c of out.candidates) {
    const category = c.category as Category;
    const mine = assigned.get(`${c.category}\u0000${c.label}`) ?? new Set<string>();
    if (c.presampled === 'false' && Number(c.candidates) > OPTS.cap) {
      const available = rows.filter(
        (r) => r.dir_name !== 'bbbc021' && !used.has(r.idx!) && tokens(r[category]).includes(c.label),
      );
      const keys = sampleKeys(category, false);
      const keyOf = (r: Row): string =>
        keys.map((k) => (r[k] === null ? '\u0000' : [...new Set(tokens(r[k]))].sort().join('|'))).join('\u0001');
      const size = new Map<string, number>();
      const got = new Map<string, number>();
      for (const r of available) {
        size.set(keyOf(r), (size.get(keyOf(r)) ?? 0) + 1);
        if (mine.has(r.idx!)) got.set(keyOf(r), (got.get(keyOf(r)) ?? 0) + 1);
      }
      for (const [k, s] of size) {
        const exact = (OPTS.cap * s) / available.length;
        const g = got.get(k) ?? 0;
        assert.ok(
          g === Math.floor(exact) || g === Math.ceil(exact),
          `${c.label}: stratum of ${s} got ${g} (quota ${exact.toFixed(2)})`,
        );
      }
      checked++;
    }
    for (const idx of mine) used.add(idx);
  }
  assert.ok(checked >= 5, `${checked} capped labels checked`);
});

test('real catalog: a shuffled copy gives the same labels; another seed the same counts, another sample', async () => {
  const shuffled = join(dir, 'shuffled.duckdb');
  const instance = await DuckDBInstance.create(shuffled);
  const conn = await instance.connect();
  try {
    await conn.run(`ATTACH '${catalog}' AS src (READ_ONLY)`);
    await conn.run(`CREATE TABLE catalog AS SELECT * FROM src.catalog ORDER BY md5(idx)`);
    await conn.run(`CREATE TABLE sources AS SELECT * FROM src.sources ORDER BY md5(dir_name)`);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  assert.notDeepEqual(
    (await readRows(shuffled, 'rowid')).slice(0, 50).map((r) => r.idx),
    rows.slice(0, 50).map((r) => r.idx),
  );
  await assignLabels(shuffled, join(dir, 'shuffled-out'), { ...OPTS, seed: 1 });
  const s = readLabelsFolder(join(dir, 'shuffled-out'));
  assert.equal(s.raw.labels, out.raw.labels);
  assert.equal(s.raw.assignments, out.raw.assignments);

  await assignLabels(catalog, join(dir, 'seed2'), { ...OPTS, seed: 2 });
  const other = readLabelsFolder(join(dir, 'seed2'));
  const firstCapped = out.labels.findIndex((l) => Number(l.candidates) > OPTS.cap);
  const head = (f: LabelsFolder): string[] =>
    f.labels.slice(0, firstCapped + 1).map((l) => `${l.category}:${l.label}:${l.selected}`);
  assert.deepEqual(head(other), head(out));
  assert.notEqual(other.raw.assignments, out.raw.assignments);
});
