// The README's main job: `cytoimagenet demo --out DIR` on a fresh folder, through the real binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, withTempDir } from '../helpers/data.js';

function parseCsv(text: string): Record<string, string>[] {
  // The release's CSV quotes only fields with commas/quotes; the demo's fields have neither.
  const [head, ...lines] = text.trimEnd().split('\n');
  const cols = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

test('demo runs ingest → labels → build → features → evaluate and leaves a complete, consistent release', async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, 'demo-out');
    const r = spawnSync(process.execPath, [CLI, 'demo', '--out', out, '--no-progress'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `demo failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /dataset card: .*README\.md/);

    // Every stage's files are where its own command would write them.
    for (const f of [
      'catalog.duckdb',
      'describe/categories.csv',
      'labels/labels.csv',
      'labels/assignments.csv',
      'labels/labels.json',
    ]) {
      assert.ok(existsSync(join(out, f)), `missing ${f}`);
    }
    const release = join(out, 'release');
    for (const f of ['metadata.csv', 'metadata.parquet', 'rejects.csv', 'README.md'])
      assert.ok(existsSync(join(release, f)), `missing release/${f}`);

    const rows = parseCsv(readFileSync(join(release, 'metadata.csv'), 'utf8'));
    assert.ok(rows.length > 300, `only ${rows.length} images released`);
    const labels = new Set(rows.map((r) => r.label));
    assert.ok(labels.size >= 5, `only ${labels.size} labels`);
    // Each metadata row names a real PNG; each PNG in a label folder is in the metadata.
    const named = new Set(rows.map((r) => join(r.path, r.filename)));
    assert.equal(named.size, rows.length, 'file names must be unique');
    for (const p of named) assert.ok(statSync(join(release, p)).size > 0, p);
    const onDisk = readdirSync(release, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((d) =>
        readdirSync(join(release, d.name))
          .filter((f) => f.endsWith('.png'))
          .map((f) => join(d.name, f)),
      );
    assert.deepEqual(onDisk.sort(), [...named].sort());
    // The spec's rules, scaled down for the demo: labels between min-release and cap, 90/10 split.
    const perLabel = new Map<string, number>();
    for (const r of rows) perLabel.set(r.label, (perLabel.get(r.label) ?? 0) + 1);
    for (const [label, n] of perLabel) assert.ok(n >= 50 && n <= 80, `${label}: ${n} images`);
    const val = rows.filter((r) => r.dset === 'val').length;
    assert.ok(val > 0.05 * rows.length && val < 0.15 * rows.length, `${val} val of ${rows.length}`);
    // All three demo sources reach the catalog; the card credits them.
    const card = readFileSync(join(release, 'README.md'), 'utf8');
    assert.match(card, /licence/i);
    assert.ok(new Set(rows.map((r) => r.dir_name)).size >= 2);

    // The transfer protocol ran on the demo's COOS-7-shaped set: 4 classes, so chance is 25 %.
    const results = JSON.parse(readFileSync(join(out, 'evaluate', 'results.json'), 'utf8')) as {
      coos7: { test1: { correct: number; total: number; accuracy: number; ci95: number } };
    };
    const t1 = results.coos7.test1;
    assert.equal(t1.total, 80);
    assert.ok(t1.accuracy > 0.4, `test1 accuracy ${t1.accuracy}`);
    assert.ok(Math.abs(t1.ci95 - 1.96 * Math.sqrt((t1.accuracy * (1 - t1.accuracy)) / t1.total)) < 1e-12);
    assert.match(readFileSync(join(out, 'evaluate', 'table2.md'), 'utf8'), /COOS-7 test 1/);

    // The report of the release, and the demo says where to open it.
    const index = join(out, 'report', 'index.html');
    assert.ok(r.stdout.includes(`report:       ${index}`), 'the demo prints where index.html is');
    for (const d of new Set(rows.map((x) => x.path)))
      assert.ok(existsSync(join(out, 'report', 'labels', `${d}.html`)), `no page for ${d}`);
    for (const f of ['mosaic.png', 'umap.png', 'umap.csv']) assert.ok(existsSync(join(out, 'report', f)), f);
  });
});
