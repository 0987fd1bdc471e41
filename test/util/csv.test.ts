// Every CSV field the project writes reads back as the same string, by csv-parse and by DuckDB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parse } from 'csv-parse/sync';
import { csvField, csvTable } from '../../src/util/csv.js';
import { sqlString } from '../../src/util/sql.js';

const AWKWARD = [
  ' foo',
  'bar ',
  '  ',
  'a\rb',
  'a\r\nb',
  'line\nbreak',
  'say "hi"',
  '"',
  'x,y',
  '',
  'plain',
  "it's",
  'Ünïcode µM',
];

test('csvField round-trips leading and trailing spaces, CR, LF, quotes and commas (RFC 4180)', async () => {
  const rows = AWKWARD.map((v, i) => [String(i), v]);
  const text = csvTable(['i', 'value'], rows);
  assert.deepEqual(
    parse(text, { columns: true }),
    rows.map(([i, value]) => ({ i, value })),
  );
  // trim: true is what a careless reader does; quoted edge spaces survive it
  assert.deepEqual(
    (parse(text, { columns: true, trim: true }) as { value: string }[]).map((r) => r.value),
    AWKWARD,
  );
  const dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-csv-'));
  try {
    const file = join(dir, 't.csv');
    await writeFile(file, text);
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const read = await conn.runAndReadAll(
      `SELECT value FROM read_csv(${sqlString(file)}, header = true, all_varchar = true, quote = '"', escape = '"') ORDER BY i::INTEGER`,
    );
    assert.deepEqual(
      read.getRowObjects().map((r) => r.value ?? ''),
      AWKWARD,
    );
    conn.closeSync();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(csvField(null), '');
  assert.equal(csvField(3.5), '3.5');
});
