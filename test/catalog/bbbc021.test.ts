import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { ingestSources } from '../../src/catalog/ingest.js';
import { catalogFingerprint } from '../../src/catalog/fingerprint.js';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { count, query, writeConfig } from './catalog-helpers.js';

test('BBBC021: 13,200 image sets of 3 channel files, 12 MOAs, DMSO without MOA; re-ingest replaces, never duplicates', async () => {
  await withTempDir(async (dir) => {
    const cfg = await writeConfig(dir, 'bbbc021.json', {
      adapter: 'bbbc021',
      metadata: sharedPath('metadata', 'bbbc021'),
    });
    const catalog = join(dir, 'catalog.duckdb');
    const report = await ingestSources([cfg], catalog);
    assert.equal(report.sources[0].rows, 13_200);
    assert.deepEqual(report.sources[0].dirNames, ['bbbc021']);
    assert.equal(await count(catalog), 13_200);
    assert.equal(await count(catalog, `len(string_split(source_files, '|')) = 3`), 13_200);
    const [moas] = await query(catalog, `SELECT count(DISTINCT phenotype) AS n FROM catalog`);
    assert.equal(Number(moas.n), 12);
    assert.equal(await count(catalog, `compound = 'dmso' AND phenotype IS NOT NULL`), 0);
    assert.equal(await count(catalog, `compound = 'dmso'`), 1_320);
    // 3,848 images have an MOA in the moa table; DMSO's 1,320 of them are not a phenotype.
    assert.equal(await count(catalog, `phenotype IS NOT NULL`), 3_848 - 1_320);
    const [first] = await query(catalog, `SELECT * FROM catalog WHERE source_row = 1`);
    assert.equal(first.compound, '5-fluorouracil');
    assert.equal(first.cell_type, 'mcf7');
    assert.equal(first.channels, 'f_nucleus|f_microtubules|f_actin');
    assert.equal(
      first.source_files,
      'Week4_27481/G10_s1_w1BEDC2073-A983-4B98-95E9-84466707A25D.tif|Week4_27481/G10_s1_w2DCEC82F3-05F7-4F2F-B779-C5DF9698141E.tif|Week4_27481/G10_s1_w43CD51CBC-2370-471F-BA01-EE250B14B3C8.tif',
    );
    assert.equal(first.files_status, 'unchecked');
    const [conc] = await query(
      catalog,
      `SELECT value FROM extras WHERE idx = '${String(first.idx)}' AND key = 'concentration'`,
    );
    assert.equal(conc.value, '0.003000');
    const [taxol] = await query(
      catalog,
      `SELECT DISTINCT phenotype FROM catalog WHERE compound = 'taxol' AND phenotype IS NOT NULL`,
    );
    assert.equal(taxol.phenotype, 'microtubule stabilizers');

    const fp = await catalogFingerprint(catalog);
    const again = await ingestSources([cfg], catalog);
    assert.equal(again.sources[0].replaced, 13_200);
    assert.equal(await count(catalog), 13_200);
    assert.equal(await catalogFingerprint(catalog), fp, 'idx and every value are stable across re-ingest');
    const [src] = await query(catalog, `SELECT count(*) AS n, any_value(adapter) AS a FROM sources`);
    assert.equal(Number(src.n), 1);
    assert.equal(src.a, 'bbbc021');
  });
});

test('BBBC021 with an images folder: present and missing channel files are told apart', async () => {
  await withTempDir(async (dir) => {
    const images = join(dir, 'images', 'Week4_27481');
    await mkdir(images, { recursive: true });
    for (const f of [
      'G10_s1_w1BEDC2073-A983-4B98-95E9-84466707A25D.tif',
      'G10_s1_w2DCEC82F3-05F7-4F2F-B779-C5DF9698141E.tif',
      'G10_s1_w43CD51CBC-2370-471F-BA01-EE250B14B3C8.tif',
      'G10_s2_w11C3B9BCC-E48F-4C2F-9D31-8F46D8B5B972.tif',
    ]) {
      await writeFile(join(images, f), '');
    }
    const cfg = await writeConfig(dir, 'bbbc021.yaml', {
      adapter: 'bbbc021',
      metadata: sharedPath('metadata', 'bbbc021'),
      images: 'images',
    });
    const catalog = join(dir, 'c.duckdb');
    const r = await ingestSources([cfg], catalog);
    assert.equal(r.sources[0].present, 1);
    assert.equal(r.sources[0].missing, 13_199);
    assert.equal(await count(catalog, `files_status = 'present' AND source_row = 1`), 1);
    const [s] = await query(catalog, `SELECT images_root FROM sources`);
    assert.equal(s.images_root, join(dir, 'images'));
  });
});
