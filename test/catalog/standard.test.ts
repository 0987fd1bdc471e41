import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { ingestSources } from '../../src/catalog/ingest.js';
import { exportCatalog } from '../../src/catalog/export.js';
import { CATALOG_COLUMNS } from '../../src/sources/schema.js';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { count, query, writeConfig } from './catalog-helpers.js';

const HEADER =
  'database,name,dir_name,path,filename,idx,organism,cell_type,gene,source_files,crop,scaling,x_min,x_max,y_min,y_max';

test('standard CSV: idx kept unchanged, source_files relative to the table folder, path/filename as fallback', async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, 'imgs'), { recursive: true });
    await writeFile(join(dir, 'imgs', 'a1.tif'), '');
    await writeFile(join(dir, 'imgs', 'a2.tif'), '');
    await writeFile(join(dir, 'imgs', 'b.png'), '');
    await writeFile(
      join(dir, 'table.csv'),
      [
        HEADER,
        'DB,Set A,set_a,,,my-id-7,Homo sapiens,HeLa,"TP53|MDM2",imgs/a1.tif|imgs/a2.tif,,,,,,',
        'DB,Set A,set_a,imgs,b.png,my-id-9,human,,,,true,0.5,0,10,0,10',
        'DB,Set B,set_b,imgs,gone.png,other-1,mouse,,,,,,,,,',
      ].join('\n') + '\n',
    );
    const cfg = await writeConfig(dir, 'std.json', { adapter: 'standard', table: 'table.csv', licence: 'CC0' });
    const catalog = join(dir, 'c.duckdb');
    const r = await ingestSources([cfg], catalog);
    assert.deepEqual(r.sources[0].dirNames, ['set_a', 'set_b']);
    const rows = await query(
      catalog,
      `SELECT idx, organism, gene, source_files, files_status, crop, scaling, x_max, source_row FROM catalog ORDER BY idx`,
    );
    assert.deepEqual(rows, [
      {
        idx: 'my-id-7',
        organism: 'human',
        gene: 'tp53 targeted|mdm2 targeted',
        source_files: 'imgs/a1.tif|imgs/a2.tif',
        files_status: 'present',
        crop: null,
        scaling: null,
        x_max: null,
        source_row: '1',
      },
      {
        idx: 'my-id-9',
        organism: 'human',
        gene: null,
        source_files: 'imgs/b.png',
        files_status: 'present',
        crop: true,
        scaling: 0.5,
        x_max: 10,
        source_row: '2',
      },
      {
        idx: 'other-1',
        organism: 'mouse',
        gene: null,
        source_files: 'imgs/gone.png',
        files_status: 'missing',
        crop: null,
        scaling: null,
        x_max: null,
        source_row: '3',
      },
    ]);
    const srcs = await query(catalog, `SELECT dir_name, name, licence, images_root FROM sources ORDER BY 1`);
    assert.deepEqual(srcs, [
      { dir_name: 'set_a', name: 'Set A', licence: 'CC0', images_root: dir },
      { dir_name: 'set_b', name: 'Set B', licence: 'CC0', images_root: dir },
    ]);
  });
});

test('export writes the standard columns in order then provenance; the Parquet export ingests back as a standard table', async () => {
  await withTempDir(async (dir) => {
    const cfg = await writeConfig(dir, 'b.json', { adapter: 'bbbc021', metadata: sharedPath('metadata', 'bbbc021') });
    const catalog = join(dir, 'c.duckdb');
    await ingestSources([cfg], catalog);
    const ex = await exportCatalog(catalog, join(dir, 'out'));
    assert.equal(ex.rows, 13_200);
    const head = (await import('node:fs')).readFileSync(ex.csv, 'utf8').split('\n')[0];
    assert.equal(head, CATALOG_COLUMNS.join(','));
    const back = await writeConfig(dir, 'back.json', {
      adapter: 'standard',
      table: 'out/catalog.parquet',
      dir_name: 'bbbc021_copy',
    });
    const catalog2 = join(dir, 'c2.duckdb');
    // The copy keeps idx values, so it must go to its own catalog (an idx belongs to one source).
    await ingestSources([back], catalog2);
    assert.equal(await count(catalog2), 13_200);
    const [same] = await query(
      catalog2,
      `SELECT count(*) AS n FROM catalog WHERE idx LIKE 'bbbc021-%' AND source_table LIKE '%BBBC021_v1_image.csv'`,
    );
    assert.equal(Number(same.n), 13_200);
  });
});

test('standard CSV: padded and empty values are stored trimmed (or NULL), in all-ASCII and other tables alike', async () => {
  await withTempDir(async (dir) => {
    const header = 'database,name,dir_name,path,filename,idx,organism,x_min\n';
    const rows = [
      ' DB ,Set A , pad ,  p1 ,a.png  ,  i-1 ,human, 5 ',
      'DB,Set A,pad,p2,"",i-2,human,',
      'DB,Set A,pad,p3,c.png,i-3,human,7',
    ];
    const stored = async (name: string, text: string): Promise<unknown[]> => {
      await writeFile(join(dir, `${name}.csv`), text);
      const cfg = await writeConfig(dir, `${name}.json`, { adapter: 'standard', table: `${name}.csv` });
      const catalog = join(dir, `${name}.duckdb`);
      await ingestSources([cfg], catalog);
      return query(catalog, 'SELECT database, name, dir_name, path, filename, idx, x_min FROM catalog ORDER BY idx');
    };
    const expected = [
      { database: 'DB', name: 'Set A', dir_name: 'pad', path: 'p1', filename: 'a.png', idx: 'i-1', x_min: 5 },
      { database: 'DB', name: 'Set A', dir_name: 'pad', path: 'p2', filename: null, idx: 'i-2', x_min: null },
      { database: 'DB', name: 'Set A', dir_name: 'pad', path: 'p3', filename: 'c.png', idx: 'i-3', x_min: 7 },
    ];
    // all ASCII: trimmed after the insert
    assert.deepEqual(await stored('ascii', `${header}${rows.join('\n')}\n`), expected);
    // a non-ASCII space (U+00A0) around a value: trimmed by the insert, as DuckDB's trim does
    assert.deepEqual(
      await stored('nbsp', `${header}${rows.join('\n').replace('Set A ,', 'Set A\u00a0,')}\n`),
      expected,
    );
    // a blank idx is a missing one, named with its line
    await assert.rejects(stored('blank', `${header}${rows[0]}\nDB,S,pad,p,f.png,   ,human,\n`), /row has no 'idx'/);
    // a repeated idx in a first ingest, and two idx that only trimming makes equal: the idx check
    // sees the stored, trimmed values
    await assert.rejects(
      stored('repeat', `${header}DB,S,pad,p,f.png,i-8,human,\nDB,S,pad,q,g.png,i-8,human,\n`),
      /idx 'i-8' occurs 2 times/,
    );
    await assert.rejects(
      stored('twice', `${header}DB,S,pad,p,f.png,i-9,human,\nDB,S,pad,q,g.png, i-9 ,human,\n`),
      /idx 'i-9' occurs 2 times/,
    );
  });
});

test('standard CSV: first files are found in an images folder of many files (more than are compared by name in place)', async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, 'imgs'), { recursive: true });
    for (let i = 0; i < 40; i++) await writeFile(join(dir, 'imgs', `f${i}.tif`), '');
    await writeFile(
      join(dir, 'table.csv'),
      [
        HEADER,
        'DB,Set A,set_a,,,a-1,human,,,imgs/nope.tif|imgs/f1.tif,,,,,,',
        'DB,Set A,set_a,,,a-2,human,,,imgs/f37.tif|imgs/f2.tif,,,,,,',
        'DB,Set A,set_a,,,a-3,human,,,imgs/f5.tif,,,,,,',
      ].join('\n') + '\n',
    );
    const cfg = await writeConfig(dir, 'std.json', { adapter: 'standard', table: 'table.csv' });
    const catalog = join(dir, 'c.duckdb');
    const r = await ingestSources([cfg], catalog);
    assert.equal(r.sources[0].present, 2);
    assert.equal(r.sources[0].missing, 1);
    assert.deepEqual(
      (await query(catalog, 'SELECT idx, files_status FROM catalog ORDER BY idx')).map(
        (x) => `${x.idx} ${x.files_status}`,
      ),
      ['a-1 missing', 'a-2 present', 'a-3 present'],
    );
  });
});
