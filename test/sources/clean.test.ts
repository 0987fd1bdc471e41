import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanValue } from '../../src/catalog/clean.js';
import { loadSynonymRules, parseSynonymCsv } from '../../src/catalog/synonyms.js';
import { UserError } from '../../src/util/errors.js';

const rules = loadSynonymRules();

test("' targeted' is appended to EACH gene token (the original appended it once per cell)", () => {
  assert.equal(cleanValue('gene', 'MCL1|CHR2', rules), 'mcl1 targeted|chr2 targeted');
  assert.equal(cleanValue('gene', 'rab5 targeted', rules), 'rab5 targeted');
  assert.equal(cleanValue('gene', 'empty', rules), null);
});

test('shipped synonyms: u2os spellings, organisms, white blood cells, GPCR', () => {
  assert.equal(cleanValue('cell_type', 'U-2 OS', rules), 'u2os');
  assert.equal(cleanValue('cell_type', 'u2-os', rules), 'u2os');
  assert.equal(cleanValue('organism', 'Homo sapiens', rules), 'human');
  assert.equal(cleanValue('organism', 'Mus musculus', rules), 'mouse');
  assert.equal(cleanValue('cell_type', 'white blood cell (neutrophil)', rules), 'white blood cell');
  assert.equal(cleanValue('cell_type', 'Neutrophil', rules), 'white blood cell');
  assert.equal(cleanValue('cell_visible', 'GPCR', rules), 'cell membrane');
  assert.equal(cleanValue('cell_visible', 'nuclei|Actin', rules), 'nucleus|actin');
});

test("list literals, '*' in phenotypes, '(?)' in microscopy, empty and repeated tokens", () => {
  assert.equal(cleanValue('channels', "['f_nucleus', 'f_protein']", rules), 'f_nucleus|f_protein');
  assert.equal(cleanValue('phenotype', 'A*B', rules), 'a -- b');
  assert.equal(cleanValue('microscopy', 'fluorescence (?)', rules), 'fluorescence');
  assert.equal(cleanValue('cell_visible', ' Nucleus | |nucleus|nan ', rules), 'nucleus');
  assert.equal(cleanValue('compound', '', rules), null);
  assert.equal(cleanValue('compound', null, rules), null);
});

test('a user synonym file extends the table; bad rows name their line and column', () => {
  const user = parseSynonymCsv('column,match,from,to\ncell_type,exact,hela s3,hela\n', 'user.csv');
  assert.equal(cleanValue('cell_type', 'HeLa S3', [...rules, ...user]), 'hela');
  assert.throws(
    () => parseSynonymCsv('column,match,from,to\ncell_type,fuzzy,a,b\n', 'user.csv'),
    (e: unknown) =>
      e instanceof UserError &&
      e.location.line === 2 &&
      e.location.column === 'match' &&
      /exact, contains or replace/.test(e.format()),
  );
  assert.throws(
    () => parseSynonymCsv('column,from,to\n', 'u.csv'),
    (e: unknown) => e instanceof UserError && /missing column 'match'/.test(e.message),
  );
});
