import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { CATEGORIES } from '../../src/defaults.js';
import { normalizeValue, splitTokens } from '../../src/labels/tokens.js';
import { encodeRows } from '../../src/labels/label-table.js';
import { allocateQuotas, groupStrata, stratifiedSample, type Strata } from '../../src/labels/stratified-sample.js';
import { presampleKeys, sampleKeys } from '../../src/labels/strata-keys.js';
import { visitOrder } from '../../src/labels/visit-order.js';
import { assignDirLabels, baseDirLabel, dirLabelKey } from '../../src/labels/dir-label.js';
import { buildPostings } from '../../src/labels/postings.js';

test('tokens are whole |-separated parts; a value normalises to its sorted token set', () => {
  assert.deepEqual(splitTokens('nucleus|actin| actin |'), ['nucleus', 'actin']);
  assert.deepEqual(splitTokens(null), []);
  assert.equal(normalizeValue('nucleus|actin'), 'actin|nucleus');
  assert.equal(normalizeValue('actin|nucleus|actin'), 'actin|nucleus');
  assert.equal(normalizeValue(''), null);
  assert.equal(normalizeValue(' | '), null);
});

test('postings hold exact tokens only: rab5 never lists rab5a rows', () => {
  const table = encodeRows([
    { idx: 'a', cell_visible: 'rab5' },
    { idx: 'b', cell_visible: 'rab5a' },
    { idx: 'c', cell_visible: 'nucleus|rab5' },
    { idx: 'd', cell_visible: 'rab5a|nucleus' },
    { idx: 'e', gene: 'rab5' },
  ]);
  const p = buildPostings(table, CATEGORIES);
  const rowsOf = (category: string, token: string): string[] => {
    const l = p.labels.findIndex((x) => x.category === category && x.token === token);
    return [...p.rows.subarray(p.offsets[l], p.offsets[l + 1])].map((r) => table.idx.get(r));
  };
  assert.deepEqual(rowsOf('cell_visible', 'rab5'), ['a', 'c']);
  assert.deepEqual(rowsOf('cell_visible', 'rab5a'), ['b', 'd']);
  assert.deepEqual(rowsOf('cell_visible', 'nucleus'), ['c', 'd']);
  assert.deepEqual(rowsOf('gene', 'rab5'), ['e'], 'the same token in another category is another label');
});

test('quotas are exact: floor or ceil of n·s/N, total exactly n, small strata not rounded away', () => {
  // The original's frac loop with banker's rounding gave these 1-row strata 0 rows each.
  const sizes = [...Array<number>(10).fill(1), 990];
  const tie = [5, 3, 9, 1, 7, 2, 8, 6, 4, 0, 0];
  const q = allocateQuotas(sizes, 100, tie);
  assert.equal(
    q.reduce((a, b) => a + b, 0),
    100,
  );
  assert.equal(q[10], 99);
  assert.deepEqual([...q.slice(0, 10)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 'equal remainders: the lowest tie key wins');

  const rng = Rng.fromSeed(2);
  for (let trial = 0; trial < 200; trial++) {
    const k = rng.int(1, 30);
    const s = Array.from({ length: k }, () => rng.int(1, 500));
    const total = s.reduce((a, b) => a + b, 0);
    const n = rng.int(0, total);
    const quotas = allocateQuotas(
      s,
      n,
      s.map(() => rng.int(0, 2 ** 31)),
    );
    assert.equal(
      quotas.reduce((a, b) => a + b, 0),
      n,
    );
    s.forEach((si, i) => {
      const exact = (n * si) / total;
      assert.ok(
        quotas[i] === Math.floor(exact) || quotas[i] === Math.ceil(exact),
        `stratum ${si} of ${total} got ${quotas[i]} for ${exact}`,
      );
    });
  }
  assert.throws(() => allocateQuotas([3, 4], 8, [0, 0]), RangeError);
});

test('strata: a|b equals b|a, a missing value is its own stratum, and row order does not matter', () => {
  const table = encodeRows([
    { idx: '1', cell_visible: 'nucleus|actin', organism: 'human' },
    { idx: '2', cell_visible: 'actin|nucleus', organism: 'human' },
    { idx: '3', cell_visible: null, organism: 'human' },
    { idx: '4', cell_visible: 'actin', organism: 'human' },
    { idx: '5', cell_visible: 'actin', organism: null },
    { idx: '6', cell_visible: null, organism: 'human' },
  ]);
  const keys = [table.columns.organism, table.columns.cell_visible];
  const lists = (s: Strata): string[][] =>
    Array.from({ length: s.offsets.length - 1 }, (_, g) =>
      [...s.rows.subarray(s.offsets[g], s.offsets[g + 1])].map((r) => table.idx.get(r)),
    );
  const strata = lists(groupStrata(Int32Array.from([0, 1, 2, 3, 4, 5]), keys));
  assert.deepEqual(strata, [['1', '2'], ['3', '6'], ['4'], ['5']]);
  const shuffled = lists(groupStrata(Int32Array.from([5, 3, 1, 4, 0, 2]), keys));
  assert.deepEqual(shuffled, strata);
});

test('stratified sample: exactly n distinct rows, seeded, independent of input order', () => {
  const rows = Array.from({ length: 500 }, (_, i) => ({
    idx: `r${String(i).padStart(4, '0')}`,
    organism: i % 7 === 0 ? null : i % 3 ? 'human' : 'mouse',
    cell_type: ['a', 'b', 'a|b', 'b|a', null][i % 5],
  }));
  const table = encodeRows(rows);
  const keys = [table.columns.organism, table.columns.cell_type];
  const all = Int32Array.from({ length: 500 }, (_, i) => i);
  const a = stratifiedSample(all, keys, 123, Rng.fromSeed(5));
  const b = stratifiedSample(Int32Array.from([...all].reverse()), keys, 123, Rng.fromSeed(5));
  const c = stratifiedSample(all, keys, 123, Rng.fromSeed(6));
  assert.equal(a.length, 123);
  assert.equal(new Set(a).size, 123);
  assert.deepEqual([...a], [...b]);
  assert.notDeepEqual([...a], [...c]);
});

test('strata keys follow the original table, with the spec rule for sirna/compound', () => {
  const expect: Record<string, [string, string, string]> = {
    gene: [
      'organism,cell_type,cell_visible,sirna,compound,phenotype',
      'name,organism,cell_type',
      'cell_visible,sirna,compound,phenotype',
    ],
    compound: ['organism,cell_type,cell_visible,phenotype', 'name,organism,cell_type', 'cell_visible,phenotype'],
    sirna: ['organism,cell_type,cell_visible,phenotype', 'name,organism,cell_type', 'cell_visible,phenotype'],
    phenotype: [
      'organism,cell_type,cell_visible,sirna,compound',
      'name,organism,cell_type',
      'cell_visible,sirna,compound',
    ],
    cell_visible: [
      'organism,cell_type,sirna,compound,phenotype',
      'name,organism,cell_type',
      'sirna,compound,phenotype',
    ],
    cell_type: [
      'organism,cell_visible,sirna,compound,phenotype',
      'name,organism',
      'cell_visible,sirna,compound,phenotype',
    ],
    organism: [
      'cell_type,cell_visible,sirna,compound,phenotype',
      'name,cell_type',
      'cell_visible,sirna,compound,phenotype',
    ],
  };
  for (const c of CATEGORIES) {
    assert.deepEqual(
      [sampleKeys(c, false).join(','), presampleKeys(c).join(','), sampleKeys(c, true).join(',')],
      expect[c],
      c,
    );
  }
});

test('visit order: least count first; ties by category order, then token', () => {
  const labels = [
    { category: 'compound' as const, token: 'b', count: 300 },
    { category: 'compound' as const, token: 'a', count: 300 },
    { category: 'organism' as const, token: 'z', count: 300 },
    { category: 'gene' as const, token: 'x', count: 299 },
    { category: 'sirna' as const, token: 'y', count: 286 },
    { category: 'phenotype' as const, token: 'w', count: 5000 },
  ];
  assert.deepEqual(
    visitOrder(labels, 287).map((i) => `${labels[i].category}:${labels[i].token}`),
    ['gene:x', 'organism:z', 'compound:a', 'compound:b', 'phenotype:w'],
  );
});

test('release folders: unique per label, the same token in two categories gets category suffixes', () => {
  const keys = [
    { label: 'actin', category: 'cell_visible' },
    { label: 'actin', category: 'phenotype' },
    { label: 'dna damage -- apoptosis', category: 'phenotype' },
    { label: 'a/b', category: 'compound' },
    { label: 'a:b', category: 'compound' },
    { label: 'human', category: 'organism' },
  ];
  const byKey = assignDirLabels(keys);
  const names = keys.map((k) => byKey.get(dirLabelKey(k.label, k.category)) as string);
  assert.equal(names[0], 'actin_cell_visible');
  assert.equal(names[1], 'actin_phenotype');
  // The original's readable mapping: ' -- ' → '-', ' ' → '_'.
  assert.equal(names[2], 'dna_damage-apoptosis');
  assert.equal(names[5], 'human');
  assert.equal(new Set(names.map((n) => n.toLowerCase())).size, names.length);
  assert.ok(names.every((n) => !/[/\\:]/.test(n)));
  assert.ok(baseDirLabel('x'.repeat(300)).length <= 200);
  assert.ok(!baseDirLabel('..').startsWith('.'));
  assert.ok(!baseDirLabel('../etc').startsWith('.'));
});
