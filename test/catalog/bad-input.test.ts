// Every kind of bad input gets a message naming the file, the line or column and what was
// expected, and leaves the catalog exactly as it was.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtemp, mkdir, rm, writeFile, copyFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ingestSources } from '../../src/catalog/ingest.js';
import { catalogFingerprint } from '../../src/catalog/fingerprint.js';
import { UserError } from '../../src/util/errors.js';
import { CLI, sharedPath } from '../helpers/data.js';
import { count, writeConfig } from './catalog-helpers.js';

let dir = '';
let catalog = '';
let fingerprint = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-bad-'));
  catalog = join(dir, 'catalog.duckdb');
  await writeFile(
    join(dir, 'good.csv'),
    'database,name,dir_name,idx,organism\nDB,Good,good,g-1,human\nDB,Good,good,g-2,mouse\n',
  );
  await ingestSources([await writeConfig(dir, 'good.json', { adapter: 'standard', table: 'good.csv' })], catalog);
  fingerprint = await catalogFingerprint(catalog);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectRefused(config: string, check: (e: UserError) => void): Promise<void> {
  await assert.rejects(ingestSources([config], catalog), (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    check(e);
    return true;
  });
  assert.equal(await catalogFingerprint(catalog), fingerprint, 'the catalog is unchanged');
  assert.equal(await count(catalog), 2);
}

test('a malformed CSV line is reported with its line number', async () => {
  await writeFile(join(dir, 'bad.csv'), 'database,name,dir_name,idx\nDB,Good,good,g-1\nDB,Good,good,g-2,extra\n');
  await expectRefused(
    await writeConfig(dir, 'bad-line.json', { adapter: 'standard', table: 'bad.csv', dir_name: 'good' }),
    (e) => {
      assert.equal(e.location.file, join(dir, 'bad.csv'));
      assert.equal(e.location.line, 3);
      assert.match(e.message, /expected 4 fields.*found 5/);
    },
  );
});

test('a missing column names the table and the column', async () => {
  await writeFile(join(dir, 'nocol.csv'), 'database,name,idx\nDB,X,x-1\n');
  await expectRefused(await writeConfig(dir, 'nocol.json', { adapter: 'standard', table: 'nocol.csv' }), (e) => {
    assert.equal(e.location.column, 'dir_name');
    assert.equal(e.location.file, join(dir, 'nocol.csv'));
    assert.match(e.format(), /missing column 'dir_name'/);
  });
  const meta = join(dir, 'bbbc021');
  await mkdir(meta, { recursive: true });
  for (const n of ['moa', 'compound'])
    await copyFile(sharedPath('metadata', 'bbbc021', `BBBC021_v1_${n}.csv`), join(meta, `BBBC021_v1_${n}.csv`));
  const image = await readFile(sharedPath('metadata', 'bbbc021', 'BBBC021_v1_image.csv'), 'utf8');
  await writeFile(
    join(meta, 'BBBC021_v1_image.csv'),
    image.replace('"Image_FileName_Actin"', '"Image_FileName_Phalloidin"'),
  );
  await expectRefused(await writeConfig(dir, 'b21.json', { adapter: 'bbbc021', metadata: 'bbbc021' }), (e) => {
    assert.equal(e.location.column, 'Image_FileName_Actin');
    assert.equal(e.location.line, 1);
  });
});

test('a value of the wrong type names its line and column', async () => {
  await writeFile(join(dir, 'type.csv'), 'database,name,dir_name,idx,scaling\nDB,T,t,t-1,0.5\nDB,T,t,t-2,half\n');
  await expectRefused(await writeConfig(dir, 'type.json', { adapter: 'standard', table: 'type.csv' }), (e) => {
    assert.equal(e.location.line, 3);
    assert.equal(e.location.column, 'scaling');
    assert.match(e.message, /'half' is not a number/);
  });
});

test('an unknown adapter, an unknown key, and a config that fails validation name the line and key', async () => {
  await writeFile(join(dir, 'unknown.yaml'), 'adapter: bbbc999\nmetadata: x\n');
  await expectRefused(join(dir, 'unknown.yaml'), (e) => {
    assert.equal(e.location.line, 1);
    assert.equal(e.location.column, 'adapter');
    assert.match(e.format(), /unknown adapter 'bbbc999'[\s\S]*bbbc021/);
  });
  await writeFile(join(dir, 'key.yaml'), 'adapter: standard\ntable: good.csv\ncolour: blue\n');
  await expectRefused(join(dir, 'key.yaml'), (e) => {
    assert.equal(e.location.line, 3);
    assert.equal(e.location.column, 'colour');
    assert.match(e.message, /unknown key 'colour'/);
  });
  await writeFile(
    join(dir, 'val.json'),
    '{\n  "adapter": "generic",\n  "dir_name": "has space",\n  "database": "D",\n  "name": "N",\n  "images": "x",\n  "pattern": "{a}.png"\n}\n',
  );
  await expectRefused(join(dir, 'val.json'), (e) => {
    assert.equal(e.location.line, 3);
    assert.equal(e.location.column, 'dir_name');
  });
  await writeFile(join(dir, 'syntax.json'), '{"adapter": "standard",\n "table": "good.csv"\n');
  await expectRefused(join(dir, 'syntax.json'), (e) => {
    assert.ok(e.location.line !== undefined && e.location.line >= 2);
    assert.match(e.message, /not valid JSON\/YAML/);
  });
});

test('an unreadable zip is named as such', async () => {
  const study = join(dir, 'idr9999-broken');
  await mkdir(join(study, 'screenA'), { recursive: true });
  await writeFile(join(study, 'idr9999-study.txt'), 'Study Title\tBroken\n');
  await writeFile(
    join(study, 'screenA', 'idr9999-screenA-annotation.csv.zip'),
    'PK\u0003\u0004 this is not a zip archive',
  );
  await expectRefused(await writeConfig(dir, 'zip.json', { adapter: 'idr', study: 'idr9999-broken' }), (e) => {
    assert.equal(e.location.file, join(study, 'screenA', 'idr9999-screenA-annotation.csv.zip'));
    assert.match(e.message, /cannot read the zip archive/);
  });
});

test('duplicate idx values and an idx owned by another source are refused', async () => {
  await writeFile(join(dir, 'dup.csv'), 'database,name,dir_name,idx\nDB,D,d,d-1\nDB,D,d,d-1\n');
  await expectRefused(await writeConfig(dir, 'dup.json', { adapter: 'standard', table: 'dup.csv' }), (e) => {
    assert.match(e.message, /idx 'd-1' occurs 2 times/);
    assert.equal(e.location.line, 3);
  });
  await writeFile(join(dir, 'steal.csv'), 'database,name,dir_name,idx\nDB,S,other,g-1\n');
  await expectRefused(await writeConfig(dir, 'steal.json', { adapter: 'standard', table: 'steal.csv' }), (e) => {
    assert.match(e.message, /idx 'g-1' already belongs to source 'good'/);
  });
});

test('the CLI prints the message (no stack trace) and exits 1', async () => {
  await writeFile(join(dir, 'cli.yaml'), 'adapter: standard\ntable: missing.csv\n');
  const run = promisify(execFile);
  await assert.rejects(
    run(process.execPath, [CLI, 'ingest', join(dir, 'cli.yaml'), '--catalog', catalog]),
    (e: unknown) => {
      const err = e as { code: number; stderr: string };
      assert.equal(err.code, 1);
      assert.match(err.stderr, /missing\.csv: table not found/);
      assert.doesNotMatch(err.stderr, /\n\s+at /);
      return true;
    },
  );
  assert.equal(await catalogFingerprint(catalog), fingerprint);
});

test('several problems: a missing required value is named before a bad dir_name or a wrong type, wherever it is', async () => {
  // Line 2 has a value of the wrong type, line 3 a bad dir_name, line 4 no idx: the ingest
  // finds them in its insert and afterwards, and names them in the order the checks run.
  await writeFile(
    join(dir, 'many.csv'),
    'database,name,dir_name,idx,x_min\nDB,M,m,m-1,left\nDB,M,m m,m-2,1\nDB,M,m,,2\n',
  );
  await expectRefused(await writeConfig(dir, 'many.json', { adapter: 'standard', table: 'many.csv' }), (e) => {
    assert.match(e.message, /row has no 'idx'/);
    assert.equal(e.location.line, 4);
  });
  await writeFile(join(dir, 'two.csv'), 'database,name,dir_name,idx,x_min\nDB,M,m,m-1,left\nDB,M,m m,m-2,1\n');
  await expectRefused(await writeConfig(dir, 'two.json', { adapter: 'standard', table: 'two.csv' }), (e) => {
    assert.match(e.message, /dir_name 'm m'/);
    assert.equal(e.location.line, 3);
  });
  await writeFile(join(dir, 'one.csv'), 'database,name,dir_name,idx,x_min\nDB,M,m,m-1,1\nDB,M,m,m-2,left\n');
  await expectRefused(await writeConfig(dir, 'one.json', { adapter: 'standard', table: 'one.csv' }), (e) => {
    assert.match(e.message, /'left' is not an integer/);
    assert.equal(e.location.line, 3);
    assert.equal(e.location.column, 'x_min');
  });
});
