// The ome-zarr-plate adapter on the HCS plate in shared/data/ome-zarr (BBBC022 plate 20585), local
// and served over loopback HTTP: one row per field, labels from an annotation on plate/well.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestSources } from '../../src/catalog/ingest.js';
import { forgetOpenedImages } from '../../src/sources/ome-zarr.js';
import { sharedPath, SHARED_DATA } from '../helpers/data.js';
import { serveFolder, type TestServer } from '../helpers/http-server.js';
import { query, writeConfig } from './catalog-helpers.js';

const PLATE = (): string => sharedPath('ome-zarr', 'bbbc022-20585.ome.zarr');

/** Every field the plate's metadata lists, as row-column-field (e.g. A01-0). */
function fieldsOfPlate(): string[] {
  const meta = JSON.parse(readFileSync(join(PLATE(), '.zattrs'), 'utf8')).plate;
  const out: string[] = [];
  for (const w of meta.wells) {
    const well = JSON.parse(readFileSync(join(PLATE(), w.path, '.zattrs'), 'utf8')).well;
    const row = meta.rows[w.rowIndex].name;
    const col = meta.columns[w.columnIndex].name;
    for (const im of well.images) out.push(`${row}${col}-${im.path}`);
  }
  return out.sort();
}

let dir = '';
let server: TestServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-plate-'));
  server = await serveFolder(SHARED_DATA);
  // Wells written the ways annotations write them: A1 and E05 (IDR), e07 (lower case)
  await writeFile(
    join(dir, 'annotation.csv'),
    'Plate,Well,Compound Name,Characteristics [Cell Line]\n20585,A1,DMSO,U2OS\n20585,E05,taxol,U2OS\n20585,e07,nocodazole,U2OS\n',
  );
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test('a local plate: one row per field, idx {dir_name}-{plate}-{row}{column}-{field}, labels joined on plate/well', async () => {
  const catalog = join(dir, 'local.duckdb');
  const cfg = await writeConfig(dir, 'local.json', {
    adapter: 'ome-zarr-plate',
    plate: PLATE(),
    annotation: 'annotation.csv',
  });
  const report = await ingestSources([cfg], catalog);
  const fields = fieldsOfPlate();
  assert.equal(report.totalRows, fields.length);
  const rows = await query(
    catalog,
    'SELECT idx, compound, cell_type, channels, source_files, files_status FROM catalog ORDER BY idx',
  );
  assert.deepEqual(
    rows.map((r) => r.idx),
    fields.map((f) => `bbbc022-20585-20585-${f}`),
  );
  for (const r of rows) {
    assert.equal(r.files_status, 'present', String(r.idx));
    assert.equal(r.channels, 'hoechst'); // the omero label, cleaned as every channels value is
    assert.equal(String(r.cell_type).toLowerCase(), 'u2os');
    const well = /-(\w\d\d)-\d+$/.exec(String(r.idx))?.[1];
    assert.equal(String(r.compound).toLowerCase(), { A01: 'dmso', E05: 'taxol', E07: 'nocodazole' }[well ?? '']);
    assert.match(String(r.source_files), /^bbbc022-20585\.ome\.zarr\/[AE]\/\d\d\/\d+$/);
  }
  const extras = await query(
    catalog,
    `SELECT key, value FROM extras WHERE idx = 'bbbc022-20585-20585-E07-1' ORDER BY key`,
  );
  assert.deepEqual(
    extras.map((e) => [e.key, e.value]),
    [
      ['field', '1'],
      ['plate', '20585'],
      ['well', 'E07'],
    ],
  );
});

test('the same plate over HTTP lists the same fields, with URL source files', async () => {
  forgetOpenedImages();
  const catalog = join(dir, 'remote.duckdb');
  const url = `${server.url}/ome-zarr/bbbc022-20585.ome.zarr`;
  const cfg = await writeConfig(dir, 'remote.json', {
    adapter: 'ome-zarr-plate',
    plate: url,
    annotation: 'annotation.csv',
  });
  await ingestSources([cfg], catalog);
  const rows = await query(catalog, 'SELECT idx, compound, source_files, files_status FROM catalog ORDER BY idx');
  assert.deepEqual(
    rows.map((r) => r.idx),
    fieldsOfPlate().map((f) => `bbbc022-20585-20585-${f}`),
  );
  for (const r of rows) {
    assert.ok(String(r.source_files).startsWith(`${url}/`));
    assert.equal(r.files_status, 'unchecked'); // read where it is, checked when the build reads it
    assert.ok(r.compound !== null);
  }
});

test('a local plate entry for a field that is not there is a missing file', async () => {
  const catalog = join(dir, 'table.duckdb');
  const table = join(dir, 'table.csv');
  await writeFile(
    table,
    'idx,database,name,dir_name,source_files\n' +
      'z-1,OME-Zarr,plate,z,ome-zarr/bbbc022-20585.ome.zarr/A/01/0#c=0\n' +
      'z-2,OME-Zarr,plate,z,ome-zarr/bbbc022-20585.ome.zarr/A/01/7\n' +
      'z-3,OME-Zarr,plate,z,https://example.org/x.ome.zarr/0\n',
  );
  const cfg = await writeConfig(dir, 'table.json', { adapter: 'standard', table, images: SHARED_DATA });
  await ingestSources([cfg], catalog);
  const rows = await query(catalog, 'SELECT idx, files_status FROM catalog ORDER BY idx');
  assert.deepEqual(
    rows.map((r) => [r.idx, r.files_status]),
    [
      ['z-1', 'present'],
      ['z-2', 'missing'],
      ['z-3', 'present'],
    ],
  );
});
