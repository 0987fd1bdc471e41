// The remaining real tables in shared/data/metadata, each described with a generic config only:
// the declarative adapter is enough for sources nobody wrote code for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { ingestSources } from '../../src/catalog/ingest.js';
import { UserError } from '../../src/util/errors.js';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { count, query, writeConfig } from './catalog-helpers.js';

test('generic configs ingest the other real tables: leukemia, kinome map, BBBC022 MOAs, DeepYeast, DeepLoc', async () => {
  await withTempDir(async (dir) => {
    const md = (...p: string[]): string => sharedPath('metadata', ...p);
    const configs = [
      await writeConfig(dir, 'leukemia.json', {
        adapter: 'generic',
        dir_name: 'kag_leukemia',
        database: 'Kaggle',
        name: 'Leukemia Classification',
        table: { path: md('cytoimagenet', 'kag_leukemia_val.csv'), key: 'new_names' },
        columns: { phenotype: 'labels', filename: 'new_names' },
        codes: { phenotype: { '1': 'leukemia', '0': 'wildtype' } },
        values: {
          organism: 'human',
          cell_type: 'red blood cell|white blood cell',
          microscopy: 'brightfield',
          channels: 'brightfield',
        },
      }),
      await writeConfig(dir, 'kinome.json', {
        adapter: 'generic',
        dir_name: 'cil_kinome_map',
        database: 'Cell Image Library',
        name: 'Kinome Atlas (mapping)',
        table: { path: md('cytoimagenet', 'cil_kinome_mapping.csv'), key: 'file_name' },
        values: { cell_visible: '{kinase} kinase', organism: 'human', cell_type: 'hela' },
      }),
      await writeConfig(dir, 'bbbc022.json', {
        adapter: 'generic',
        dir_name: 'bbbc022_moa',
        database: 'Broad Bioimage Benchmark Collection',
        name: 'BBBC022 compound MOAs',
        table: { path: md('bbbc022', 'BBBC022_MOA_MATCHES_official.csv'), key: 'Var1' },
        columns: { compound: 'Var1', phenotype: 'Metadata_moa.x' },
      }),
      await writeConfig(dir, 'deepyeast.json', {
        adapter: 'generic',
        dir_name: 'deepyeast',
        database: 'DeepYeast',
        name: 'Chong et al. WT2 yeast crops (validation)',
        table: {
          path: md('yeast', 'deepyeast', 'HOwt_val.txt'),
          header: false,
          column_names: ['file', 'label_idx'],
          delimiter: ' ',
          key: 'file',
          files: ['{file}'],
        },
        columns: { cell_visible: 'label_idx' },
        codes: {
          cell_visible: {
            table: md('yeast', 'deepyeast', 'HOwt_doc.txt'),
            key: 'label_idx',
            value: 'label',
            delimiter: ';',
          },
        },
        values: { organism: 'yeast', microscopy: 'fluorescence' },
      }),
      await writeConfig(dir, 'deepyeast-transfer.json', {
        adapter: 'generic',
        dir_name: 'deepyeast_transfer',
        database: 'DeepYeast',
        name: 'Chong et al. WT2 yeast crops (transfer classes)',
        table: {
          path: md('yeast', 'deepyeast', 'HOwt_transfer_val.txt'),
          header: false,
          column_names: ['file', 'label_idx'],
          delimiter: ' ',
          key: 'file',
          files: ['{file}'],
        },
        columns: { cell_visible: 'label_idx' },
        codes: {
          cell_visible: {
            table: md('yeast', 'deepyeast', 'HOwt_transfer_doc.txt'),
            key: 'label_idx',
            value: 'label',
            delimiter: ';',
          },
        },
      }),
      await writeConfig(dir, 'deeploc.json', {
        adapter: 'generic',
        dir_name: 'deeploc_cells',
        database: 'DeepLoc',
        name: 'DeepLoc sample cells',
        table: {
          path: md('yeast', 'deeploc', 'SQL_data.csv'),
          id: '{ImageNumber}-{column0}',
          files: ['{Image_FileName_GFP}', '{Image_FileName_RFP}'],
        },
        values: { organism: 'yeast', channels: 'f_protein|f_cytoplasm' },
      }),
    ];
    const catalog = join(dir, 'c.duckdb');
    const r = await ingestSources(configs, catalog);
    assert.deepEqual(Object.fromEntries(r.sources.map((s) => [s.dirNames[0], s.rows])), {
      kag_leukemia: 1_867,
      cil_kinome_map: 908,
      bbbc022_moa: 995,
      deepyeast: 12_500,
      deepyeast_transfer: 2_000,
      deeploc_cells: 361,
    });
    assert.deepEqual(
      (
        await query(
          catalog,
          `SELECT phenotype, count(*) AS n FROM catalog WHERE dir_name = 'kag_leukemia' GROUP BY 1 ORDER BY 1`,
        )
      ).map((x) => [x.phenotype, Number(x.n)]),
      [
        ['leukemia', 1_219],
        ['wildtype', 648],
      ],
    );
    assert.equal(
      await count(
        catalog,
        `dir_name = 'cil_kinome_map' AND idx = 'cil_kinome_map-53464.zip' AND cell_visible = 'agc kinase'`,
      ),
      1,
    );
    assert.equal(
      await count(
        catalog,
        `dir_name = 'bbbc022_moa' AND compound = 'brd-a00993607' AND phenotype = 'adrenergic receptor antagonist'`,
      ),
      1,
    );
    const [y] = await query(
      catalog,
      `SELECT idx, cell_visible, source_files FROM catalog WHERE dir_name = 'deepyeast' ORDER BY source_row LIMIT 1`,
    );
    assert.deepEqual(y, {
      idx: 'deepyeast-plate04/016022000-0-6133-56.png',
      cell_visible: 'nucleus',
      source_files: 'plate04/016022000-0-6133-56.png',
    });
    assert.equal(
      Number(
        (await query(catalog, `SELECT count(DISTINCT cell_visible) AS n FROM catalog WHERE dir_name = 'deepyeast'`))[0]
          .n,
      ),
      12,
    );
    assert.equal(
      await count(catalog, `dir_name = 'deepyeast_transfer' AND regexp_matches(cell_visible, '^[0-9]+$')`),
      0,
      'every code has its name',
    );
    const [cell] = await query(
      catalog,
      `SELECT idx, source_files FROM catalog WHERE dir_name = 'deeploc_cells' ORDER BY source_row LIMIT 1`,
    );
    assert.deepEqual(cell, { idx: 'deeploc_cells-653-43430', source_files: 'plate01/007020000_1|plate01/007020000_2' });
  });
});

test("the CytoImageNet mirror of idr0097's annotation is malformed (unquoted commas): refused at line 2, catalog untouched", async () => {
  await withTempDir(async (dir) => {
    const cfg = await writeConfig(dir, 'idr0097.json', {
      adapter: 'generic',
      dir_name: 'idr0097',
      database: 'Image Data Resource',
      name: 'idr0097 (CytoImageNet mirror)',
      table: { path: sharedPath('metadata', 'cytoimagenet', 'cell_idr0097_annotations.csv'), id: '{Plate}-{Well}' },
      columns: { organism: 'Characteristics [Organism]', gene: 'Gene Symbol' },
    });
    const catalog = join(dir, 'c.duckdb');
    await assert.rejects(ingestSources([cfg], catalog), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.location.line, 2);
      assert.match(e.location.file ?? '', /cell_idr0097_annotations\.csv$/);
      assert.match(e.message, /expected 23 fields \(as in the header\), found 2\d/);
      return true;
    });
    assert.equal(existsSync(catalog), false, 'a failed first ingest leaves no catalog behind');
  });
});
