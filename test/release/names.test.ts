import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import {
  assignDirLabels,
  baseDirLabel,
  isAcceptableDirLabel,
  isSafeDirLabel,
  resolveDirLabels,
} from '../../src/labels/dir-label.js';
import { binaryWidth, imageFileName } from '../../src/release/binary-name.js';
import { capRows, valRows } from '../../src/release/cap-and-split.js';
import { compareNatural } from '../../src/util/stable-order.js';
import { isInside } from '../../src/util/safe-path.js';
import { Rng } from '../../src/util/rng.js';

test('dir_label keeps the original mapping for ordinary labels', () => {
  assert.equal(baseDirLabel('uv inactivated sars-cov-2'), 'uv_inactivated_sars-cov-2');
  assert.equal(baseDirLabel('x -- y'), 'x-y');
  assert.equal(baseDirLabel('white blood cell, neutrophil'), 'white_blood_cell__neutrophil');
  assert.equal(baseDirLabel('hpsi0513i-golb_2'), 'hpsi0513i-golb_2');
});

test('path-like and hostile labels become one safe folder directly inside OUT', () => {
  const out = '/data/release';
  for (const label of [
    '../x',
    'g1/s phase',
    '..',
    '.',
    '/',
    '',
    '   ',
    'a\u0000b',
    'tab\tnew\nline',
    '..\\..\\win',
    '.hidden',
    'con',
    'x'.repeat(400),
    '*?<>|:"',
    'β-catenin',
  ]) {
    const d = baseDirLabel(label);
    assert.ok(isSafeDirLabel(d), `${JSON.stringify(label)} → ${JSON.stringify(d)} is not safe`);
    assert.ok(
      isInside(out, resolve(out, d)) && resolve(out, d) !== resolve(out),
      `${JSON.stringify(label)} escapes OUT`,
    );
    assert.ok(!d.includes('/') && !d.includes('\\') && !d.startsWith('.') && d !== '', d);
  }
  assert.equal(baseDirLabel('g1/s phase'), 'g1-s_phase');
  assert.equal(baseDirLabel('β-catenin'), 'β-catenin');
});

test('folder names are unique: same token in two categories, and labels that map alike', () => {
  const keys = [
    { label: 'actin', category: 'cell_visible' },
    { label: 'actin', category: 'compound' },
    { label: 'g1/s phase', category: 'phenotype' },
    { label: 'g1-s phase', category: 'phenotype' },
    { label: 'Nucleus', category: 'cell_visible' },
    { label: 'nucleus', category: 'organism' },
    { label: 'human', category: 'organism' },
  ];
  const m = assignDirLabels(keys);
  const names = keys.map((k) => m.get(`${k.label}\u0000${k.category}`) as string);
  assert.equal(
    new Set(names.map((n) => n.toLowerCase())).size,
    keys.length,
    `not unique (case-insensitive): ${names.join(', ')}`,
  );
  assert.equal(m.get('actin\u0000cell_visible'), 'actin_cell_visible');
  assert.equal(m.get('actin\u0000compound'), 'actin_compound');
  assert.equal(m.get('human\u0000organism'), 'human', 'labels without collision keep the plain name');
  assert.ok(names.every(isSafeDirLabel));
  // Independent of input order.
  const again = assignDirLabels([...keys].reverse());
  assert.deepEqual([...again.entries()].sort(), [...m.entries()].sort());
});

test('binary file names are padded to the width of N−1, not N (the original padded to N)', () => {
  assert.equal(binaryWidth(1000), 10);
  assert.equal(binaryWidth(512), 9, '511 = 111111111 needs 9 digits');
  assert.equal(binaryWidth(513), 10);
  assert.equal(binaryWidth(1), 1);
  assert.equal(imageFileName('uv_inactivated_sars-cov-2', 5, 1000), 'uv_inactivated_sars-cov-2-0000000101.png');
  assert.equal(imageFileName('human', 511, 512), 'human-111111111.png');
  assert.throws(() => imageFileName('human', 512, 512), RangeError);
});

test('cap after cropping removes crops of images with several first, keeping every source image', () => {
  // 300 images × 4 crops, cap 1000 → 200 crops go, and no image loses all of its crops.
  const rows = Array.from({ length: 1200 }, (_, i) => ({ group: `img-${Math.floor(i / 4)}` }));
  const removed = capRows(rows, 1000, Rng.derive(0, 'cap', 'x'));
  assert.equal(removed.size, 200);
  const left = new Map<string, number>();
  rows.forEach((r, i) => {
    if (!removed.has(i)) left.set(r.group, (left.get(r.group) ?? 0) + 1);
  });
  assert.equal(left.size, 300);
  assert.ok(
    [...left.values()].every((n) => n >= 3),
    'one round removes at most one crop per image',
  );
  // Seeded: same seed same rows, other seed other rows.
  assert.deepEqual([...capRows(rows, 1000, Rng.derive(0, 'cap', 'x'))], [...removed]);
  assert.notDeepEqual([...capRows(rows, 1000, Rng.derive(1, 'cap', 'x'))].sort(), [...removed].sort());
  // When every image is down to one row, whole images go.
  const singles = Array.from({ length: 10 }, (_, i) => ({ group: `s${i}` }));
  assert.equal(capRows(singles, 7, Rng.derive(0, 'c')).size, 3);
  assert.equal(capRows(singles, 10, Rng.derive(0, 'c')).size, 0);
});

test('the 90/10 split is stratified per label and never splits the crops of one image', () => {
  const rows = Array.from({ length: 1000 }, (_, i) => ({ group: `img-${Math.floor(i / 2)}` }));
  const val = valRows(rows, 0.1, Rng.derive(0, 'split', 'x'));
  assert.equal(val.size, 100);
  for (let i = 0; i < rows.length; i += 2)
    assert.equal(val.has(i), val.has(i + 1), `crops of img-${i / 2} split across train/val`);
  assert.equal(valRows(rows.slice(0, 4), 0.1, Rng.derive(0, 's')).size, 0, 'round(0.4) = 0 images to val');
});

test('images are ordered naturally by source idx', () => {
  const ids = ['bbbc041-10', 'bbbc041-2', 'bbbc041-1', 'a-100', 'a-20'];
  assert.deepEqual([...ids].sort(compareNatural), ['a-20', 'a-100', 'bbbc041-1', 'bbbc041-2', 'bbbc041-10']);
});

test("the labels stage's dir_label is used as given when every one is safe and unique, else the build names all", () => {
  const keys = [
    { label: 'g1/s phase', category: 'phenotype' },
    { label: 'actin', category: 'cell_visible' },
    { label: 'actin', category: 'gene' },
  ];
  const given = new Map([
    ['g1/s phase\u0000phenotype', 'g1-s phase'],
    ['actin\u0000cell_visible', 'actin__cell_visible'],
    ['actin\u0000gene', 'actin__gene'],
  ]);
  assert.deepEqual([...resolveDirLabels(keys, given).values()], ['g1-s phase', 'actin__cell_visible', 'actin__gene']);
  for (const bad of [
    '../x',
    '..',
    '.hidden',
    'a/b',
    'a\\b',
    'tab\there',
    '',
    'metadata.csv',
    'Build.json',
    'shards',
    'README.md',
  ]) {
    assert.equal(isAcceptableDirLabel(bad), false, JSON.stringify(bad));
    const m = resolveDirLabels(keys, new Map([...given, ['actin\u0000gene', bad]]));
    assert.deepEqual(
      [...m.values()],
      ['g1-s_phase', 'actin_cell_visible', 'actin_gene'],
      `fallback for ${JSON.stringify(bad)}`,
    );
  }
  // Duplicates (case-insensitive) or a missing name also fall back.
  assert.deepEqual(
    [...resolveDirLabels(keys, new Map([...given, ['actin\u0000gene', 'ACTIN__cell_visible']])).values()],
    ['g1-s_phase', 'actin_cell_visible', 'actin_gene'],
  );
  assert.equal(resolveDirLabels(keys, new Map()).get('actin\u0000gene'), 'actin_gene');
  // A label named like one of the release's own files never takes its place.
  assert.equal(baseDirLabel('shards'), 'shards_');
  assert.equal(baseDirLabel('metadata.csv'), 'metadata.csv_');
});

test('long non-ASCII labels: folder and image names fit in 255 bytes with 2-, 3- and 4-byte characters, hash suffix kept', () => {
  const worst = (d: string): number => Buffer.byteLength(imageFileName(d, 2 ** 30 - 1, 2 ** 30));
  const labels = [
    'é'.repeat(150), // 2-byte
    '細胞'.repeat(45), // 3-byte
    '🧫'.repeat(70), // 4-byte (a surrogate pair in JS)
    `a${'é'.repeat(199)}`, // 200 characters, 399 bytes: the old character cap let it through
  ];
  for (const label of labels) {
    const d = baseDirLabel(label);
    assert.ok(Buffer.byteLength(d) <= 255, `${label.slice(0, 5)}… folder is ${Buffer.byteLength(d)} bytes`);
    assert.ok(worst(d) <= 255, `${label.slice(0, 5)}… image name is ${worst(d)} bytes`);
    assert.ok(
      d.length > 0 &&
        !d.includes('\ufffd') &&
        !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(d),
      'no character cut in half',
    );
    assert.ok(isSafeDirLabel(d));
  }
  // Two labels that differ only past the cut keep apart through the hash suffix, still in bytes.
  const keys = ['x', 'y'].map((tail) => ({ label: `${'細'.repeat(100)}${tail}`, category: 'gene' }));
  const names = [...assignDirLabels(keys).values()];
  assert.equal(new Set(names).size, 2);
  for (const n of names) {
    assert.match(n, /_[0-9a-f]{8}$/);
    assert.ok(worst(n) <= 255, `${Buffer.byteLength(n)} bytes`);
  }
  // A labels-stage name too long in bytes is not used as given.
  assert.equal(isAcceptableDirLabel('é'.repeat(150)), false);
});
