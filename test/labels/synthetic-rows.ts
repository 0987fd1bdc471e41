// Small CytoImageNet-shaped catalogs for tests: several sources, multi-valued cells in both
// orders, missing values, near-duplicate tokens (rab5 / rab5a), one token in two categories.
import { Rng } from '../../src/util/rng.js';
import type { TestRow } from './make-catalog.js';

const SOURCES = [
  { dir_name: 'idr_a', database: 'Image Data Resource', name: 'screen a' },
  { dir_name: 'rec_b', database: 'Recursion', name: 'rxrx b' },
  { dir_name: 'bbbc_c', database: 'Broad Bioimage Benchmark Collection', name: 'bbbc c' },
] as const;

function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = rng.float() * total;
  for (const [v, w] of items) {
    x -= w;
    if (x < 0) return v;
  }
  return items[items.length - 1][0];
}

export function syntheticRows(n: number, seed = 123): TestRow[] {
  const rng = Rng.fromSeed(seed);
  const rows: TestRow[] = [];
  for (let i = 0; i < n; i++) {
    const src = SOURCES[i % 3];
    const recursion = src.dir_name === 'rec_b';
    const compoundIndex = Math.floor(40 * rng.float() ** 2); // skewed: low indices frequent
    rows.push({
      idx: `${src.dir_name}-${String(i).padStart(6, '0')}`,
      database: src.database,
      name: src.name,
      dir_name: src.dir_name,
      organism: weighted(rng, [
        ['human', 70],
        ['mouse', 25],
        [null, 5],
      ] as const),
      cell_type: weighted(rng, [
        ['u2os', 40],
        ['hela', 30],
        ['a549', 15],
        ['hela|u2os', 5],
        [null, 10],
      ] as const),
      cell_visible: weighted(rng, [
        ['nucleus|actin', 30],
        ['actin|nucleus', 30],
        ['nucleus', 20],
        ['rab5', 4],
        ['rab5a', 4],
        ['nucleus|rab5', 2],
        [null, 10],
      ] as const),
      compound: recursion || rng.float() < 0.2 ? null : compoundIndex === 0 ? 'dmso' : `cpd${compoundIndex}`,
      sirna: recursion ? `s${rng.int(1, 8)}` : null,
      gene: recursion ? `${['rab5', 'tp53', 'kras', 'myc'][rng.int(0, 3)]} targeted` : null,
      phenotype: weighted(rng, [
        ['actin', 4],
        ['mitotic', 10],
        ['normal', 30],
        [null, 56],
      ] as const),
      microscopy: 'fluorescence',
    });
  }
  return rows;
}
