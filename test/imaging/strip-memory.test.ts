// Memory of a huge image set: the per-image executor reads it in bands from spill files
// (src/imaging/spill-rows.ts), so what a process holds grows with the band budget and the pixels it
// releases, not with the decoded image. Measured in child processes (their own peak resident
// memory, reset after a warm-up), once through the strip path and once decoded whole in memory
// (the path every set took before), on the same synthetic RGB PNG: the bound of docs/imaging.md
// must hold for the first and fail for the second, so the measurement tells the two apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { join } from 'node:path';
import { withTempDir } from '../helpers/data.js';

const SIDE = 5000;
const STRIP_BYTES = 1 << 20;

const child = `
import { readFileSync, writeFileSync } from 'node:fs';
const [sharpUrl, imagingUrl, outputsUrl, rngUrl, big, small, mode, stripBytes] = process.argv.slice(1);
const sharp = (await import(sharpUrl)).default;
// as a build worker runs (src/release/worker.ts)
sharp.concurrency(1);
sharp.cache(false);
(await import(outputsUrl)).useTypedArrayOutputs();
const { processImageSet } = await import(imagingUrl);
const { Rng } = await import(rngUrl);
const opts = { labelSize: 1, cap: 1000, stripPixels: mode === 'strips' ? 0 : Infinity, stripBytes: Number(stripBytes) };
const bytes = (field) => Number(new RegExp(field + ':\\\\s+(\\\\d+)').exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
await processImageSet([small], { ...opts, rng: Rng.derive(0, 'warm-up') });
globalThis.gc();
let reset = true;
try { writeFileSync('/proc/self/clear_refs', '5'); } catch { reset = false; }
const rest = bytes('VmRSS');
const r = await processImageSet([big], { ...opts, rng: Rng.derive(0, 'big') });
const released = r.whole !== null ? r.whole.length : r.crops.reduce((s, c) => s + c.output.length, 0);
process.stdout.write(JSON.stringify({ path: r.path, verdict: r.qc.verdict, grown: bytes('VmHWM') - rest, released, reset }));
`;

function measure(
  big: string,
  small: string,
  mode: 'strips' | 'memory',
): { path: string; verdict: string; grown: number; released: number; reset: boolean } {
  const urls = [
    import.meta.resolve('sharp'),
    new URL('../../src/imaging/image-set.js', import.meta.url).href,
    new URL('../../src/imaging/sharp-output.js', import.meta.url).href,
    new URL('../../src/util/rng.js', import.meta.url).href,
  ];
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', child, ...urls, big, small, mode, String(STRIP_BYTES)],
    { encoding: 'utf8', timeout: 300_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function rgbPng(path: string, side: number): Promise<void> {
  // cells (bright blocks) on a noisy background: every crop passes QC, as microscopy does
  const px = Buffer.alloc(side * side * 3);
  let s = 1;
  for (let i = 0; i < px.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const p = (i / 3) | 0;
    const x = p % side;
    const y = (p / side) | 0;
    px[i] = 30 + ((s >>> 24) & 31) + (((x >> 5) + (y >> 5)) % 4 === 0 ? 150 : 0);
  }
  await sharp(px, { raw: { width: side, height: side, channels: 3 }, limitInputPixels: false })
    .png()
    .toFile(path);
}

test(`a ${SIDE}² RGB set read in bands stays within released pixels + 16 bands + 32 MiB; decoded whole it does not`, {
  skip: process.platform !== 'linux' && 'reads peak resident memory from /proc',
}, async (t) => {
  await withTempDir(async (dir) => {
    const big = join(dir, 'big.png');
    const small = join(dir, 'small.png');
    await rgbPng(big, SIDE);
    await rgbPng(small, 200);
    const strips = measure(big, small, 'strips');
    const whole = measure(big, small, 'memory');
    assert.deepEqual([strips.path, strips.verdict, whole.path, whole.verdict], ['strips', 'ok', 'fast', 'ok']);
    // the bound docs/imaging.md states for the strip path
    const bound = strips.released + 16 * STRIP_BYTES + 32 * 2 ** 20;
    const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
    const said = `read in bands: grew ${mib(strips.grown)}; decoded whole: grew ${mib(whole.grown)}; bound ${mib(bound)}`;
    t.diagnostic(said);
    assert.ok(strips.grown <= bound, said);
    // the image decoded whole (3 bytes a pixel, twice over with sharp's copy) is well over it
    assert.ok(whole.grown > bound, said);
  });
});
