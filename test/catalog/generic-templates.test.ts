// Real tables as users bring them to the generic adapter: IDR column names full of spaces,
// brackets, parentheses and %, Kaggle-style comma-separated multi-labels, numbered file names and
// provenance columns with no standard column (docs/catalog.md "Templates", "split", "extras").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ingestSources } from '../../src/catalog/ingest.js';
import { UserError } from '../../src/util/errors.js';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { query, writeConfig } from './catalog-helpers.js';

const IDR0081 = sharedPath('metadata', 'idr', 'idr0081-georgi-adenovirus', 'screenA', 'idr0081-screenA-annotation.csv');

/** A small IDR-like annotation with the column names of IDR hit lists. */
const HITS =
  'Plate,Well,Compound Name,Hit Compound (over 75% activity),Phenotype [cell shape],Comment {raw}\n' +
  'P1,A1,Taxol,yes,round,x\n' +
  'P1,A2,DMSO,no,flat,y\n';

test('templates: IDR column names with spaces, brackets, parentheses and % resolve to their values', async () => {
  await withTempDir(async (dir) => {
    await copyFile(IDR0081, join(dir, 'annotation.csv'));
    await writeFile(join(dir, 'hits.csv'), HITS);
    const real = await writeConfig(dir, 'idr0081.json', {
      adapter: 'generic',
      dir_name: 'idr0081_generic',
      database: 'IDR',
      name: 'idr0081',
      table: { path: 'annotation.csv', id: '{Plate}-{Well}' },
      values: {
        compound: '{Compound Name} {Compound Concentration (microMolar)} uM',
        phenotype: '{Experimental Condition [DMSO solvent]} dmso',
      },
    });
    const hits = await writeConfig(dir, 'hits.json', {
      adapter: 'generic',
      dir_name: 'hits',
      database: 'IDR',
      name: 'hits',
      table: { path: 'hits.csv', id: '{Plate}-{Well}' },
      values: { phenotype: 'hit {Hit Compound (over 75% activity)}', cell_visible: '{Phenotype [cell shape]}' },
    });
    const catalog = join(dir, 'c.duckdb');
    await ingestSources([real, hits], catalog);
    const [a1] = await query(catalog, `SELECT compound, phenotype FROM catalog WHERE idx = 'idr0081_generic-preZ-A1'`);
    assert.deepEqual(a1, { compound: 'dimethyl sulfoxide 1762.5 um', phenotype: '0.01% dmso' });
    const rows = await query(
      catalog,
      `SELECT idx, phenotype, cell_visible FROM catalog WHERE dir_name = 'hits' ORDER BY idx`,
    );
    assert.deepEqual(rows, [
      { idx: 'hits-P1-A1', phenotype: 'hit yes', cell_visible: 'round' },
      { idx: 'hits-P1-A2', phenotype: 'hit no', cell_visible: 'flat' },
    ]);
  });
});

test('templates: a {...} that names no column is an error naming it, and the catalog is not written', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'hits.csv'), HITS);
    const cfg = await writeConfig(dir, 'hits.json', {
      adapter: 'generic',
      dir_name: 'hits',
      database: 'IDR',
      name: 'hits',
      table: { path: 'hits.csv', id: '{Plate}-{Well}' },
      values: { phenotype: 'hit {Hit Compound (over 80% activity)}' },
    });
    await assert.rejects(
      ingestSources([cfg], join(dir, 'c.duckdb')),
      (e: unknown) =>
        e instanceof UserError &&
        e.location.column === 'values.phenotype' &&
        e.message.includes('{Hit Compound (over 80% activity)} names no column') &&
        (e.hint ?? '').includes('Hit Compound (over 75% activity)'),
    );
    assert.equal(existsSync(join(dir, 'c.duckdb')), false);
    for (const [tpl, why] of [
      ['{Plate', /never closed/],
      ['Plate}', /lone '}'/],
      ['{Well:x5}', /not a format spec/],
    ] as const) {
      const bad = await writeConfig(dir, 'bad.json', {
        adapter: 'generic',
        dir_name: 'hits',
        database: 'IDR',
        name: 'hits',
        table: { path: 'hits.csv', id: '{Plate}-{Well}' },
        values: { phenotype: tpl },
      });
      await assert.rejects(ingestSources([bad], join(dir, 'c.duckdb')), (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.match(e.message, why, tpl);
        return true;
      });
    }
  });
});

test('templates: {{ and }} are literal braces', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'hits.csv'), HITS);
    const catalog = join(dir, 'c.duckdb');
    const cfg = await writeConfig(dir, 'hits.json', {
      adapter: 'generic',
      dir_name: 'hits',
      database: 'IDR',
      name: 'hits',
      table: { path: 'hits.csv', id: '{Plate}-{Well}' },
      values: { phenotype: '{{not a field}} {Compound Name}', cell_visible: '{{{Well}}}' },
    });
    await ingestSources([cfg], catalog);
    const rows = await query(catalog, `SELECT phenotype, cell_visible FROM catalog ORDER BY idx`);
    assert.deepEqual(rows[0], { phenotype: '{not a field} taxol', cell_visible: '{a1}' });
  });
});

test('split: "NEUTROPHIL, EOSINOPHIL" cells become neutrophil|eosinophil (trimmed, repeats and empties dropped)', async () => {
  await withTempDir(async (dir) => {
    // The layout of the Kaggle blood-cell labels table (BCCD): an unnamed index, Image, Category.
    await writeFile(
      join(dir, 'labels.csv'),
      ',Image,Category\n0,0,NEUTROPHIL\n1,1,"NEUTROPHIL, EOSINOPHIL"\n2,2," NEUTROPHIL,NEUTROPHIL , "\n3,3,"LYMPHOCYTE; MONOCYTE, LYMPHOCYTE"\n4,4," , "\n',
    );
    const cfg = await writeConfig(dir, 'bccd.json', {
      adapter: 'generic',
      dir_name: 'bccd',
      database: 'Kaggle',
      name: 'BCCD',
      table: { path: 'labels.csv', id: '{Image}' },
      columns: { phenotype: 'Category' },
      split: { phenotype: [',', ';'] },
    });
    const catalog = join(dir, 'c.duckdb');
    await ingestSources([cfg], catalog);
    const rows = await query(catalog, `SELECT idx, phenotype FROM catalog ORDER BY source_row`);
    assert.deepEqual(
      rows.map((r) => r.phenotype),
      ['neutrophil', 'neutrophil|eosinophil', 'neutrophil', 'lymphocyte|monocyte', null],
    );
  });
});

test('format specs: {Image:05} finds BloodImage_00050.jpg for the table value 50', async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, 'JPEGImages'));
    for (const n of ['00007', '00050', '00123']) await writeFile(join(dir, 'JPEGImages', `BloodImage_${n}.jpg`), '');
    await writeFile(
      join(dir, 'labels.csv'),
      ',Image,Category\n0,7,NEUTROPHIL\n1,50,EOSINOPHIL\n2,123,MONOCYTE\n3,9,LYMPHOCYTE\n',
    );
    const cfg = await writeConfig(dir, 'bccd.json', {
      adapter: 'generic',
      dir_name: 'bccd',
      database: 'Kaggle',
      name: 'BCCD',
      images: 'JPEGImages',
      table: { path: 'labels.csv', files: ['BloodImage_{Image:05}.jpg'], id: '{Image:_>4}' },
      columns: { phenotype: 'Category' },
    });
    const catalog = join(dir, 'c.duckdb');
    const r = await ingestSources([cfg], catalog);
    assert.equal(r.sources[0].present, 3);
    assert.equal(r.sources[0].missing, 1);
    const rows = await query(catalog, `SELECT idx, source_files, files_status FROM catalog ORDER BY source_row`);
    assert.deepEqual(rows, [
      { idx: 'bccd-___7', source_files: 'BloodImage_00007.jpg', files_status: 'present' },
      { idx: 'bccd-__50', source_files: 'BloodImage_00050.jpg', files_status: 'present' },
      { idx: 'bccd-_123', source_files: 'BloodImage_00123.jpg', files_status: 'present' },
      { idx: 'bccd-___9', source_files: 'BloodImage_00009.jpg', files_status: 'missing' },
    ]);
  });
});

test('extras: all unmapped IDR columns (SMILES, concentration, plate, well) are kept; or only those listed', async () => {
  await withTempDir(async (dir) => {
    await copyFile(IDR0081, join(dir, 'annotation.csv'));
    const base = {
      adapter: 'generic',
      dir_name: 'idr0081_generic',
      database: 'IDR',
      name: 'idr0081',
      table: { path: 'annotation.csv', id: '{Plate}-{Well}' },
      columns: { compound: 'Compound Name' },
    };
    const catalog = join(dir, 'c.duckdb');
    await ingestSources([await writeConfig(dir, 'all.json', { ...base, extras: 'all' })], catalog);
    const extras = await query(
      catalog,
      `SELECT key, value FROM extras WHERE idx = 'idr0081_generic-preZ-A1' ORDER BY key`,
    );
    const kv = Object.fromEntries(extras.map((r) => [r.key, r.value]));
    assert.equal(kv['Compound SMILES'], 'CS(=O)C');
    assert.equal(kv['Compound Concentration (microMolar)'], '1762.5');
    assert.equal(kv.Plate, 'preZ');
    assert.equal(kv.Well, 'A1');
    assert.equal(kv['Compound Name'], undefined, 'a mapped column is not repeated in extras');
    assert.equal(kv['Median Virus Intensity'], undefined, 'empty cells are not stored');
    assert.equal(Object.keys(kv).length, 33);
    await ingestSources([await writeConfig(dir, 'all.json', { ...base, extras: ['Compound SMILES', 'CAS'] })], catalog);
    const listed = await query(catalog, `SELECT DISTINCT key FROM extras ORDER BY key`);
    assert.deepEqual(
      listed.map((r) => r.key),
      ['CAS', 'Compound SMILES'],
    );
    await assert.rejects(
      ingestSources([await writeConfig(dir, 'all.json', { ...base, extras: ['SMILES'] })], catalog),
      /extras names 'SMILES'/,
    );
  });
});

test('extras on an IDR study: all unmapped annotation columns (SMILES, CAS, controls) are kept, or only those listed', async () => {
  await withTempDir(async (dir) => {
    const study = sharedPath('metadata', 'idr', 'idr0081-georgi-adenovirus');
    const catalog = join(dir, 'c.duckdb');
    await ingestSources([await writeConfig(dir, 'idr.json', { adapter: 'idr', study, extras: 'all' })], catalog);
    const kv = Object.fromEntries(
      (await query(catalog, `SELECT key, value FROM extras WHERE idx = 'idr0081-screenA-preZ-A1'`)).map((r) => [
        r.key,
        r.value,
      ]),
    );
    assert.equal(kv['Compound SMILES'], 'CS(=O)C');
    assert.equal(kv.CAS, '67-68-5');
    assert.equal(kv['Control Type'], 'negative control');
    assert.equal(kv.plate, 'preZ', 'the adapter’s own extras stay');
    for (const stored of [
      'Compound Name',
      'Characteristics [Cell Line]',
      'Plate',
      'Well',
      'Compound Concentration (microMolar)',
    ])
      assert.equal(kv[stored], undefined, `${stored} is stored elsewhere already`);
    await ingestSources(
      [await writeConfig(dir, 'idr.json', { adapter: 'idr', study, extras: ['Compound SMILES'] })],
      catalog,
    );
    const keys = await query(catalog, `SELECT DISTINCT key FROM extras ORDER BY key`);
    assert.deepEqual(
      keys.map((r) => r.key),
      ['Compound SMILES', 'concentration', 'plate', 'screen', 'well'],
    );
    await assert.rejects(
      ingestSources([await writeConfig(dir, 'idr.json', { adapter: 'idr', study, extras: ['InChIKey'] })], catalog),
      /extras names 'InChIKey', in no annotation table/,
    );
  });
});
