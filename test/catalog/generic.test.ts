import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { ingestSources } from '../../src/catalog/ingest.js';
import { withTempDir } from '../helpers/data.js';
import { count, query } from './catalog-helpers.js';

async function touch(root: string, rel: string): Promise<void> {
  const p = join(root, rel);
  await mkdir(join(p, '..'), { recursive: true });
  await writeFile(p, '');
}

test('generic (YAML): channel files grouped by pattern, labels from a table joined on the image key', async () => {
  await withTempDir(async (dir) => {
    for (const f of [
      'P1/a_w1.tif',
      'P1/a_w2.tif',
      'P1/a_w3.tif',
      'P1/b_w1.tif',
      'P1/b_w3.tif',
      'P2/c_w1.tif',
      'P2/c_w2.tif',
      'P2/c_w3.tif',
      'P2/readme.txt',
    ]) {
      await touch(join(dir, 'src', 'images'), f);
    }
    await writeFile(
      join(dir, 'src', 'meta.csv'),
      'image,Compound,MoA\r\nP1/a,Taxol,Microtubule stabilizers\r\nP1/b,DMSO,\r\nP2/c,Nocodazole,Microtubule destabilizers\r\nP3/d,Taxol,Microtubule stabilizers\r\n',
    );
    await writeFile(
      join(dir, 'src', 'source.yaml'),
      [
        'adapter: generic',
        'dir_name: demo_cp',
        'database: Demo',
        'name: Demo Cell Painting',
        'licence: CC0-1.0',
        'images: images',
        'pattern: "{plate}/{stem}_w{channel}.tif"',
        'channels: ["1", "2", "3"]',
        'table:',
        '  path: meta.csv',
        '  key: image',
        'columns:',
        '  compound: Compound',
        '  phenotype: MoA',
        'values:',
        '  organism: Homo sapiens',
        '  cell_type: U-2 OS',
        '  microscopy: fluorescence',
        '  channels: f_nucleus|f_actin|f_microtubules',
        '',
      ].join('\n'),
    );
    const catalog = join(dir, 'c.duckdb');
    const r = await ingestSources([join(dir, 'src', 'source.yaml')], catalog);
    assert.equal(r.sources[0].rows, 4);
    assert.equal(r.sources[0].present, 2);
    assert.equal(r.sources[0].missing, 2);
    const rows = await query(
      catalog,
      `SELECT idx, source_files, files_status, compound, phenotype, organism, cell_type, path, filename FROM catalog ORDER BY idx`,
    );
    assert.deepEqual(rows[0], {
      idx: 'demo_cp-P1/a',
      source_files: 'P1/a_w1.tif|P1/a_w2.tif|P1/a_w3.tif',
      files_status: 'present',
      compound: 'taxol',
      phenotype: 'microtubule stabilizers',
      organism: 'human',
      cell_type: 'u2os',
      path: 'P1',
      filename: 'a_w1.tif',
    });
    assert.equal(
      rows[1].source_files,
      'P1/b_w1.tif|P1/b_w2.tif|P1/b_w3.tif',
      'the absent channel keeps its place, by its expected name',
    );
    assert.equal(rows[1].files_status, 'missing');
    assert.equal(rows[1].phenotype, null);
    assert.equal(rows[3].idx, 'demo_cp-P3/d');
    assert.equal(rows[3].source_files, 'P3/d_w1.tif|P3/d_w2.tif|P3/d_w3.tif');
    assert.equal(rows[3].files_status, 'missing');
  });
});

test('generic (JSON): a folder of images labelled by sub-folder, no table', async () => {
  await withTempDir(async (dir) => {
    for (const f of ['mitosis/x1.png', 'mitosis/x2.png', 'interphase/y1.png']) await touch(join(dir, 'rgb'), f);
    await writeFile(
      join(dir, 'rgb.json'),
      JSON.stringify({
        adapter: 'generic',
        dir_name: 'demo_rgb',
        database: 'Demo',
        name: 'RGB',
        images: 'rgb',
        pattern: '{label}/{stem}.png',
        values: { phenotype: '{label}', organism: 'human', microscopy: 'brightfield', channels: 'brightfield' },
      }),
    );
    const catalog = join(dir, 'c.duckdb');
    const r = await ingestSources([join(dir, 'rgb.json')], catalog);
    assert.equal(r.sources[0].rows, 3);
    assert.equal(await count(catalog, `phenotype = 'mitosis' AND files_status = 'present'`), 2);
    const [y] = await query(
      catalog,
      `SELECT idx, source_files, path, filename FROM catalog WHERE phenotype = 'interphase'`,
    );
    assert.deepEqual(y, {
      idx: 'demo_rgb-interphase/y1',
      source_files: 'interphase/y1.png',
      path: 'interphase',
      filename: 'y1.png',
    });
  });
});

test('generic: a table alone, with per-channel file templates (BBBC021-style) and an id template', async () => {
  await withTempDir(async (dir) => {
    await writeFile(
      join(dir, 't.tsv'),
      'plate\twell\tdna\tactin\tgene\nPL1\tA01\tA01_d0.tif\tA01_d1.tif\tRAB5A|MCL1\n',
    );
    await writeFile(
      join(dir, 'cfg.json'),
      JSON.stringify({
        adapter: 'generic',
        dir_name: 'tab',
        database: 'Demo',
        name: 'Tab',
        table: { path: 't.tsv', id: '{plate}-{well}', files: ['{plate}/{dna}', '{plate}/{actin}'] },
        columns: { gene: 'gene' },
      }),
    );
    const catalog = join(dir, 'c.duckdb');
    await ingestSources([join(dir, 'cfg.json')], catalog);
    const [r] = await query(catalog, `SELECT idx, source_files, gene, files_status FROM catalog`);
    assert.deepEqual(r, {
      idx: 'tab-PL1-A01',
      source_files: 'PL1/A01_d0.tif|PL1/A01_d1.tif',
      gene: 'rab5a targeted|mcl1 targeted',
      files_status: 'unchecked',
    });
  });
});
