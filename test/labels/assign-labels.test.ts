// End to end on synthetic catalogs (a real DuckDB file): everything docs/labels.md promises.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATEGORIES } from '../../src/defaults.js';
import { assignLabels } from '../../src/labels/assign-labels.js';
import { catalogFingerprint } from '../../src/catalog/fingerprint.js';
import { Rng } from '../../src/util/rng.js';
import { UserError } from '../../src/util/errors.js';
import { makeCatalog, type TestRow } from './make-catalog.js';
import { syntheticRows } from './synthetic-rows.js';
import { readCsv, readLabelsFolder, type CsvRow, type LabelsFolder } from './read-outputs.js';

// Small numbers so every path runs: keep-all, cap, and pre-sample (> presample available rows).
const OPTS = { threshold: 40, cap: 150, presample: 300 } as const;

let dir = '';
let rows: TestRow[] = [];
let catalog = '';
let base: LabelsFolder;

/** Exact tokens, written independently of the implementation under test. */
function holds(row: TestRow, category: string, token: string): boolean {
  const v = (row as Record<string, unknown>)[category];
  return typeof v === 'string' && v.split('|').some((t) => t.trim() === token);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-labels-'));
  rows = syntheticRows(6000);
  catalog = join(dir, 'catalog.duckdb');
  await makeCatalog(catalog, rows);
  await assignLabels(catalog, join(dir, 'base'), { ...OPTS, seed: 7 });
  base = readLabelsFolder(join(dir, 'base'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("every image has at most one label, and holds that label's token exactly", () => {
  const byIdx = new Map(rows.map((r) => [r.idx, r]));
  const seen = new Set<string>();
  assert.ok(base.assignments.length > 1000);
  for (const a of base.assignments) {
    assert.ok(!seen.has(a.idx), `${a.idx} assigned twice`);
    seen.add(a.idx);
    const row = byIdx.get(a.idx);
    assert.ok(row, `${a.idx} is not a catalog row`);
    assert.ok(holds(row, a.category, a.label), `${a.idx} (${a.category}) does not hold '${a.label}'`);
  }
});

test('every kept label has between threshold and cap images: exactly min(available, cap)', () => {
  const perLabel = new Map<string, number>();
  for (const a of base.assignments)
    perLabel.set(`${a.category}:${a.label}`, (perLabel.get(`${a.category}:${a.label}`) ?? 0) + 1);
  assert.ok(base.labels.length > 30);
  for (const l of base.labels) {
    const selected = Number(l.selected);
    assert.equal(selected, Math.min(Number(l.candidates), OPTS.cap), `${l.label}`);
    assert.ok(selected >= OPTS.threshold && selected <= OPTS.cap);
    assert.equal(perLabel.get(`${l.category}:${l.label}`), selected);
  }
  assert.ok(
    base.labels.some((l) => Number(l.candidates) < OPTS.cap),
    'some label keeps all its rows',
  );
  assert.ok(
    base.candidates.some((c) => c.presampled === 'true'),
    'some label ran the pre-sample step',
  );
  assert.ok(
    base.candidates.some((c) => c.status === 'skipped'),
    'some candidate had too few rows left',
  );
});

test('candidates are visited least count first; available rows are what a per-label scan finds', () => {
  // Reference: every (category, token) with count ≥ threshold, by one naive scan per label.
  const counts = new Map<string, number>();
  for (const r of rows) {
    for (const c of CATEGORIES) {
      const v = r[c];
      if (typeof v !== 'string') continue;
      for (const t of new Set(v.split('|').map((s) => s.trim())))
        counts.set(`${c}\u0000${t}`, (counts.get(`${c}\u0000${t}`) ?? 0) + 1);
    }
  }
  const expected = [...counts]
    .filter(([, n]) => n >= OPTS.threshold)
    .map(([k, n]) => `${k}\u0000${n}`)
    .sort();
  const got = base.candidates.map((c) => `${c.category}\u0000${c.label}\u0000${c.count}`).sort();
  assert.deepEqual(got, expected);

  base.candidates.forEach((c, i) => {
    assert.equal(Number(c.order), i + 1);
    if (i > 0) assert.ok(Number(c.count) >= Number(base.candidates[i - 1].count), 'least count first');
  });
  const kept = new Map<string, CsvRow[]>();
  for (const a of base.assignments) {
    const k = `${a.category}\u0000${a.label}`;
    kept.set(k, [...(kept.get(k) ?? []), a]);
  }
  const used = new Set<string>();
  for (const c of base.candidates) {
    const available = rows.filter((r) => !used.has(r.idx) && holds(r, c.category, c.label)).length;
    assert.equal(Number(c.candidates), available, `available rows of ${c.category}:${c.label}`);
    assert.equal(c.status, available >= OPTS.threshold ? 'kept' : 'skipped');
    for (const a of kept.get(`${c.category}\u0000${c.label}`) ?? []) used.add(a.idx);
  }
  // labels.csv = the kept candidates, in visit order.
  assert.deepEqual(
    base.labels.map((l) => `${l.order}:${l.label}`),
    base.candidates.filter((c) => c.status === 'kept').map((c) => `${c.order}:${c.label}`),
  );
});

test('a second run with the same seed is identical', async () => {
  await assignLabels(catalog, join(dir, 'again'), { ...OPTS, seed: 7 });
  const again = readLabelsFolder(join(dir, 'again'));
  assert.equal(again.raw.labels, base.raw.labels);
  assert.equal(again.raw.assignments, base.raw.assignments);
  assert.equal(again.raw.manifest, base.raw.manifest);
});

test('a shuffled input (another row and ingest order) gives the same assignment', async () => {
  const shuffled = Rng.fromSeed(99).shuffle([...rows]);
  const path = join(dir, 'shuffled.duckdb');
  await makeCatalog(path, shuffled);
  await assignLabels(path, join(dir, 'shuffled'), { ...OPTS, seed: 7 });
  const s = readLabelsFolder(join(dir, 'shuffled'));
  assert.equal(s.raw.labels, base.raw.labels);
  assert.equal(s.raw.assignments, base.raw.assignments);
  assert.equal(s.manifest.catalogFingerprint, base.manifest.catalogFingerprint);
});

test('a different seed gives a different sample with the same counts', async () => {
  await assignLabels(catalog, join(dir, 'seed8'), { ...OPTS, seed: 8 });
  const other = readLabelsFolder(join(dir, 'seed8'));
  // Candidates, their visit order and their counts never depend on the seed.
  const visits = (f: LabelsFolder): string[] =>
    f.candidates.map((c) => `${c.order}:${c.category}:${c.label}:${c.count}`);
  assert.deepEqual(visits(other), visits(base));
  const counts = (f: LabelsFolder): string[] =>
    f.labels.map((l) => `${l.category}:${l.label}:${l.count}:${l.selected}`);
  // The first labels keep all their rows, so the counts before any cap are equal; those after
  // may shift slightly, since earlier draws change which rows remain.
  const capped = base.labels.findIndex((l) => Number(l.candidates) > OPTS.cap);
  assert.ok(capped > 0);
  assert.deepEqual(counts(other).slice(0, capped + 1), counts(base).slice(0, capped + 1));
  const label = base.labels[capped];
  const pick = (f: LabelsFolder): string[] =>
    f.assignments.filter((a) => a.label === label.label && a.category === label.category).map((a) => a.idx);
  assert.equal(pick(other).length, pick(base).length);
  assert.notDeepEqual(pick(other), pick(base));
  assert.notEqual(other.raw.assignments, base.raw.assignments);
});

test('labels.json records the options, the catalog fingerprint, the tool version and the CSVs digests', async () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.deepEqual(base.manifest, {
    threshold: 40,
    cap: 150,
    presample: 300,
    seed: 7,
    excludeSources: [],
    categories: [...CATEGORIES],
    catalogFingerprint: await catalogFingerprint(catalog),
    toolVersion: pkg.version,
    sha256: {
      'labels.csv': createHash('sha256').update(base.raw.labels).digest('hex'),
      'assignments.csv': createHash('sha256').update(base.raw.assignments).digest('hex'),
    },
  });
});

test('the same token in two categories gives two labels, in two folders', () => {
  const actin = base.labels.filter((l) => l.label === 'actin');
  assert.deepEqual(actin.map((l) => l.category).sort(), ['cell_visible', 'phenotype']);
  assert.notEqual(actin[0].dir_label, actin[1].dir_label);
  assert.equal(new Set(base.labels.map((l) => l.dir_label)).size, base.labels.length);
  const cats = new Set(base.assignments.filter((a) => a.label === 'actin').map((a) => a.category));
  assert.deepEqual([...cats].sort(), ['cell_visible', 'phenotype']);
});

test('summaries per category and per database agree with the assignments', () => {
  const byIdx = new Map(rows.map((r) => [r.idx, r]));
  const cats = readCsv(join(dir, 'base', 'summary-categories.csv'));
  assert.deepEqual(
    cats.map((c) => c.category),
    [...CATEGORIES],
  );
  for (const c of cats) {
    const mine = base.labels.filter((l) => l.category === c.category);
    assert.equal(Number(c.labels), mine.length);
    assert.equal(
      Number(c.images),
      mine.reduce((s, l) => s + Number(l.selected), 0),
    );
  }
  const dbs = readCsv(join(dir, 'base', 'summary-databases.csv'));
  for (const d of dbs) {
    const mine = base.assignments.filter((a) => byIdx.get(a.idx)?.database === d.database);
    assert.equal(Number(d.images), mine.length);
    assert.equal(Number(d.labels), new Set(mine.map((a) => `${a.category}:${a.label}`)).size);
  }
  const md = readFileSync(join(dir, 'base', 'summary.md'), 'utf8');
  assert.match(md, /\| Category \| # of labels \|/);
  assert.match(md, /\| Recursion \| \d+ \|/);
});

test('--exclude-source keeps a source out of labelling; an unknown source is refused by name', async () => {
  const report = await assignLabels(catalog, join(dir, 'held-out'), { ...OPTS, seed: 7, excludeSources: ['bbbc_c'] });
  const f = readLabelsFolder(join(dir, 'held-out'));
  assert.equal(report.excludedRows, 2000);
  assert.ok(f.assignments.length > 0);
  assert.ok(f.assignments.every((a) => !a.idx.startsWith('bbbc_c-')));
  assert.deepEqual(f.manifest.excludeSources, ['bbbc_c']);
  await assert.rejects(
    assignLabels(catalog, join(dir, 'bad'), { ...OPTS, excludeSources: ['bbbc021'] }),
    (e: unknown) => e instanceof UserError && /no source named 'bbbc021'/.test(e.message) && /idr_a/.test(e.hint ?? ''),
  );
});

test('exact tokens only: rab5 never takes rab5a rows, and regex characters are plain text', async () => {
  const small: TestRow[] = [];
  const add = (n: number, v: Partial<TestRow>, tag: string): void => {
    for (let i = 0; i < n; i++) small.push({ idx: `${tag}-${i}`, ...v });
  };
  add(30, { cell_visible: 'rab5a' }, 'a');
  add(25, { cell_visible: 'rab5' }, 'b');
  add(10, { cell_visible: 'nucleus|rab5' }, 'c');
  add(22, { compound: 'cpd(1)+' }, 'd');
  add(22, { compound: 'cpd(1)' }, 'e');
  const path = join(dir, 'rab5.duckdb');
  await makeCatalog(path, small);
  await assignLabels(path, join(dir, 'rab5'), { threshold: 20, cap: 100 });
  const f = readLabelsFolder(join(dir, 'rab5'));
  const of = (label: string): string[] =>
    f.assignments.filter((a) => a.label === label).map((a) => a.idx.split('-')[0]);
  assert.deepEqual(new Set(of('rab5')), new Set(['b', 'c']));
  assert.equal(of('rab5').length, 35);
  assert.deepEqual(new Set(of('rab5a')), new Set(['a']));
  assert.deepEqual(new Set(of('cpd(1)+')), new Set(['d']));
  assert.deepEqual(new Set(of('cpd(1)')), new Set(['e']));
});

test('stratum counts are within floor/ceil of their exact quota ("a|b" and "b|a" are one stratum)', async () => {
  const rng = Rng.fromSeed(3);
  const strata: TestRow[] = [];
  const organisms = ['human', 'mouse', null];
  const cellTypes = ['hela', 'u2os|hela', 'hela|u2os', null];
  const visible = ['nucleus|actin', 'actin|nucleus', 'nucleus', null];
  for (let i = 0; i < 700; i++) {
    strata.push({
      idx: `s-${String(i).padStart(4, '0')}`,
      compound: 'x',
      organism: organisms[rng.int(0, 2)],
      cell_type: cellTypes[rng.int(0, 3)],
      cell_visible: i < 690 ? visible[rng.int(0, 3)] : `rare${i}`, // ten 1-row strata: 0 or 1 each
      phenotype: rng.float() < 0.1 ? 'mitotic' : null,
    });
  }
  const path = join(dir, 'strata.duckdb');
  await makeCatalog(path, strata);
  const keyOf = (r: TestRow): string =>
    (['organism', 'cell_type', 'cell_visible', 'phenotype'] as const)
      .map((k) => (r[k] ? [...new Set(r[k].split('|'))].sort().join('|') : '\u0000missing'))
      .join('\u0001');
  const sizes = new Map<string, number>();
  for (const r of strata) sizes.set(keyOf(r), (sizes.get(keyOf(r)) ?? 0) + 1);
  const byIdx = new Map(strata.map((r) => [r.idx, r]));
  for (const seed of [1, 2, 3]) {
    const out = join(dir, `strata-${seed}`);
    await assignLabels(path, out, { threshold: 20, cap: 100, presample: 1000, seed, categories: ['compound'] });
    const picked = new Map<string, number>();
    const f = readLabelsFolder(out);
    assert.equal(f.assignments.length, 100);
    for (const a of f.assignments) {
      const k = keyOf(byIdx.get(a.idx)!);
      picked.set(k, (picked.get(k) ?? 0) + 1);
    }
    for (const [k, s] of sizes) {
      const exact = (100 * s) / 700;
      const got = picked.get(k) ?? 0;
      assert.ok(
        got === Math.floor(exact) || got === Math.ceil(exact),
        `stratum of ${s} rows got ${got}, quota ${exact.toFixed(2)}`,
      );
    }
  }
});

test('malformed options get a clear message', async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ threshold: 2000, cap: 1000 }, /--threshold \(2000\) must not exceed --cap \(1000\)/],
    [{ cap: -5 }, /--cap must be at least 1, got -5/],
    [{ seed: '-1' }, /--seed must be at least 0/],
    [{ threshold: '2.5' }, /--threshold must be a positive whole number, got '2\.5'/],
    [{ categories: ['organism', 'colour'] }, /unknown category 'colour'; expected one of organism, cell_type/],
    [{ cap: 20000 }, /--presample \(10000\) must be at least --cap \(20000\)/],
  ];
  for (const [opts, message] of cases) {
    await assert.rejects(
      assignLabels(catalog, join(dir, 'never'), opts),
      (e: unknown) => e instanceof UserError && message.test(e.message),
      String(message),
    );
  }
  await assert.rejects(
    assignLabels(join(dir, 'nope.duckdb'), join(dir, 'never')),
    (e: unknown) => e instanceof UserError && /catalog not found/.test(e.message),
  );
});

test('a catalog with duplicate or missing idx, or no catalog table, is refused with a clear message', async () => {
  const dup = join(dir, 'dup.duckdb');
  await makeCatalog(dup, [{ idx: 'a-1', organism: 'human' }, { idx: 'a-2' }, { idx: 'a-1', organism: 'mouse' }]);
  await assert.rejects(
    assignLabels(dup, join(dir, 'dup')),
    (e: unknown) => e instanceof UserError && /idx is not unique \('a-1'/.test(e.message),
  );
  const missing = join(dir, 'missing.duckdb');
  await makeCatalog(missing, [{ idx: 'a-1' }, { idx: null as unknown as string }]);
  await assert.rejects(
    assignLabels(missing, join(dir, 'missing')),
    (e: unknown) => e instanceof UserError && /1 catalog rows have no idx/.test(e.message),
  );
  await assert.rejects(
    assignLabels(join(dir, 'base', 'labels.csv'), join(dir, 'nc')),
    (e: unknown) => e instanceof UserError && /cannot open the catalog/.test(e.message),
  );
});

test('idx and labels with commas, quotes and non-ASCII characters round-trip through the CSV files', async () => {
  const odd: TestRow[] = [];
  for (let i = 0; i < 25; i++) odd.push({ idx: `src,"${i}"-é`, compound: 'n,n-dimethyl "x"' });
  const path = join(dir, 'odd.duckdb');
  await makeCatalog(path, odd);
  await assignLabels(path, join(dir, 'odd'), { threshold: 20, cap: 100, categories: ['compound'] });
  const f = readLabelsFolder(join(dir, 'odd'));
  assert.deepEqual(
    f.labels.map((l) => l.label),
    ['n,n-dimethyl "x"'],
  );
  assert.deepEqual(new Set(f.assignments.map((a) => a.idx)), new Set(odd.map((r) => r.idx)));
  assert.ok(f.assignments.every((a) => a.label === 'n,n-dimethyl "x"' && a.category === 'compound'));
});
