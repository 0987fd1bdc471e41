// The labels stage's fast paths against plain versions of the same rules: strata grouping and
// draws (direct addressing, hash over packed words, more than three keys) against a Map-based
// grouping and Rng.sampleIndices; the scratch rows read while they are being written against the
// file read whole; assignments.csv in pieces against one buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/util/rng.js';
import {
  encodeRows,
  type EncodedColumn,
  type KeyColumn,
  type PlainRow,
  valueId,
} from '../../src/labels/label-table.js';
import { groupStrata, stratifiedSample, allocateQuotas, tieKey } from '../../src/labels/stratified-sample.js';
import { readEncodedRows } from '../../src/labels/encoded-rows.js';
import type { Pack } from '../../src/labels/packed-codes.js';
import { assignmentsCsv, writeAssignments } from '../../src/labels/assignments-csv.js';
import type { LabelOutcome } from '../../src/labels/select-labels.js';

/** The sampling rule written plainly: strata by a Map of value-id tuples, in order of first row. */
function plainSample(rows: Int32Array, keys: readonly EncodedColumn[], n: number, rng: Rng): number[] {
  const sorted = [...rows].sort((a, b) => a - b);
  const strata = new Map<string, number[]>();
  for (const r of sorted) {
    const key = keys.map((k) => valueId(k, r)).join(',');
    const list = strata.get(key);
    if (list) list.push(r);
    else strata.set(key, [r]);
  }
  const groups = [...strata.values()];
  const salt = rng.int(0, 0x7fffffff);
  const sizes = groups.map((g) => g.length);
  const quotas = allocateQuotas(
    sizes,
    n,
    groups.map((g) => tieKey(salt, g[0])),
  );
  const out: number[] = [];
  groups.forEach((g, i) => {
    if (quotas[i] === g.length) out.push(...g);
    else if (quotas[i] > 0) for (const j of rng.sampleIndices(g.length, quotas[i])) out.push(g[j]);
  });
  return out.sort((a, b) => a - b);
}

function randomTable(rowCount: number, seed: number, cardinality: Partial<Record<KeyColumn, number>>): PlainRow[] {
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: rowCount }, (_, i) => {
    const row: PlainRow = { idx: `row-${String(i).padStart(6, '0')}` };
    for (const [c, card] of Object.entries(cardinality) as [KeyColumn, number][]) {
      const v = rng.int(0, card);
      // Missing values, and multi-valued cells in both orders (one stratum).
      row[c] = v === 0 ? null : v % 5 === 0 ? `v${v}|w${v}` : v % 5 === 1 ? `w${v - 1}|v${v - 1}` : `v${v}`;
    }
    return row;
  });
}

test('strata and draws match the plain rule: few key tuples, many, and more than three keys', () => {
  const rows = randomTable(6000, 1, {
    organism: 4,
    cell_type: 30,
    name: 6,
    cell_visible: 2000,
    compound: 3000,
    sirna: 400,
    phenotype: 50,
  });
  const table = encodeRows(rows);
  const all = Int32Array.from({ length: rows.length }, (_, i) => i);
  const some = all.filter((r) => r % 3 !== 1);
  const keySets: KeyColumn[][] = [
    ['name', 'organism', 'cell_type'], // a small tuple space: direct addressing
    ['organism'],
    ['cell_visible', 'compound', 'sirna', 'phenotype'], // hashed
    ['name', 'organism', 'cell_type', 'phenotype'], // direct, more than three keys
    [],
  ];
  for (const names of keySets) {
    const keys = names.map((k) => table.columns[k]);
    for (const [input, n] of [
      [all, 700],
      [some, 1234],
      [some, some.length],
    ] as const) {
      const got = stratifiedSample(input, keys, n, Rng.fromSeed(9));
      assert.deepEqual([...got], plainSample(input, keys, n, Rng.fromSeed(9)), `keys ${names.join(', ') || '(none)'}`);
    }
    const strata = groupStrata(some, keys);
    const firstRows = Array.from({ length: strata.offsets.length - 1 }, (_, g) => strata.rows[strata.offsets[g]]);
    assert.deepEqual(
      firstRows,
      [...firstRows].sort((a, b) => a - b),
      'strata come in order of their first row',
    );
  }
});

test('the scratch rows read while DuckDB is still writing them equal the file read whole', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'labels-rows-'));
  try {
    // Two packs of two 4-bit columns; idx fields quoted, with commas, quotes and line breaks.
    const packs: Pack[] = [
      { columns: [0, 1], bits: [4, 4] },
      { columns: [2, 3], bits: [4, 4] },
    ];
    const fieldOf = [0, 1, 2, 3].map(() => Int32Array.from({ length: 16 }, (_, i) => i));
    const rng = Rng.fromSeed(3);
    const n = 60000;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const idx = i % 97 === 0 ? `"r${i}, ""x""\ny"` : i % 89 === 0 ? `"r${i}\r\nz"` : `r${i}`;
      lines.push(`${rng.int(0, 255)},${rng.int(0, 255)},${idx}\n`);
    }
    const text = lines.join('');
    const whole = join(dir, 'whole.csv');
    writeFileSync(whole, text);
    const expected = await readEncodedRows(whole, packs, fieldOf, n);
    // Written in uneven pieces (cutting lines and quoted fields) while it is read.
    const growing = join(dir, 'growing.csv');
    const bytes = Buffer.from(text);
    const written = (async () => {
      writeFileSync(growing, '');
      for (let at = 0; at < bytes.length; ) {
        const next = Math.min(bytes.length, at + 1 + rng.int(0, 300000));
        appendFileSync(growing, bytes.subarray(at, next));
        at = next;
        await new Promise((done) => setTimeout(done, 1));
      }
    })();
    const got = await readEncodedRows(growing, packs, fieldOf, n, written);
    assert.deepEqual([...got.words], [...expected.words]);
    assert.ok(got.idx.bytes.equals(expected.idx.bytes));
    assert.deepEqual([...got.idx.offsets], [...expected.idx.offsets]);
    assert.equal(got.idx.get(97), 'r97, "x"\ny');
    // Read while being written, a hole where bytes have not landed (NULs) is refused, never read
    // as numbers or idx bytes (the caller then reads the file again once DuckDB is done).
    for (const at of [1000, 5000, 20011]) {
      const holed = join(dir, `holed-${at}.csv`);
      writeFileSync(holed, Buffer.concat([bytes.subarray(0, at), Buffer.alloc(3), bytes.subarray(at + 3)]));
      await assert.rejects(
        readEncodedRows(holed, packs, fieldOf, n, new Promise((done) => setTimeout(done, 50))),
        /malformed/,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('assignments.csv made in pieces equals it made whole, a label bigger than a piece included', () => {
  const rows = randomTable(5000, 2, { organism: 3 });
  const table = encodeRows(rows);
  const outcome = (token: string, picked: number[]): LabelOutcome => ({
    token,
    category: 'compound',
    order: 1,
    count: picked.length,
    candidates: picked.length,
    kept: true,
    presampled: false,
    rows: Int32Array.from(picked),
  });
  const kept = [
    outcome(
      'big, "quoted"',
      [...Array(3000).keys()].map((i) => i + 1000),
    ),
    outcome('small', [3, 7, 999]),
    outcome('é', [0, 4999]),
  ];
  const whole = assignmentsCsv(table.idx, kept);
  for (const pieceBytes of [16, 1000, 1 << 20]) {
    const pieces: Buffer[] = [];
    writeAssignments(table.idx, kept, (p) => pieces.push(Buffer.from(p)), undefined, pieceBytes);
    assert.ok(Buffer.concat(pieces).equals(whole), `pieces of ${pieceBytes} bytes`);
  }
  const lines = whole.toString('utf8').split('\n');
  assert.equal(lines[0], 'idx,label,category');
  assert.equal(lines[1], `${table.idx.get(1000)},"big, ""quoted""",compound`);
  assert.equal(lines.length, 1 + 3000 + 3 + 2 + 1);
});
