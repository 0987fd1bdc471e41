import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { ingestSources, type IngestReport } from '../../src/catalog/ingest.js';
import { sharedPath } from '../helpers/data.js';
import { count, query, writeConfig } from './catalog-helpers.js';

const STUDIES = {
  idr0080: 'idr0080-way-perturbation',
  idr0081: 'idr0081-georgi-adenovirus',
  idr0072: 'idr0072-schormann-subcellref',
  idr0005: 'idr0005-toret-adhesion',
  idr0088: 'idr0088-cox-phenomicprofiling',
  idr0021: 'idr0021-lawo-pericentriolarmaterial',
} as const;

let dir = '';
let catalog = '';
let report: IngestReport;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-idr-'));
  catalog = join(dir, 'catalog.duckdb');
  const configs = [];
  for (const [id, folder] of Object.entries(STUDIES)) {
    configs.push(
      await writeConfig(dir, `${id}.json`, { adapter: 'idr', study: sharedPath('metadata', 'idr', folder) }),
    );
  }
  report = await ingestSources(configs, catalog);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('IDR: one row per annotated well (screens) or image (experiments), per study', async () => {
  const rows = Object.fromEntries(report.sources.map((s) => [s.dirNames[0], s.rows]));
  assert.deepEqual(rows, {
    idr0080: 6_912,
    idr0081: 768,
    idr0072: 669 + 5_473,
    idr0005: 1_728,
    idr0088: 317_430,
    idr0021: 414,
  });
  assert.equal(report.totalRows, 6_912 + 768 + 6_142 + 1_728 + 317_430 + 414);
  const [src] = await query(
    catalog,
    `SELECT database, name, licence, citation FROM sources WHERE dir_name = 'idr0080'`,
  );
  assert.equal(src.database, 'Image Data Resource');
  assert.equal(src.licence, 'CC0 1.0');
  assert.match(String(src.citation), /doi\.org\/10\.1091\/mbc\.E20-12-0784/);
});

test('IDR characteristics map to the schema: organism, cell line, compound, MoA, gene symbol', async () => {
  const [a] = await query(
    catalog,
    `SELECT organism, cell_type, compound, path FROM catalog WHERE idx = 'idr0081-screenA-preZ-A1'`,
  );
  assert.equal(a.organism, 'human|human adenovirus 2');
  assert.equal(a.cell_type, 'a549');
  assert.equal(a.compound, 'dimethyl sulfoxide');
  // idr0081's plates TSV is reversed (path, plate).
  assert.equal(
    a.path,
    '/uod/idr/filesets/idr0081-georgi-adenovirus/20200324-owncloud/1-prePlates/Data_UZH/preZ/HAdV-preZ.HTD',
  );
  const [g] = await query(
    catalog,
    `SELECT gene, count(*) AS n FROM catalog WHERE dir_name = 'idr0080' AND gene = 'chr2 targeted' GROUP BY gene`,
  );
  assert.equal(Number(g.n), 864);
  assert.equal(await count(catalog, `dir_name = 'idr0080' AND gene IS NOT NULL AND NOT suffix(gene, ' targeted')`), 0);
  assert.equal(await count(catalog, `dir_name = 'idr0005' AND organism = 'fly'`), 1_728);
  assert.equal(
    await count(catalog, `dir_name = 'idr0072' AND idx LIKE 'idr0072-screenB-%' AND organism = 'mouse'`),
    5_473,
  );
  assert.equal(await count(catalog, `dir_name = 'idr0072' AND cell_visible = 'golgi'`), 1_156);
});

test('IDR idr0088: the zipped 132-MB annotation streams in; MoA becomes phenotype; one-column plates TSV gives paths', async () => {
  const [r] = await query(
    catalog,
    `SELECT compound, phenotype, cell_type FROM catalog WHERE idx = 'idr0088-screenA-1013608248-L10'`,
  );
  assert.equal(r.compound, '(-)-cinchonidine');
  assert.equal(r.cell_type, 'a549');
  assert.ok(
    Number(
      (await query(catalog, `SELECT count(DISTINCT phenotype) AS n FROM catalog WHERE dir_name = 'idr0088'`))[0].n,
    ) > 50,
  );
  assert.equal(
    await count(catalog, `dir_name = 'idr0088' AND path LIKE '/uod/idr/filesets/idr0088-cox-phenomicprofiling/%'`),
    317_430,
  );
  const [conc] = await query(
    catalog,
    `SELECT value FROM extras WHERE idx = 'idr0088-screenA-1013608248-L10' AND key = 'concentration'`,
  );
  assert.equal(conc.value, '0.3');
});

test('IDR idr0021: image-keyed experiment rows carry dataset/image file names', async () => {
  const [r] = await query(
    catalog,
    `SELECT source_files, filename, cell_type, gene FROM catalog WHERE dir_name = 'idr0021' ORDER BY source_row LIMIT 1`,
  );
  assert.equal(r.source_files, 'CDK5RAP2-C/Centrin_PCNT_Cep215_20110506_Fri-1545_0_SIR_PRJ.dv');
  assert.equal(r.filename, 'Centrin_PCNT_Cep215_20110506_Fri-1545_0_SIR_PRJ.dv');
  assert.equal(r.cell_type, 'hela');
  assert.equal(r.gene, 'cdk5rap2 targeted');
});
