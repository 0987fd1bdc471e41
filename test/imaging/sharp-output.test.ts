// sharp 0.35.5's toUint8Array() never frees libvips's output (src/imaging/sharp-output.ts): a
// process that reads images through it grows by one decoded image per read. Only build workers,
// which are replaced once they grow (BUILD.workerRetireMb), may use it; the features extractor, the
// report and the training loader read hundreds of thousands of images in one process, so their
// memory must stay flat. Each path reads one 16-bit TIFF (0.7 MB of pixels) hundreds of times in
// a child process; a leak would add ~280 MB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./decode-memory-child.js', import.meta.url));
const LEAK_BOUND_MB = 80;

function growthMb(mode: string, count: number): number {
  const out = execFileSync(process.execPath, ['--expose-gc', CHILD, mode, String(count)], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  return (JSON.parse(out.trim().split('\n').at(-1) as string) as { growthMb: number }).growthMb;
}

test('features, report and training loader: memory stays flat over hundreds of decodes', () => {
  for (const [mode, count] of [
    ['features', 400],
    ['report', 130],
    ['train', 400],
  ] as const) {
    const g = growthMb(mode, count);
    assert.ok(g < LEAK_BOUND_MB, `${mode}: resident memory grew ${g.toFixed(0)} MB over ${count} reads`);
  }
});

test('the typed-array outputs a build worker uses do leak (what its retirement is for): the bound above detects it', () => {
  const g = growthMb('typed', 400);
  assert.ok(g > 2 * LEAK_BOUND_MB, `typed arrays: grew ${g.toFixed(0)} MB over 400 reads`);
});
