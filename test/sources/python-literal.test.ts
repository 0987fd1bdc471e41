import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePythonLiteral } from '../../src/sources/python-literal.js';
import { readDatasetsInfo } from '../../src/sources/datasets-info.js';
import { sharedPath } from '../helpers/data.js';

test('Python literals as the original wrote them', () => {
  assert.deepEqual(parsePythonLiteral("['red blood cell', \"it's\", 3, 2.5, None]"), [
    'red blood cell',
    "it's",
    3,
    2.5,
    null,
  ]);
  assert.deepEqual(parsePythonLiteral('[]'), []);
  assert.throws(() => parsePythonLiteral("['a', 'b'"));
});

test('datasets_info.csv: 63 datasets, list literals parsed, the 1-MB rxrx19b field intact', () => {
  const infos = readDatasetsInfo(sharedPath('metadata', 'cytoimagenet', 'datasets_info.csv'));
  assert.equal(infos.length, 63);
  const blood = infos.find((i) => i.dir_name === 'kag_blood_cell');
  assert.ok(blood);
  assert.deepEqual(blood.fields.class_sizes, ['410', '3125', '3125', '3125', '3125']);
  assert.equal(blood.fields.cell_type[0], 'red blood cell');
  const rx = infos.find((i) => i.dir_name === 'rec_rxrx19b');
  assert.ok(rx);
  assert.ok(rx.fields.phenotype.length > 1000, `rxrx19b phenotype items: ${rx.fields.phenotype.length}`);
  assert.ok(rx.fields.phenotype.join('|').length > 500_000);
});
