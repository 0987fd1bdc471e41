// The registry's configs on the real tables in shared/data, laid out under a temporary ROOT by
// links as `sources show NAME` describes; where the original's curated table exists, the rows
// reproduce its row count and label values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { ingestSources } from '../../src/catalog/ingest.js';
import { registryInputs } from '../../src/sources/dataset-registry.js';
import { cleanValue } from '../../src/catalog/clean.js';
import { loadSynonymRules } from '../../src/catalog/synonyms.js';
import { sharedPath, withTempDir } from '../helpers/data.js';
import { count, query } from '../catalog/catalog-helpers.js';

async function link(target: string, at: string): Promise<void> {
  await mkdir(join(at, '..'), { recursive: true });
  await symlink(target, at);
}

async function touch(at: string): Promise<void> {
  await mkdir(join(at, '..'), { recursive: true });
  await writeFile(at, '');
}

async function curated(name: string): Promise<Record<string, string>[]> {
  return parse(await readFile(sharedPath('metadata', 'cytoimagenet', name), 'utf8'), { columns: true });
}

test('registry: BBBC021, HPA 2019, BBBC041 and five IDR studies ingest from their shared tables by name', async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, 'root');
    for (const f of ['BBBC021_v1_image.csv', 'BBBC021_v1_moa.csv', 'BBBC021_v1_compound.csv'])
      await link(sharedPath('metadata', 'bbbc021', f), join(root, 'bbbc021', f));
    await link(sharedPath('metadata', 'cytoimagenet', 'kag_hpa_2019_train.csv'), join(root, 'kag_hpa', 'train.csv'));
    await link(sharedPath('metadata', 'bbbc041', 'test.json'), join(root, 'bbbc041', 'malaria', 'test.json'));
    // BBBC041's training.json is not in the shared data: an empty list stands in for it.
    await writeFile(join(root, 'bbbc041', 'malaria', 'training.json'), '[]');
    const idr: Record<string, string> = {
      idr0080: 'idr0080-way-perturbation',
      idr0081: 'idr0081-georgi-adenovirus',
      idr0072: 'idr0072-schormann-subcellref',
      idr0021: 'idr0021-lawo-pericentriolarmaterial',
      idr0088: 'idr0088-cox-phenomicprofiling',
    };
    for (const [d, repo] of Object.entries(idr)) await link(sharedPath('metadata', 'idr', repo), join(root, d));
    const names = ['bbbc021', 'kag_hpa', 'bbbc041', ...Object.keys(idr)];
    const { inputs, skipped } = registryInputs(names, root);
    assert.equal(skipped.length, 0);
    const catalog = join(dir, 'c.duckdb');
    const r = await ingestSources(inputs, catalog);
    const rows = Object.fromEntries(r.sources.map((s) => [s.dirNames.join(','), s.rows]));
    assert.deepEqual(rows, {
      bbbc021: 13200,
      kag_hpa: 31072 * 4,
      bbbc041: 5922,
      idr0080: 6912,
      idr0081: 768,
      idr0072: 669 + 5473,
      idr0021: 414,
      idr0088: rows.idr0088,
    });
    assert.ok(rows.idr0088 > 100_000, `idr0088: ${rows.idr0088} wells`);
    // idr0072 and idr0021 match the original catalogue's sizes (6,142 and 414 image sets).
    const [m] = await query(catalog, "SELECT count(DISTINCT phenotype) AS n FROM catalog WHERE dir_name = 'bbbc021'");
    assert.equal(Number(m.n), 12, 'the 12 MOAs (DMSO has none)');
    const genes = await query(catalog, "SELECT count(DISTINCT gene) AS n FROM catalog WHERE dir_name = 'idr0080'");
    assert.ok(Number(genes[0].n) >= 51);
    const [hpa] = await query(
      catalog,
      "SELECT DISTINCT organism, cell_type, microscopy FROM catalog WHERE dir_name = 'kag_hpa'",
    );
    assert.deepEqual(hpa, { organism: 'human', cell_type: 'u2os', microscopy: 'confocal' });
    const [idrConst] = await query(
      catalog,
      "SELECT DISTINCT microscopy, channels FROM catalog WHERE dir_name = 'idr0081'",
    );
    assert.deepEqual(idrConst, { microscopy: 'fluorescence', channels: 'f_nucleus|f_infection' });
    const centrosome = await query(
      catalog,
      "SELECT cell_visible, count(*)::INTEGER AS n FROM catalog WHERE dir_name = 'idr0021' GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
    );
    assert.deepEqual(centrosome, [{ cell_visible: 'tubg1', n: 80 }]);
    const [src] = await query(catalog, "SELECT licence, citation FROM sources WHERE dir_name = 'idr0080'");
    assert.equal(src.licence, 'CC0 1.0');
    assert.match(String(src.citation), /Way et al\. 2021/);
  });
});

test('registry: bbbc013, cil_kinome and kag_cell_cycle reproduce the original curated tables (rows and labels)', async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, 'root');
    const prefix = '/ferrero/stan_data/';
    const tables = {
      bbbc013: await curated('bbbc013_metadata.csv'),
      cil_kinome: await curated('cil_kinome_metadata.csv'),
      kag_cell_cycle: await curated('kag_cell_cycle_metadata.csv'),
    };
    // The image files the curated tables name, at the places they name (empty files: only names matter here).
    for (const rows of Object.values(tables))
      for (const r of rows) await touch(join(root, r.path.slice(prefix.length), r.filename));
    await link(
      sharedPath('metadata', 'cytoimagenet', 'cil_kinome_mapping.csv'),
      join(root, 'cil_kinome', 'cil_kinome_mapping.csv'),
    );
    const { inputs } = registryInputs(Object.keys(tables), root);
    const catalog = join(dir, 'c.duckdb');
    await ingestSources(inputs, catalog);
    const rules = loadSynonymRules();
    for (const [d, rows] of Object.entries(tables)) {
      assert.equal(await count(catalog, `dir_name = '${d}'`), rows.length, d);
      assert.equal(await count(catalog, `dir_name = '${d}' AND files_status = 'present'`), rows.length, `${d} files`);
      const got = await query(
        catalog,
        `SELECT filename, organism, cell_type, cell_visible, phenotype, microscopy FROM catalog WHERE dir_name = '${d}' ORDER BY filename`,
      );
      const want = rows
        .map((r) => ({
          filename: r.filename,
          organism: cleanValue('organism', r.organism, rules),
          cell_type: cleanValue('cell_type', r.cell_type, rules),
          cell_visible: cleanValue('cell_visible', r.cell_component, rules),
          phenotype: cleanValue('phenotype', r.phenotype, rules),
          microscopy: cleanValue('microscopy', r.microscopy, rules),
        }))
        .sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
      assert.deepEqual(got, want, d);
    }
  });
});
