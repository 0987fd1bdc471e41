// `labels --extend`: a labels folder grown from a catalog that gained a source keeps everything
// its parent selected (docs/labels.md "Extending a labels folder").
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assignLabels } from '../../src/labels/assign-labels.js';
import { extendLabels } from '../../src/labels/extend-labels.js';
import { labelsDigest } from '../../src/labels/labels-digest.js';
import { UserError } from '../../src/util/errors.js';
import { makeCatalog, type TestRow } from './make-catalog.js';
import { syntheticRows } from './synthetic-rows.js';
import { readLabelsFolder, type LabelsFolder } from './read-outputs.js';

const OPTS = { threshold: 40, cap: 150, presample: 300, seed: 7 } as const;
const FILES = [
  'labels.csv',
  'assignments.csv',
  'labels.json',
  'candidates.csv',
  'summary.md',
  'summary-categories.csv',
  'summary-databases.csv',
];

let dir = '';
let oldRows: TestRow[] = [];
let newRows: TestRow[] = [];
let grownCatalog = '';
let parent: LabelsFolder;
let ext: LabelsFolder;

function holds(row: TestRow, category: string, token: string): boolean {
  const v = (row as Record<string, unknown>)[category];
  return typeof v === 'string' && v.split('|').some((t) => t.trim() === token);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-extend-'));
  oldRows = syntheticRows(3000);
  // A new source: same vocabulary, plus a phenotype no old row has (a new label).
  newRows = syntheticRows(1500, 99).map((r, i) => ({
    ...r,
    idx: `new_d-${String(i).padStart(6, '0')}`,
    dir_name: 'new_d',
    database: 'New lab',
    name: 'new screen',
    phenotype: i % 3 === 0 ? 'apoptotic' : r.phenotype,
  }));
  const oldCatalog = join(dir, 'old.duckdb');
  grownCatalog = join(dir, 'grown.duckdb');
  await makeCatalog(oldCatalog, oldRows);
  await makeCatalog(grownCatalog, [...oldRows, ...newRows]);
  await assignLabels(oldCatalog, join(dir, 'parent'), OPTS);
  await extendLabels(grownCatalog, join(dir, 'parent'), join(dir, 'ext'));
  parent = readLabelsFolder(join(dir, 'parent'));
  ext = readLabelsFolder(join(dir, 'ext'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('every parent label keeps its rows and folder; grows only with new rows, up to the cap', () => {
  const extOf = new Map(ext.assignments.map((a) => [a.idx, `${a.category}:${a.label}`]));
  for (const a of parent.assignments) assert.equal(extOf.get(a.idx), `${a.category}:${a.label}`, a.idx);
  const parentIdx = new Set(parent.assignments.map((a) => a.idx));
  const byIdx = new Map([...oldRows, ...newRows].map((r) => [r.idx, r]));
  let grew = 0;
  for (const p of parent.labels) {
    const e = ext.labels.find((l) => l.label === p.label && l.category === p.category);
    assert.ok(e, `${p.label} kept`);
    assert.equal(e.dir_label, p.dir_label);
    assert.equal(e.order, p.order);
    const added = ext.assignments.filter(
      (a) => a.label === p.label && a.category === p.category && !parentIdx.has(a.idx),
    );
    for (const a of added) assert.ok(a.idx.startsWith('new_d-'), `${p.label} grew with old row ${a.idx}`);
    assert.equal(Number(e.selected), Number(p.selected) + added.length);
    assert.ok(Number(e.selected) <= OPTS.cap);
    if (Number(p.selected) === OPTS.cap) assert.equal(added.length, 0, `${p.label} was full`);
    if (added.length) grew++;
    // Below the cap, every new row holding the token went to some label.
    if (Number(e.selected) < OPTS.cap)
      for (const r of newRows)
        if (holds(r, p.category, p.label)) assert.ok(extOf.has(r.idx), `${r.idx} could have topped up ${p.label}`);
    for (const a of added) assert.ok(holds(byIdx.get(a.idx) as TestRow, p.category, p.label));
  }
  assert.ok(grew > 0, 'some parent label was topped up');
});

test('new labels appear, drawn from never-used rows, and no row has two labels', () => {
  const parentIdx = new Set(parent.assignments.map((a) => a.idx));
  const apoptotic = ext.labels.find((l) => l.label === 'apoptotic');
  assert.ok(apoptotic, 'the new source brings a new label');
  assert.ok(Number(apoptotic.order) > Math.max(...parent.candidates.map((c) => Number(c.order))));
  const mine = ext.assignments.filter((a) => a.label === 'apoptotic');
  assert.equal(mine.length, Number(apoptotic.selected));
  for (const a of mine) assert.ok(!parentIdx.has(a.idx));
  const seen = new Set<string>();
  for (const a of ext.assignments) {
    assert.ok(!seen.has(a.idx), `${a.idx} twice`);
    seen.add(a.idx);
  }
});

test("labels.json records the parent's digest and keeps its options", () => {
  assert.deepEqual(ext.manifest.parent, {
    digest: labelsDigest(join(dir, 'parent')),
    catalogFingerprint: parent.manifest.catalogFingerprint,
  });
  for (const k of ['threshold', 'cap', 'presample', 'seed', 'categories', 'excludeSources'])
    assert.deepEqual(ext.manifest[k], parent.manifest[k], k);
  assert.notEqual(ext.manifest.catalogFingerprint, parent.manifest.catalogFingerprint);
});

test('a second extend with nothing new changes nothing: the parent, byte for byte', async () => {
  const again = join(dir, 'again');
  const report = await extendLabels(grownCatalog, join(dir, 'ext'), again);
  assert.equal(report.unchanged, true);
  for (const f of FILES) assert.deepEqual(await readFile(join(again, f)), await readFile(join(dir, 'ext', f)), f);
  assert.equal(labelsDigest(again), labelsDigest(join(dir, 'ext')));
});

test('the extension is reproducible', async () => {
  const twice = join(dir, 'twice');
  await extendLabels(grownCatalog, join(dir, 'parent'), twice);
  for (const f of FILES) assert.deepEqual(await readFile(join(twice, f)), await readFile(join(dir, 'ext', f)), f);
});

test("refused: flags that differ from the parent's, a catalog that lost a parent row, --out inside the parent", async () => {
  await assert.rejects(
    extendLabels(grownCatalog, join(dir, 'parent'), join(dir, 'x1'), { cap: 200 }),
    (e: unknown) => e instanceof UserError && /cap 200 \(the parent's is 150\)/.test(e.message),
  );
  // Same values as the parent's are fine.
  await extendLabels(grownCatalog, join(dir, 'parent'), join(dir, 'x2'), { cap: '150', seed: 7 });
  const shrunk = join(dir, 'shrunk.duckdb');
  const used = new Set(parent.assignments.map((a) => a.idx));
  await makeCatalog(
    shrunk,
    oldRows.filter((r) => r.idx !== [...used][0]),
  );
  await assert.rejects(
    extendLabels(shrunk, join(dir, 'parent'), join(dir, 'x3')),
    (e: unknown) => e instanceof UserError && /has no row/.test(e.message) && /grown by new rows/.test(e.hint ?? ''),
  );
  await assert.rejects(
    extendLabels(grownCatalog, join(dir, 'parent'), join(dir, 'parent', 'sub')),
    (e: unknown) => e instanceof UserError && /apart from the --extend folder/.test(e.message),
  );
});
