import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePattern, groupFiles } from '../../src/sources/file-pattern.js';

test('channel files group into one image, in the given channel order; absent channels get their expected name', () => {
  const p = compilePattern('{plate}/{stem}_w{channel}.tif', ['1', '2', '3']);
  const files = ['P1/a_w2.tif', 'P1/a_w1.tif', 'P1/a_w3.tif', 'P1/b_w1.tif', 'P1/b_w3.tif', 'P1/notes.txt'];
  const r = groupFiles(p, files, '{plate}/{stem}', ['1', '2', '3']);
  assert.equal(r.unmatched, 1);
  assert.deepEqual(
    r.groups.map((g) => [g.key, g.files, g.complete]),
    [
      ['P1/a', ['P1/a_w1.tif', 'P1/a_w2.tif', 'P1/a_w3.tif'], true],
      ['P1/b', ['P1/b_w1.tif', 'P1/b_w2.tif', 'P1/b_w3.tif'], false],
    ],
  );
});

test('patterns without {channel} give one image per file; bad patterns are refused', () => {
  const p = compilePattern('{label}/{stem}.png');
  const r = groupFiles(p, ['mitosis/x.png', 'interphase/y.png', 'deep/er/z.png'], '{label}/{stem}');
  assert.deepEqual(
    r.groups.map((g) => g.values.label),
    ['interphase', 'mitosis'],
  );
  assert.equal(r.unmatched, 1, 'a placeholder stays inside one folder level');
  assert.throws(() => compilePattern('plain.png'), /placeholder/);
  assert.throws(() => compilePattern('{a}_{a}.png'), /twice/);
});

test('patterns: {{ and }} are literal braces; a field that is not a name, or has a format spec, is refused', () => {
  const p = compilePattern('{{raw}}_{stem}.png');
  assert.deepEqual(
    groupFiles(p, ['{raw}_a.png', 'raw_b.png'], '{stem}').groups.map((g) => g.key),
    ['a'],
  );
  assert.throws(() => compilePattern('{plate name}/{stem}.png'), /\{plate name\} names no column or placeholder/);
  assert.throws(() => compilePattern('{stem:05}.png'), /format specs belong in templates/);
  assert.throws(() => compilePattern('{stem.png'), /never closed/);
});
