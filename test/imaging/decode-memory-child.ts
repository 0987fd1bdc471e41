// Child process of sharp-output.test.ts: reads one real 16-bit TIFF many times through the path a
// long-lived process uses, and prints how much its resident memory grew after a warm-up. Without
// arguments it does nothing, so the test runner can load it harmlessly.
//   node --expose-gc decode-memory-child.js features|report|train|typed N
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeChannel } from '../../src/features/preprocess.js';
import { decodeImage, encodePng, useTypedArrayOutputs } from '../../src/imaging/index.js';
import { sourceImage } from '../../src/report/tiles.js';
import { loadPlane } from '../../src/train/pipeline.js';
import { sharedPath } from '../helpers/data.js';

async function measure(mode: string, count: number): Promise<void> {
  const tif = sharedPath(
    'images',
    'bbbc022',
    'BBBC022_v1_images_20585w1',
    'IXMtest_A01_s2_w1AA6B1894-F561-42EE-9D1D-E21E5C741B75.tif',
  );
  if (mode === 'typed') useTypedArrayOutputs(); // as a build worker: the leak the others must not have
  // The training loader reads a release's PNGs: the same pixels as one.
  const dir = mkdtempSync(join(tmpdir(), 'cytoimagenet-decode-memory-'));
  const png = join(dir, 'release.png');
  const img = await decodeImage(tif);
  writeFileSync(png, await encodePng(img.data as Uint16Array, img.width, img.height));

  const once = async (): Promise<void> => {
    if (mode === 'report') {
      const r = await sourceImage([tif, tif, tif]); // a source set's thumbnail, as on a label page
      if ('problem' in r) throw new Error(r.problem);
    } else if (mode === 'train') await loadPlane(png, 224);
    else await decodeChannel(tif); // features (and 'typed'): one channel file of an image set
  };

  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const settle = async (): Promise<number> => {
    gc();
    await new Promise((r) => setTimeout(r, 20));
    gc();
    return process.memoryUsage.rss();
  };
  for (let i = 0; i < 30; i++) await once();
  const before = await settle();
  for (let i = 0; i < Number(count); i++) await once();
  const after = await settle();
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ mode, growthMb: (after - before) / 2 ** 20 })}\n`);
}

const [mode, count] = process.argv.slice(2);
if (mode) await measure(mode, Number(count));
