import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ingestSources } from '../../src/catalog/ingest.js';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { count, query, writeConfig } from './catalog-helpers.js';

test('HPA Kaggle 2019: one row per colour channel (31,072 × 4), green rows carry the 28-class locations', async () => {
  await withTempDir(async (dir) => {
    const cfg = await writeConfig(dir, 'hpa.json', {
      adapter: 'hpa-kaggle-2019',
      table: sharedPath('metadata', 'cytoimagenet', 'kag_hpa_2019_train.csv'),
    });
    const catalog = join(dir, 'c.duckdb');
    const r = await ingestSources([cfg], catalog);
    assert.equal(r.sources[0].rows, 31_072 * 4);
    const rows = await query(
      catalog,
      `SELECT filename, cell_visible, channels FROM catalog WHERE idx LIKE 'kag_hpa-00070df0-bbc3-11e8-b2bc-ac1f6b6435d0_%' ORDER BY filename`,
    );
    assert.deepEqual(rows, [
      { filename: '00070df0-bbc3-11e8-b2bc-ac1f6b6435d0_blue.png', cell_visible: 'nucleus', channels: 'f_nucleus' },
      {
        filename: '00070df0-bbc3-11e8-b2bc-ac1f6b6435d0_green.png',
        cell_visible: 'cytokinetic bridge|nucleoplasm',
        channels: 'f_protein',
      },
      {
        filename: '00070df0-bbc3-11e8-b2bc-ac1f6b6435d0_red.png',
        cell_visible: 'microtubules',
        channels: 'f_microtubules',
      },
      { filename: '00070df0-bbc3-11e8-b2bc-ac1f6b6435d0_yellow.png', cell_visible: 'er', channels: 'f_er' },
    ]);
    // Code 6 (endoplasmic reticulum) is standardised to the original's 'er'.
    assert.ok(
      (await count(catalog, `channels = 'f_protein' AND list_contains(string_split(cell_visible, '|'), 'er')`)) > 0,
    );
    assert.equal(await count(catalog, `cell_visible LIKE '%endoplasmic%'`), 0);
  });
});

test('BBBC041: one row per bounding box (5,922) with its crop box and lower-case category', async () => {
  await withTempDir(async (dir) => {
    const cfg = await writeConfig(dir, 'b41.json', {
      adapter: 'bbbc041',
      boxes: sharedPath('metadata', 'bbbc041', 'test.json'),
    });
    const catalog = join(dir, 'c.duckdb');
    const r = await ingestSources([cfg], catalog);
    assert.equal(r.sources[0].rows, 5_922);
    const [b] = await query(
      catalog,
      `SELECT cell_type, crop, x_min, x_max, y_min, y_max, source_files FROM catalog WHERE idx = 'bbbc041-41be1bd3-0d31-4881-bf1f-3ccdfa21ff12_1'`,
    );
    assert.deepEqual(b, {
      cell_type: 'red blood cell',
      crop: true,
      x_min: 1744,
      x_max: 1883,
      y_min: 576,
      y_max: 708,
      source_files: 'images/41be1bd3-0d31-4881-bf1f-3ccdfa21ff12.jpg',
    });
    const cats = (await query(catalog, `SELECT DISTINCT cell_type FROM catalog ORDER BY 1`)).map((x) => x.cell_type);
    assert.deepEqual(cats, ['difficult', 'gametocyte', 'red blood cell', 'ring', 'schizont', 'trophozoite']);
    assert.equal(await count(catalog, `x_min >= x_max OR y_min >= y_max`), 0);
  });
});

test("CytoImageNet's own tables: every *_metadata.csv, cell_component → cell_visible, list literals, u2os", async () => {
  await withTempDir(async (dir) => {
    const expected: Record<string, number> = {
      bbbc013: 192,
      bbbc039: 200,
      kag_cell_cycle: 90,
      cil_kinome: 908,
      kag_bacteria: 366,
    };
    const configs = [];
    for (const t of Object.keys(expected)) {
      configs.push(
        await writeConfig(dir, `${t}.json`, {
          adapter: 'cytoimagenet-table',
          table: sharedPath('metadata', 'cytoimagenet', `${t}_metadata.csv`),
          datasets_info: sharedPath('metadata', 'cytoimagenet', 'datasets_info.csv'),
        }),
      );
    }
    const catalog = join(dir, 'c.duckdb');
    const r = await ingestSources(configs, catalog);
    assert.deepEqual(Object.fromEntries(r.sources.map((s) => [s.dirNames[0], s.rows])), expected);
    assert.equal(await count(catalog, `dir_name IN ('bbbc013', 'bbbc039') AND cell_type = 'u2os'`), 392);
    assert.equal(await count(catalog, `dir_name = 'bbbc039' AND cell_visible = 'nucleus'`), 200);
    assert.equal(await count(catalog, `dir_name = 'cil_kinome' AND channels = 'f_nucleus|f_protein'`), 908);
    const [k] = await query(
      catalog,
      `SELECT idx, source_files, phenotype FROM catalog WHERE dir_name = 'kag_cell_cycle' ORDER BY source_row LIMIT 1`,
    );
    assert.equal(k.source_files, 'nematode cells/nematode cells/interphase/IMG_1667-1.jpg');
    assert.equal(k.idx, 'kag_cell_cycle-nematode cells/nematode cells/interphase/IMG_1667-1.jpg');
    assert.equal(k.phenotype, 'interphase');
    const [s] = await query(catalog, `SELECT citation FROM sources WHERE dir_name = 'bbbc013'`);
    assert.match(String(s.citation), /bbbc\.broadinstitute\.org/i);
  });
});
