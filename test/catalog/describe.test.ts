import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { ingestSources } from '../../src/catalog/ingest.js';
import { describeCatalog } from '../../src/catalog/describe.js';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { writeConfig } from './catalog-helpers.js';

test('describe: labels and rows per category (like the spec table), rows per database and source, CSV + SVG/PNG charts', async () => {
  await withTempDir(async (dir) => {
    const configs = [
      await writeConfig(dir, 'b21.json', { adapter: 'bbbc021', metadata: sharedPath('metadata', 'bbbc021') }),
      await writeConfig(dir, 'b41.json', { adapter: 'bbbc041', boxes: sharedPath('metadata', 'bbbc041', 'test.json') }),
      await writeConfig(dir, 'i21.json', {
        adapter: 'idr',
        study: sharedPath('metadata', 'idr', 'idr0021-lawo-pericentriolarmaterial'),
      }),
    ];
    const catalog = join(dir, 'c.duckdb');
    await ingestSources(configs, catalog);
    const d = await describeCatalog(catalog, join(dir, 'describe'));
    assert.equal(d.rows, 13_200 + 5_922 + 414);
    const phen = d.categories.find((c) => c.category === 'phenotype');
    assert.equal(phen?.labels, 12);
    assert.equal(phen?.rows, 2_528);
    const ct = d.categories.find((c) => c.category === 'cell_type');
    // mcf7, hela and BBBC041's six box categories.
    assert.equal(ct?.labels, 8);
    assert.deepEqual(
      d.databases.map((x) => [x.database, x.sources, x.rows]),
      [
        ['Broad Bioimage Benchmark Collection', 2, 19_122],
        ['Image Data Resource', 1, 414],
      ],
    );
    const csv = await readFile(join(dir, 'describe', 'categories.csv'), 'utf8');
    assert.equal(csv.split('\n')[0], 'category,labels,labels_with_287_or_more_rows,rows');
    assert.match(csv, /\nphenotype,12,\d+,2528\n/);
    const sources = await readFile(join(dir, 'describe', 'sources.csv'), 'utf8');
    assert.match(sources.split('\n')[1], /^bbbc021,Broad Bioimage Benchmark Collection,.*,13200,0,0,13200$/);
    const svg = await readFile(join(dir, 'describe', 'categories.svg'), 'utf8');
    assert.match(svg, /^<svg[\s\S]*phenotype[\s\S]*<\/svg>$/);
    const png = await readFile(join(dir, 'describe', 'sources.png'));
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  });
});
