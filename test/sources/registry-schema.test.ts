// The registry files are validated with zod at load: every shipped one passes, and a bad one is
// refused with its file, line and key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadRegistry, loadRegistryFile, registryDir } from '../../src/sources/dataset-registry.js';
import { REPO_ROOT, withTempDir } from '../helpers/data.js';

test('registry: 41 valid entries (the 40 of CytoImageNet and BBBC021), each with licence, citation, homepage and a way to get it', () => {
  const all = loadRegistry();
  assert.equal(all.length, 41);
  assert.deepEqual(
    all.filter((e) => !e.in_cytoimagenet).map((e) => e.dir_name),
    ['bbbc021'],
  );
  const dbs = new Map<string, number>();
  for (const e of all) {
    assert.ok(e.licence && e.citation && /^https?:\/\//.test(e.homepage), e.dir_name);
    assert.ok(e.get.download.length > 0, `${e.dir_name}: download`);
    assert.equal(e.location, null, `${e.dir_name}: the spec gives no location (docs/sources.md, "Reading in place")`);
    if (e.in_cytoimagenet) dbs.set(e.database, (dbs.get(e.database) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(dbs), {
    'Broad Bioimage Benchmark Collection': 18,
    'Cell Image Library': 1,
    'Image Data Resource': 13,
    Kaggle: 4,
    Recursion: 4,
  });
});

test('registry: an unknown key, a bad source or a misnamed file is refused with file and line', async () => {
  await withTempDir(async (dir) => {
    const src = join(registryDir(), 'bbbc026.yaml');
    const text = await readFile(src, 'utf8');
    const f = join(dir, 'bbbc026.yaml');
    await writeFile(f, text.replace('homepage:', 'homepag:'));
    assert.throws(
      () => loadRegistryFile(f),
      (e: Error & { location?: { column?: string } }) =>
        /invalid registry config/.test(e.message) && e.location?.column === 'homepage',
    );
    await writeFile(f, `${text}mirror: s3://x\n`);
    assert.throws(() => loadRegistryFile(f), /invalid registry config: unknown key 'mirror'/);
    await writeFile(f, text.replace('pattern: ', 'patern: '));
    assert.throws(
      () => loadRegistryFile(f),
      (e: Error & { location?: { line?: number } }) =>
        /'generic' source config: unknown key 'patern'/.test(e.message) && (e.location?.line ?? 0) > 10,
    );
    const g = join(dir, 'other.yaml');
    await copyFile(src, g);
    assert.throws(() => loadRegistryFile(g), /named after its dir_name: expected bbbc026\.yaml/);
  });
});

test('docs/sources.md has a row for every registry entry, with its licence', async () => {
  const doc = await readFile(join(REPO_ROOT, 'docs', 'sources.md'), 'utf8');
  for (const e of loadRegistry()) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${e.dir_name}\``));
    assert.ok(row, `docs/sources.md: no row for ${e.dir_name}`);
    assert.ok(row.includes(e.licence.replaceAll('|', '\\|')), `${e.dir_name}: licence`);
  }
});
