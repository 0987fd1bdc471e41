import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, sharedPath, withTempDir } from '../helpers/data.js';
import { decodeImage, standardizeImageSet } from '../../src/imaging/index.js';

const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, 'standardize', ...args]);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

const DAPI = sharedPath('images/cellprofiler_examples/ExampleSpeckles/images/1-162hrhoe2.tif');
const H2AX = sharedPath('images/cellprofiler_examples/ExampleSpeckles/images/1-162hrh2ax2.tif');

test('standardize merges the channel files into one 8-bit gray PNG equal to the library result', async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, 'sub', 'merged.png');
    const r = await cli([H2AX, DAPI, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1200×1000, 8-bit, 2 channels/);
    const png = await decodeImage(out);
    assert.deepEqual([png.format, png.channels, png.bitDepth], ['png', 1, 8]);
    const lib = await standardizeImageSet([H2AX, DAPI]);
    assert.deepEqual(png.data, lib.output);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['merged.png'], 'no temporary files left behind');
  });
});

test('--page picks a page of a multi-page TIFF; --bit-depth 16 writes 16-bit', async () => {
  await withTempDir(async (dir) => {
    const stack = sharedPath('images/fret_ibra_examples/examples/YC_3_sub/YC_3_sub_ratio_back.tif');
    const p0 = join(dir, 'p0.png'),
      p7 = join(dir, 'p7.png'),
      s16 = join(dir, 's16.png');
    assert.equal((await cli([stack, '--out', p0])).code, 0);
    assert.equal((await cli([stack, '--out', p7, '--page', '7'])).code, 0);
    assert.notDeepEqual(readFileSync(p0), readFileSync(p7));
    const lib7 = await standardizeImageSet([stack], { page: 7 });
    assert.deepEqual((await decodeImage(p7)).data, lib7.output);
    const past = await cli([stack, '--out', join(dir, 'x.png'), '--page', '100']);
    assert.equal(past.code, 1);
    assert.match(past.stderr, /page 100 requested but the file has 100 pages/);
    assert.equal((await cli([DAPI, '--out', s16, '--bit-depth', '16'])).code, 0);
    assert.equal((await decodeImage(s16)).bitDepth, 16);
  });
});

test('unreadable, truncated, not-an-image, empty and uniform inputs exit non-zero, name the file and reason, write nothing', async () => {
  await withTempDir(async (dir) => {
    const tif = readFileSync(
      sharedPath('images/cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00d2.tif'),
    );
    const cases: Array<[string, Buffer | string, RegExp]> = [
      ['truncated.tif', tif.subarray(0, 150_000), /truncated: pixel data runs past the end of the file/],
      ['notes.png', 'plain text, not an image\n', /not-an-image/],
      ['empty.tif', Buffer.alloc(0), /empty: the file is empty/],
      ['header-only.tif', tif.subarray(0, 8), /truncated: the file ends/],
    ];
    for (const [name, bytes, reason] of cases) {
      const input = join(dir, name);
      await writeFile(input, bytes);
      const out = join(dir, `out-${name}.png`);
      const r = await cli([DAPI, input, '--out', out]);
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assert.ok(r.stderr.includes(input), `${name}: message names the file: ${r.stderr}`);
      assert.match(r.stderr, reason);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(existsSync(out), false, `${name}: no output`);
    }
    const uniform = join(dir, 'uniform.png');
    const sharp = (await import('sharp')).default;
    await writeFile(
      uniform,
      await sharp(Buffer.alloc(100 * 100, 42), { raw: { width: 100, height: 100, channels: 1 } })
        .png()
        .toBuffer(),
    );
    const r = await cli([uniform, '--out', join(dir, 'u.png')]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /uniform\.png: cannot standardise: uniform image \(0\.1th percentile 42 = 99\.9th percentile 42\)/,
    );
    assert.equal(existsSync(join(dir, 'u.png')), false);
    const missing = await cli([join(dir, 'nope.tif'), '--out', join(dir, 'n.png')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.tif.*file not found/);
  });
});

test('the output may never be one of the inputs (sources are never overwritten)', async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, 'a.tif');
    const bytes = readFileSync(DAPI);
    await writeFile(input, bytes);
    const r = await cli([input, '--out', input]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to overwrite an input image/);
    assert.ok(readFileSync(input).equals(bytes));
  });
});

test('bad options are reported as sentences', async () => {
  const r = await cli([DAPI, '--out', '/tmp/x.png', '--page', 'two']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--page must be a whole number/);
});
