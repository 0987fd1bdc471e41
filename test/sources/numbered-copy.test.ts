import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { writeNumberedCopy } from '../../src/sources/numbered-copy.js';
import { openTableReader } from '../../src/sources/table-reader.js';
import { ingestSources } from '../../src/catalog/ingest.js';
import { withTempDir } from '../helpers/data.js';
import { query, writeConfig } from '../catalog/catalog-helpers.js';

const READ = `header=true, delim=',', quote='"', escape='"', strict_mode=true, auto_detect=false, null_padding=false`;

/**
 * The records of `file` (columns a, b) as DuckDB reads them, each with its number: by window for
 * the original (what the copy must match), or the copy's own number column `n`, read in parallel.
 */
async function records(file: string, numbered: 'by window' | 'by column'): Promise<string[][]> {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  const columns = `${numbered === 'by column' ? `'n': 'BIGINT', ` : ''}'a': 'VARCHAR', 'b': 'VARCHAR'`;
  const n = numbered === 'by column' ? 'n::VARCHAR' : 'row_number() OVER ()::VARCHAR';
  try {
    const r = await conn.runAndReadAll(`SELECT ${n}, a, b FROM read_csv('${file}', ${READ}, columns={${columns}})`);
    return r.getRows().map((row) => row.map((v) => (v === null ? 'NULL' : String(v))));
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

test('numbered copy: each record gets its number as DuckDB counts records (blank lines, CRLF, quoted line ends, BOM)', async () => {
  await withTempDir(async (dir) => {
    const src = join(dir, 't.csv');
    // Line ends are CRLF throughout (DuckDB refuses a file that mixes them); values may hold LF.
    const text =
      '\uFEFFa,b\r\n' +
      '1,x\r\n' +
      '\r\n' + // blank: skipped, not counted
      '2,"two\nlines"\r\n' +
      '\r\n' +
      '3,"say ""hi"", then\r\nleave"\r\n' +
      '"4",""\r\n' +
      '5,last'; // no final line end
    await writeFile(src, text);
    const out = join(dir, 'copy.csv');
    const r = await writeNumberedCopy(src, out, ',', 'n');
    assert.deepEqual(r, { records: 5 });
    assert.equal(
      await readFile(out, 'utf8'),
      'n,a,b\r\n1,1,x\r\n\r\n2,2,"two\nlines"\r\n\r\n3,3,"say ""hi"", then\r\nleave"\r\n4,"4",""\r\n5,5,last',
    );
    assert.deepEqual(await records(out, 'by column'), await records(src, 'by window'));
  });
});

test('numbered copy: a headerless table is numbered from its first line; a tab delimiter works', async () => {
  await withTempDir(async (dir) => {
    const src = join(dir, 't.tsv');
    await writeFile(src, 'x\t"a\tb"\ny\tz\n');
    const out = join(dir, 'copy.tsv');
    assert.deepEqual(await writeNumberedCopy(src, out, '\t', null), { records: 2 });
    assert.equal(await readFile(out, 'utf8'), '1\tx\t"a\tb"\n2\ty\tz\n');
  });
});

test('numbered copy: gives up (null) wherever DuckDB might read the records otherwise', async () => {
  await withTempDir(async (dir) => {
    const cases: [string, string, string][] = [
      ['a quote inside an unquoted field', 'a,b\n1,5" plate\n', ','],
      ['text after a closing quote', 'a,b\n1,"x"y\n', ','],
      ['a carriage return alone (DuckDB ends a line there)', 'a,b\r1,x\r', ','],
      ['a CR at the very end', 'a,b\n1,x\r', ','],
      ['an unterminated quote', 'a,b\n1,"open\n2,x\n', ','],
      ['a delimiter of two characters', 'a||b\n1||x\n', '||'],
    ];
    for (const [what, text, delim] of cases) {
      const src = join(dir, 't.csv');
      await writeFile(src, text);
      assert.equal(await writeNumberedCopy(src, join(dir, 'copy.csv'), delim, 'n'), null, what);
    }
  });
});

test('numbered copy: records spanning chunk boundaries and lines longer than the carry room match DuckDB', async () => {
  await withTempDir(async (dir) => {
    const src = join(dir, 'big.csv');
    const parts: string[] = ['a,b\n'];
    let size = 0;
    for (let i = 0; size < 20 << 20; i++) {
      // Every 7th record's value holds line feeds and escaped quotes; one record is 1.5 MB long.
      const b = i === 30000 ? 'y'.repeat(3 << 19) : i % 7 === 0 ? `"v${i}\n""q""\r\nw"` : `v${i}`.repeat(1 + (i % 50));
      const line = `${i},${b}\n${i % 101 === 0 ? '\n' : ''}`;
      parts.push(line);
      size += line.length;
    }
    await writeFile(src, parts.join(''));
    const out = join(dir, 'copy.csv');
    const r = await writeNumberedCopy(src, out, ',', 'n');
    const expected = await records(src, 'by window');
    assert.equal(r?.records, expected.length);
    const got = await records(out, 'by column');
    assert.equal(got.length, expected.length);
    for (let i = 0; i < got.length; i++) assert.deepEqual(got[i], expected[i], `record ${i + 1}`);
  });
});

test('standard ingest: source_row is the record number whether rows are numbered by the copy or by window', async () => {
  await withTempDir(async (dir) => {
    const header = 'database,name,dir_name,idx,organism,filename\n';
    const rows = ['DB,S,s,i1,human,"a\nb.png"', '', 'DB,S,s,i2,mouse,c.png', 'DB,S,s,i3,human,"d ""e"".png"'];
    // The same table twice: clean (read through the numbered copy), and with a quote inside an
    // unquoted field in its last row (which the copy does not follow: numbered by window).
    await writeFile(join(dir, 'clean.csv'), `${header}${rows.join('\n')}\n`);
    await writeFile(join(dir, 'odd.csv'), `${header}${rows.join('\n')}\nDB,S,s,i4,human,5" plate.png\n`);
    const sourceRows = async (table: string): Promise<unknown[]> => {
      const cfg = await writeConfig(dir, `${table}.json`, {
        adapter: 'standard',
        table,
        dir_name: table.split('.')[0],
      });
      const catalog = join(dir, `${table}.duckdb`);
      await ingestSources([cfg], catalog);
      return (await query(catalog, 'SELECT idx, filename, source_row FROM catalog ORDER BY source_row')).map((r) => [
        r.idx,
        r.filename,
        r.source_row,
      ]);
    };
    const expected = [
      ['i1', 'a\nb.png', '1'],
      ['i2', 'c.png', '2'],
      ['i3', 'd "e".png', '3'],
    ];
    assert.deepEqual(await sourceRows('clean.csv'), expected);
    assert.deepEqual(await sourceRows('odd.csv'), [...expected, ['i4', '5" plate.png', '4']]);
  });
});

test('table reader: a clean text or Parquet table is numbered in parallel; a gzipped or odd one by window', async () => {
  await withTempDir(async (dir) => {
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    try {
      await writeFile(join(dir, 'clean.csv'), 'a,b\n1,x\n2,"y"\n');
      await writeFile(join(dir, 'odd.csv'), 'a,b\n1,5" plate\n');
      await conn.run(`COPY (SELECT * FROM read_csv('${join(dir, 'clean.csv')}')) TO '${join(dir, 't.parquet')}'`);
      await conn.run(`COPY (SELECT * FROM read_csv('${join(dir, 'clean.csv')}')) TO '${join(dir, 't.csv.gz')}'`);
      const numbered = async (file: string): Promise<string[][] | null> => {
        const t = await openTableReader(conn, join(dir, file), { tmpDir: dir });
        const r = await t.numbered().result;
        if (!r) return null;
        const rows = await conn.runAndReadAll(`SELECT ${r.column}::VARCHAR, b FROM ${r.reader}`);
        return rows.getRows().map((row) => row.map(String));
      };
      const expected = [
        ['1', 'x'],
        ['2', 'y'],
      ];
      assert.deepEqual(await numbered('clean.csv'), expected);
      assert.deepEqual(await numbered('t.parquet'), expected);
      assert.equal(await numbered('odd.csv'), null);
      assert.equal(await numbered('t.csv.gz'), null);
    } finally {
      conn.closeSync();
      inst.closeSync();
    }
  });
});
