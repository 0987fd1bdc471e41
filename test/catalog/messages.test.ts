// Messages a user can act on, for the mistakes real users make with real tables: each names the
// file, the line and what to do, and never hides DuckDB's or the system's reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ingestSources } from '../../src/catalog/ingest.js';
import { fsUserError, messageOf, UserError } from '../../src/util/errors.js';
import { CLI, sharedPath, withTempDir } from '../helpers/data.js';
import { writeConfig } from './catalog-helpers.js';

async function failure(p: Promise<unknown>): Promise<UserError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the ingest to fail');
}

test('messages: an empty key or id column is named with its line, not "row has no idx"', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'meta.csv'), 'image,Compound\nP1/a,Taxol\n  ,DMSO\nP2/c,Nocodazole\n');
    const key = await writeConfig(dir, 'key.json', {
      adapter: 'generic',
      dir_name: 'demo',
      database: 'D',
      name: 'N',
      table: { path: 'meta.csv', key: 'image' },
      columns: { compound: 'Compound' },
    });
    const e = await failure(ingestSources([key], join(dir, 'c.duckdb')));
    assert.match(e.message, /the key column 'image' is empty/);
    assert.equal(e.location.file, join(dir, 'meta.csv'));
    assert.equal(e.location.line, 3);
    await writeFile(join(dir, 'plates.csv'), 'Plate,Well,Compound\nP1,A1,Taxol\nP1,A2,DMSO\nP1,,DMSO\n');
    const id = await writeConfig(dir, 'id.json', {
      adapter: 'generic',
      dir_name: 'demo',
      database: 'D',
      name: 'N',
      table: { path: 'plates.csv', id: '{Plate}-{Well}' },
    });
    const e2 = await failure(ingestSources([id], join(dir, 'c.duckdb')));
    assert.match(e2.message, /table\.id "\{Plate\}-\{Well\}" has no value: 'Well' is empty/);
    assert.equal(e2.location.line, 4);
  });
});

test('messages: study: pointing at the study file says a file was given where the folder was expected', async () => {
  await withTempDir(async (dir) => {
    const studyFile = sharedPath('metadata', 'idr', 'idr0081-georgi-adenovirus', 'idr0081-study.txt');
    const cfg = await writeConfig(dir, 'idr.json', { adapter: 'idr', study: studyFile });
    const e = await failure(ingestSources([cfg], join(dir, 'c.duckdb')));
    assert.match(e.message, /a file where the study folder was expected/);
    assert.match(e.hint ?? '', /idr0081-georgi-adenovirus/);
  });
});

test("messages: YAML and config errors point at the key's line (an unclosed value, a wrong block value), not the line after", async () => {
  await withTempDir(async (dir) => {
    const cases: [string, number, string][] = [
      ['adapter: generic\ndir_name: x\ntable:\n  path: "meta.csv\nvalues: {organism: human}\n', 4, 'path'],
      ['adapter: generic\nvalues:\n  organism: [human\n  cell_type: x\n', 3, 'organism'],
      ['adapter: generic\nvalues: {organism: human\ndatabase: D\n', 2, 'values'],
    ];
    for (const [text, line, key] of cases) {
      await writeFile(join(dir, 'bad.yaml'), text);
      const e = await failure(ingestSources([join(dir, 'bad.yaml')], join(dir, 'c.duckdb')));
      assert.equal(e.location.line, line, text);
      assert.match(e.message, new RegExp(`the value of '${key}' is never closed`));
    }
    // A wrong block value (it starts on the line after its key) is reported at the key's line.
    await writeFile(
      join(dir, 'bad.yaml'),
      'adapter: generic\ndir_name: x\ndatabase: D\nname: N\ntable:\n  key: image\nvalues:\n  organism:\n    - human\n',
    );
    const e = await failure(ingestSources([join(dir, 'bad.yaml')], join(dir, 'c.duckdb')));
    assert.match(e.message, /line 5, 'table\.path': missing key/);
    assert.match(e.message, /line 8, 'values\.organism': .*expected string/);
  });
});

test('messages: a config with several problems lists every one, each with its line', async () => {
  await withTempDir(async (dir) => {
    await writeFile(
      join(dir, 'bad.yaml'),
      'adapter: generic\ndir_name: x y\ndatabase: 3\nnome: N\ntable: {path: 5, kee: image}\n',
    );
    const e = await failure(ingestSources([join(dir, 'bad.yaml')], join(dir, 'c.duckdb')));
    assert.doesNotMatch(e.message, /more problem/);
    assert.match(e.message, /6 problems/);
    for (const want of [
      /line 1, 'name': missing key/,
      /line 2, 'dir_name': letters, digits/,
      /line 3, 'database': .*expected string/,
      /line 4, 'nome': unknown key 'nome'/,
      /line 5, 'table\.path': .*expected string/,
      /line 5, 'table\.kee': unknown key 'kee'/,
    ])
      assert.match(e.message, want);
  });
});

test("messages: DuckDB's reason is kept: a 5 MB field names its line and the reader's limit", async () => {
  await withTempDir(async (dir) => {
    const rows = ['idx,dir_name,database,name,phenotype'];
    for (let i = 0; i < 40; i++) rows.push(`a${i},d,D,N,x`);
    rows.push(`a40,d,D,N,"${'y'.repeat(5_000_000)}"`);
    await writeFile(join(dir, 'big.csv'), `${rows.join('\n')}\n`);
    const cfg = await writeConfig(dir, 'big.json', { adapter: 'standard', table: 'big.csv' });
    const e = await failure(ingestSources([cfg], join(dir, 'c.duckdb')));
    assert.equal(e.location.line, 42);
    assert.match(e.message, /5,000,012 bytes long, over the reader's limit of 2,000,000 bytes/);
  });
});

test('messages: raw EEXIST, ENOSPC and EACCES become a sentence naming the path and what to do', async (t) => {
  await withTempDir(async (dir) => {
    writeFileSync(join(dir, 'afile'), '');
    let raw: unknown;
    try {
      mkdirSync(join(dir, 'afile'));
    } catch (e) {
      raw = e;
    }
    const eexist = fsUserError(raw);
    assert.ok(eexist);
    assert.equal(eexist.location.file, join(dir, 'afile'));
    assert.match(messageOf(raw), /afile: already exists .*\n {2}hint: remove or rename it/);
    try {
      writeFileSync('/dev/full', 'x');
      raw = undefined;
    } catch (e) {
      raw = e;
    }
    if (raw) assert.match(messageOf(raw), /^no space left on the device\n {2}hint: free space/);
    // EACCES, for real: the CLI run as an unprivileged user, writing a catalog under a folder
    // only root may write to (possible only when the tests run as root).
    if (process.getuid?.() !== 0) {
      t.diagnostic('EACCES case skipped: needs root to run the CLI as another user');
      return;
    }
    await chmod(dir, 0o755);
    await mkdir(join(dir, 'locked'), { mode: 0o755 });
    await writeFile(join(dir, 't.csv'), 'idx,dir_name,database,name\na,d,D,N\n');
    const cfg = await writeConfig(dir, 's.json', { adapter: 'standard', table: 't.csv' });
    const r = spawnSync(process.execPath, [CLI, 'ingest', cfg, '--catalog', join(dir, 'locked', 'c.duckdb')], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /locked\/c\.duckdb: permission denied: this user may not read or write here/);
    assert.match(r.stderr, /hint: check the owner and mode/);
    assert.doesNotMatch(r.stderr, /EACCES|IO Error/);
  });
});

test('NUL bytes: a NUL inside a value is refused at its file, line and column, never cut', async () => {
  await withTempDir(async (dir) => {
    await writeFile(
      join(dir, 't.csv'),
      'idx,dir_name,database,name,phenotype,compound\na1,d,D,N,mitosis,taxol\na2,d,D,N,"Mito\0sis",taxol\n',
    );
    const std = await writeConfig(dir, 's.json', { adapter: 'standard', table: 't.csv' });
    const e = await failure(ingestSources([std], join(dir, 'c.duckdb')));
    assert.equal(e.location.file, join(dir, 't.csv'));
    assert.equal(e.location.line, 3);
    assert.equal(e.location.column, 'phenotype');
    assert.match(e.message, /NUL byte \(\\0\) at character 15 of line 3/);
    await writeFile(join(dir, 'g.tsv'), 'img\tComp\na1\ttaxol\na2\tcis\0platin\n');
    const gen = await writeConfig(dir, 'g.json', {
      adapter: 'generic',
      dir_name: 'g',
      database: 'G',
      name: 'G',
      table: { path: 'g.tsv', id: '{img}' },
      columns: { compound: 'Comp' },
    });
    const e2 = await failure(ingestSources([gen], join(dir, 'c.duckdb')));
    assert.equal(e2.location.line, 3);
    assert.equal(e2.location.column, 'Comp');
    assert.match(e2.message, /character 7 of line 3/);
  });
});
