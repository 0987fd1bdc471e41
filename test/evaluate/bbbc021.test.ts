import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { loadBbbc021ImageSets, type Bbbc021ImageSet } from '../../src/datasets/bbbc021-tables.js';
import { bbbc021Treatments, evaluateBbbc021 } from '../../src/evaluate/bbbc021.js';
import { runBbbc021 } from '../../src/evaluate/run.js';
import type { TableRows } from '../../src/evaluate/fusion.js';
import { writeBbbc021Table } from './planted.js';

const META = sharedPath('metadata', 'bbbc021');

test('real BBBC021 tables: 103 treatments of 38 compounds in 12 MOAs once DMSO is dropped', () => {
  const labelled = loadBbbc021ImageSets(META);
  assert.equal(labelled.length, 3848);
  assert.equal(labelled.filter((s) => s.compound === 'DMSO').length, 1320);
  const all = loadBbbc021ImageSets(META, { all: true });
  assert.equal(all.length, 13200);
  assert.equal(all.filter((s) => s.moa === null).length, 13200 - 3848);
  const ts = bbbc021Treatments(all);
  assert.equal(ts.length, 103);
  assert.equal(new Set(ts.map((t) => t.compound)).size, 38);
  assert.equal(new Set(ts.map((t) => t.moa)).size, 12);
  assert.ok(!ts.some((t) => t.name.includes('DMSO')));
  // Concentrations join as numbers ("0.003000").
  assert.equal(ts.find((t) => t.compound === 'camptothecin' && t.concentration === 0.003)?.moa, 'DNA replication');
  assert.ok(!ts.some((t) => t.compound === '5-fluorouracil'), '5-fluorouracil has no MOA row');
  // Files live under the plate folder; the batch is the plate's week.
  const s = all.find((x) => x.key === 'G10_s1_w1BEDC2073-A983-4B98-95E9-84466707A25D.tif')!;
  assert.equal(s.plate, 'Week4_27481');
  assert.equal(s.moa, null);
  assert.equal(s.files[0], `${s.plate}/${s.key}`);
  assert.match(s.week, /^Week\d+$/);
  assert.ok(s.plate.startsWith(`${s.week}_`));
  // Taxol 0.3 µM is the positive control on every plate: 10 weeks, its batch is its most frequent one.
  const taxol = ts.find((t) => t.compound === 'taxol' && t.concentration === 0.3)!;
  assert.equal(taxol.weeks.length, 10);
  assert.equal(taxol.week, 'Week1');
});

test("MOA-planted features: NSC 103/103; NSCB counts the literature's 92 and reports the 11 it cannot", async () => {
  await withTempDir(async (dir) => {
    const sets = loadBbbc021ImageSets(META);
    const moas = [...new Set(sets.map((s) => s.moa!))].sort();
    const table = join(dir, 'moa.csv');
    await writeBbbc021Table(table, sets, moas.length, (s) => moas.map((m) => (m === s.moa ? 1 : 0)));
    const { result } = await runBbbc021({
      metadata: META,
      features: [table],
      out: join(dir, 'out'),
      k: 1,
      scaler: 'standard',
      toolVersion: 'test',
    });
    assert.deepEqual([result.counts.treatments, result.counts.compounds, result.counts.moas], [103, 38, 12]);
    assert.deepEqual([result.nsc.correct, result.nsc.total], [103, 103]);
    assert.deepEqual([result.nscb.correct, result.nscb.total], [92, 92]);
    assert.equal(result.excluded.nscb.length, 11);
    assert.deepEqual([...new Set(result.excluded.nscb.map((e) => e.moa))].sort(), [
      'Cholesterol-lowering',
      'Kinase inhibitors',
    ]);
    assert.equal(result.counts.dmsoImages, 1320);
  });
});

test('a same-compound neighbour is never used, even when it is the nearest treatment', async () => {
  await withTempDir(async (dir) => {
    const sets = loadBbbc021ImageSets(META);
    const ts = bbbc021Treatments(sets);
    const moaOf = new Map(ts.map((t) => [t.compound, t.moa]));
    // Pair compound i with i+19 in MOA order: no MOA has 19 compounds, so partners differ in MOA.
    const byMoa = [...moaOf.keys()].sort((a, b) => moaOf.get(a)!.localeCompare(moaOf.get(b)!) || a.localeCompare(b));
    const half = byMoa.length / 2;
    const partner = new Map<string, string>();
    byMoa.forEach((c, i) => partner.set(c, byMoa[(i + half) % byMoa.length]));
    for (const [c, p] of partner) assert.notEqual(moaOf.get(c), moaOf.get(p));
    // Every treatment of compound c: 10·e_c + 3·e_partner. Same-compound treatments are identical
    // (distance 0); the partner is the nearest other compound, and always of another MOA.
    const table = join(dir, 'pairs.csv');
    await writeBbbc021Table(
      table,
      sets,
      byMoa.length,
      (s) => byMoa.map((c) => (c === s.compound ? 10 : c === partner.get(s.compound) ? 3 : 0)),
      0,
    );
    const { result } = await runBbbc021({
      metadata: META,
      features: [table],
      out: join(dir, 'out'),
      k: 1,
      scaler: 'none',
      toolVersion: 'test',
    });
    assert.equal(result.nsc.total, 103);
    assert.equal(result.nsc.correct, 0);
    for (const p of result.predictions) {
      assert.equal(p.nsc, moaOf.get(partner.get(p.compound)!), p.treatment);
      assert.ok(p.nscNeighbour!.startsWith(`${partner.get(p.compound)}-`));
    }
    assert.equal(byMoa.length, 38);
  });
});

function synthetic(): { sets: Bbbc021ImageSet[]; table: TableRows } {
  // A (X, week1) is nearest to its own compound, then B (Y, same week), then C (X, another week).
  const spec: [string, number, string, string, number[]][] = [
    ['A', 1, 'X', 'Week1', [1, 0, 0]],
    ['A', 2, 'X', 'Week1', [1, 0, 0.01]],
    ['B', 1, 'Y', 'Week1', [0.9, 0.1, 0]],
    ['C', 1, 'X', 'Week2', [0.7, 0.3, 0]],
    ['D', 1, 'Y', 'Week2', [0, 1, 0]],
    ['E', 1, 'Y', 'Week3', [0, 1, 0.2]],
  ];
  const sets: Bbbc021ImageSet[] = [];
  const keys: string[][] = [];
  const vals: number[] = [];
  for (const [compound, concentration, moa, week, v] of spec) {
    for (const site of [1, 2]) {
      const key = `${compound}${concentration}_s${site}.tif`;
      sets.push({ key, files: [key, key, key], compound, concentration, moa, plate: `${week}_1`, week });
      keys.push([key]);
      vals.push(...v);
    }
  }
  return {
    sets,
    table: {
      file: 'synthetic.csv',
      keys,
      lines: keys.map((_, i) => i + 2),
      matrix: { rows: keys.length, cols: 3, data: Float32Array.from(vals) },
    },
  };
}

test('NSCB also excludes the same batch: the same-week neighbour is skipped for the next one', () => {
  const { sets, table } = synthetic();
  const r = evaluateBbbc021(sets, table, { k: 1, scaler: 'none', metadataFile: 'synthetic', checkCounts: false });
  const a1 = r.predictions.find((p) => p.treatment === 'A-1')!;
  assert.equal(a1.nscNeighbour, 'B-1');
  assert.equal(a1.nsc, 'Y');
  assert.equal(a1.nscbNeighbour, 'C-1');
  assert.equal(a1.nscb, 'X');
  // B (Y, week1): its only other-batch same-MOA peers are D and E, so it is counted under NSCB.
  assert.ok(r.predictions.find((p) => p.treatment === 'B-1')!.nscb !== null);
  // A DMSO scaler needs DMSO images; this table has none.
  assert.throws(
    () => evaluateBbbc021(sets, table, { k: 1, scaler: 'dmso', metadataFile: 'synthetic', checkCounts: false }),
    /needs DMSO image sets/,
  );
  // The synthetic tables are not BBBC021 v1: by default the counts are checked.
  assert.throws(
    () => evaluateBbbc021(sets, table, { k: 1, scaler: 'none', metadataFile: 'synthetic' }),
    /give 6 treatments, 5 compounds and 2 MOAs; BBBC021 v1 has 103, 38 and 12/,
  );
});

test('fusion joins BBBC021 tables by key, whatever their row order and format', async () => {
  await withTempDir(async (dir) => {
    const sets = loadBbbc021ImageSets(META);
    const moas = [...new Set(sets.map((s) => s.moa!))].sort();
    // The first table is noise; the signal is in the second, whose rows are reversed (Parquet):
    // only a join by key keeps each image's signal with it.
    const a = join(dir, 'a.csv');
    await writeBbbc021Table(a, sets, 2, () => [0, 0], 0.2, 7);
    const b = join(dir, 'b.csv');
    await writeBbbc021Table(b, [...sets].reverse(), moas.length, (s) => moas.map((m) => (m === s.moa ? 1 : 0)));
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const pq = join(dir, 'b.parquet');
    await con.run(`COPY (SELECT * FROM read_csv('${b}')) TO '${pq}' (FORMAT parquet)`);
    con.closeSync();
    db.closeSync();
    const { result } = await runBbbc021({
      metadata: META,
      features: [a, pq],
      out: join(dir, 'out'),
      k: 1,
      scaler: 'none',
      toolVersion: 'test',
    });
    assert.equal(result.nsc.total, 103);
    assert.ok(result.nsc.correct >= 100, `fused features keep the MOA signal (${result.nsc.correct}/103)`);
    const json = JSON.parse(await readFile(join(dir, 'out', 'results.json'), 'utf8'));
    assert.deepEqual(json.bbbc021.features, [a, pq]);
  });
});
