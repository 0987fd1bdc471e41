// One rule for where a source's files are (docs/catalog.md, "Where image files may be"): each
// listed file is resolved against the source's images folder and symlinks are followed; a path
// that leaves the folder (absolute elsewhere, or too many '..') is refused at ingest unless the
// config says allow_outside_root: true. files_status then says exactly what the build will read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ingestSources } from '../../src/catalog/ingest.js';
import { UserError } from '../../src/util/errors.js';
import { withTempDir } from '../helpers/data.js';
import { query, writeConfig } from './catalog-helpers.js';

async function layout(dir: string): Promise<void> {
  await mkdir(join(dir, 'images', '.hidden'), { recursive: true });
  await mkdir(join(dir, 'elsewhere'));
  await mkdir(join(dir, 'outside'));
  for (const f of ['images/real.png', 'images/.hidden/h.png', 'elsewhere/b.png', 'outside/c.png'])
    await writeFile(join(dir, f), 'x');
  await symlink(join(dir, 'elsewhere'), join(dir, 'images', 'linked')); // an image folder reached by a symlink
}

async function statusByIdx(catalog: string): Promise<Record<string, string>> {
  const rows = await query(catalog, 'SELECT idx, files_status FROM catalog ORDER BY idx');
  return Object.fromEntries(rows.map((r) => [String(r.idx), String(r.files_status)]));
}

function table(rows: [string, string][]): string {
  return `database,name,dir_name,idx,source_files\n${rows.map(([i, f]) => `DB,T,t,${i},${f}`).join('\n')}\n`;
}

test('files through a symlinked folder, with . or .. inside the root, or hidden, are present', async () => {
  await withTempDir(async (dir) => {
    await layout(dir);
    await writeFile(
      join(dir, 'inside.csv'),
      table([
        ['t-1', 'real.png'],
        ['t-2', 'linked/b.png'],
        ['t-3', 'linked/../real.png'],
        ['t-4', './real.png'],
        ['t-5', '.hidden/h.png'],
        ['t-6', 'linked/nope.png'],
      ]),
    );
    const config = await writeConfig(dir, 'inside.json', {
      adapter: 'standard',
      table: 'inside.csv',
      images: 'images',
    });
    const catalog = join(dir, 'catalog.duckdb');
    await ingestSources([config], catalog);
    assert.deepEqual(await statusByIdx(catalog), {
      't-1': 'present',
      't-2': 'present',
      't-3': 'present',
      't-4': 'present',
      't-5': 'present',
      't-6': 'missing',
    });
  });
});

test('paths that leave the images folder are refused at ingest, naming the row and allow_outside_root', async () => {
  await withTempDir(async (dir) => {
    await layout(dir);
    for (const [name, f] of [
      ['up', '../outside/c.png'],
      ['abs', join(dir, 'outside', 'c.png')],
    ]) {
      await writeFile(
        join(dir, `${name}.csv`),
        table([
          ['t-1', 'real.png'],
          ['t-2', f],
        ]),
      );
      const config = await writeConfig(dir, `${name}.json`, {
        adapter: 'standard',
        table: `${name}.csv`,
        images: 'images',
      });
      await assert.rejects(
        ingestSources([config], join(dir, `${name}.duckdb`)),
        (e: unknown) =>
          e instanceof UserError &&
          e.message.includes(f) &&
          /outside the images folder/.test(e.message) &&
          /allow_outside_root: true/.test(e.hint ?? '') &&
          e.location.line === 3,
        name,
      );
    }
  });
});

test('with allow_outside_root: true, outside paths are read and their status is what is on disk', async () => {
  await withTempDir(async (dir) => {
    await layout(dir);
    await writeFile(
      join(dir, 'out.csv'),
      table([
        ['t-1', '../outside/c.png'],
        ['t-2', join(dir, 'outside', 'c.png')],
        ['t-3', '../outside/nope.png'],
        ['t-4', 'real.png'],
      ]),
    );
    const config = await writeConfig(dir, 'out.json', {
      adapter: 'standard',
      table: 'out.csv',
      images: 'images',
      allow_outside_root: true,
    });
    const catalog = join(dir, 'catalog.duckdb');
    await ingestSources([config], catalog);
    assert.deepEqual(await statusByIdx(catalog), {
      't-1': 'present',
      't-2': 'present',
      't-3': 'missing',
      't-4': 'present',
    });
  });
});
