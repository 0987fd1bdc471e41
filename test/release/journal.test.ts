import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Journal } from '../../src/release/journal.js';
import type { JobOk } from '../../src/release/types.js';
import { withTempDir } from '../helpers/data.js';

const ok = (key: string): JobOk => ({
  key,
  ok: true,
  width: 10,
  height: 10,
  samples: [
    { j: 0, crop: false, scaling: 1, x_min: null, x_max: null, y_min: null, y_max: null, staged: `${key}-0.png` },
  ],
  cropsPlanned: 0,
  cropsRejected: 0,
});

test('the journal survives a torn last line: complete lines load, the torn one is cut, appends go on cleanly', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'journal.jsonl');
    const j = new Journal(path);
    j.append(ok('a'));
    j.append({ key: 'b', ok: false, stage: 'read', reason: 'missing-file', detail: 'x: file not found' });
    j.close();
    const full = readFileSync(path, 'utf8');
    // A kill in the middle of a write leaves half a line.
    appendFileSync(path, JSON.stringify(ok('c')).slice(0, 25));
    const j2 = new Journal(path);
    const loaded = j2.load();
    assert.deepEqual([...loaded.keys()], ['a', 'b']);
    assert.equal(readFileSync(path, 'utf8'), full, 'the torn line was cut off');
    j2.append(ok('c'));
    j2.close();
    assert.deepEqual([...new Journal(path).load().keys()], ['a', 'b', 'c']);
    // A later line for the same job (a re-run) replaces the earlier one.
    const j3 = new Journal(path);
    j3.append({ ...ok('a'), width: 99 });
    j3.close();
    const again = new Journal(path).load();
    assert.equal(again.size, 3);
    assert.equal((again.get('a') as JobOk).width, 99);
    // Garbage in the middle stops loading there (nothing after it is trusted).
    writeFileSync(path, `${JSON.stringify(ok('x'))}\nnot json\n${JSON.stringify(ok('y'))}\n`);
    assert.deepEqual([...new Journal(path).load().keys()], ['x']);
  });
});
