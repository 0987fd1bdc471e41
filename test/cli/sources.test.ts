// `cytoimagenet sources list|show` and `ingest --registry` through the real binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { CLI, REPO_ROOT, withTempDir } from '../helpers/data.js';
import { count, query } from '../catalog/catalog-helpers.js';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

test('sources list: all 40 datasets (and BBBC021, for evaluation), each with a licence, a citation and a link', () => {
  const r = run(['sources', 'list']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 41);
  const names = lines.map((l) => l.split('\t')[0]);
  for (const d of [
    'rec_rxrx1',
    'rec_rxrx19b',
    'idr0093',
    'idr0072',
    'bbbc041',
    'cil_kinome',
    'kag_hpa',
    'kag_cell_cycle',
  ])
    assert.ok(names.includes(d), d);
  for (const l of lines) {
    const cells = l.split('\t');
    assert.match(cells[3], /^licence: \S/, l);
    assert.ok(
      cells.some((c) => /^cite: \S/.test(c)),
      l,
    );
    assert.ok(
      cells.some((c) => /^https?:\/\//.test(c)),
      l,
    );
  }
  assert.equal(lines.filter((l) => l.includes('not in CytoImageNet')).length, 1);
  assert.match(
    lines.find((l) => l.startsWith('rec_rxrx1\t')) ?? '',
    /Recursion\tRxRx1\t.*125,510 image sets\tlabels: sirna/,
  );
});

test('sources list --root says present, partly present or missing; show prints layout, download and config', async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, 'kag_hpa', 'train'), { recursive: true });
    await writeFile(join(dir, 'kag_hpa', 'train', 'a_blue.png'), '');
    await writeFile(join(dir, 'kag_hpa', 'train.csv'), 'Id,Target\na,0\n');
    await mkdir(join(dir, 'rec_rxrx1', 'rxrx1'), { recursive: true });
    await writeFile(join(dir, 'rec_rxrx1', 'rxrx1', 'metadata.csv'), 'site_id\n');
    const r = run(['sources', 'list', '--root', dir]);
    assert.equal(r.status, 0, r.stderr);
    const state = Object.fromEntries(
      r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split('\t').slice(0, 2)),
    );
    assert.equal(state.kag_hpa, 'present');
    assert.equal(state.rec_rxrx1, 'partly present');
    assert.equal(state.idr0080, 'missing');
    const s = run(['sources', 'show', 'rec_rxrx1']);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /https:\/\/storage\.googleapis\.com\/rxrx\/rxrx1\/rxrx1-images\.zip/);
    assert.match(s.stdout, /rec_rxrx1\/rxrx1\/images\/HUVEC-01\/Plate1\/B02_s1_w1\.png/);
    assert.match(s.stdout, /adapter: generic/);
    const bad = run(['sources', 'show', 'rxrx9']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /no dataset 'rxrx9' in the registry/);
  });
});

test("the README's recipe, ingest --registry all --root DIR: present datasets ingested, missing ones listed, not fatal", async () => {
  await withTempDir(async (dir) => {
    // The recipe's first line, as the README writes it: `cytoimagenet ingest --registry all --root data --catalog catalog.duckdb`.
    const line = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('cytoimagenet ingest --registry all'));
    assert.ok(line, 'README recipe starts with ingest --registry all');
    const args = line.split('#')[0].trim().split(/\s+/).slice(1);
    assert.deepEqual(args, ['ingest', '--registry', 'all', '--root', 'data', '--catalog', 'catalog.duckdb']);
    const root = join(dir, 'data');
    const phases = { interphase: ['IMG_1.jpg', 'IMG_2.jpg'], mitosis: ['IMG_3.jpg'] };
    for (const [p, files] of Object.entries(phases)) {
      await mkdir(join(root, 'kag_cell_cycle', 'nematode cells', 'nematode cells', p), { recursive: true });
      for (const f of files)
        await writeFile(join(root, 'kag_cell_cycle', 'nematode cells', 'nematode cells', p, f), '');
    }
    const catalog = join(dir, 'catalog.duckdb');
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^kag_cell_cycle \[generic\]: 3 rows, files: 3 present, 0 missing/m);
    assert.equal(r.stdout.match(/: skipped, missing under /g)?.length, 39);
    assert.doesNotMatch(r.stdout, /bbbc021/, 'BBBC021 (evaluation only) is not part of all');
    assert.equal(await count(catalog, "phenotype = 'mitosis'"), 1);
    const [src] = await query(catalog, "SELECT licence, citation FROM sources WHERE dir_name = 'kag_cell_cycle'");
    assert.match(String(src.licence), /CC BY-SA 4\.0/);
    assert.match(String(src.citation), /Mooney 2018/);
    const named = run(['ingest', '--registry', 'idr0080', '--root', root, '--catalog', catalog]);
    assert.equal(named.status, 1);
    assert.match(named.stderr, /dataset idr0080 is missing under/);
    const noRoot = run(['ingest', '--registry', 'all', '--catalog', catalog]);
    assert.equal(noRoot.status, 1);
    assert.match(noRoot.stderr, /--registry needs --root/);
  });
});
