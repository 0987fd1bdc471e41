// The dataset card names each source's licence and citation; a source of the shipped registry
// (docs/sources.md) also gets its homepage, and its licence and citation where the catalog has none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { datasetCard, type CardInput } from '../../src/release/dataset-card.js';

function input(sources: CardInput['sources']): CardInput {
  const counts = { labels: 1, images: 2 };
  return {
    record: {
      fingerprint: 'f',
      catalogFingerprint: 'c',
      labelsFingerprint: 'l',
      toolVersion: '0',
      options: { seed: 0, minRelease: 1, format: 'png', valFraction: 0.1, threshold: 287, cap: 1000, presample: 10000 },
    },
    counts: {
      byCategory: [],
      byDatabase: [],
      bySource: sources.map((s) => ({
        name: s.dir_name,
        dataset: s.name ?? '',
        database: s.database ?? '',
        ...counts,
      })),
      train: 2,
      val: 0,
    },
    stats: { images: 2, crops: 0, capped: 0, cropsFailedQc: 0, rejectsByReason: {} },
    labels: 1,
    dropped: [],
    sources,
    catalogName: 'catalog.duckdb',
    labelsName: 'labels',
    format: 'png',
    shards: [],
    rejects: 0,
  } as unknown as CardInput;
}

test('dataset card: registry sources get licence, citation and homepage; others stay as recorded', () => {
  const card = datasetCard(
    input([
      { dir_name: 'kag_cell_cycle', database: 'Kaggle', name: 'Cell Cycle Experiments', licence: null, citation: null },
      { dir_name: 'idr0080', database: 'Image Data Resource', name: 'Perturbation', licence: 'CC0 1.0', citation: 'X' },
      { dir_name: 'my_lab', database: 'Lab', name: 'Mine', licence: null, citation: null },
    ]),
  );
  const section = (d: string): string => card.split(`### ${d}`)[1].split('###')[0];
  assert.match(section('kag_cell_cycle'), /- licence: CC BY-SA 4\.0/);
  assert.match(section('kag_cell_cycle'), /- citation: Mooney 2018/);
  assert.match(
    section('kag_cell_cycle'),
    /- homepage: https:\/\/www\.kaggle\.com\/paultimothymooney\/cell-cycle-experiments/,
  );
  assert.match(
    section('idr0080'),
    /- licence: CC0 1\.0\n- citation: X\n- homepage: https:\/\/idr\.openmicroscopy\.org/,
  );
  assert.match(
    section('my_lab'),
    /- licence: not recorded in the catalog\n- citation: not recorded in the catalog\n\n/,
  );
});
