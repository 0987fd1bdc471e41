// A tiny release folder made in the test: a few labels of rotation-invariant, class-dependent
// patterns (so the spec's 0–360° augmentation cannot hide the class), as 8-bit gray PNGs with the
// release's metadata.csv (label, dset, path, filename).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../src/util/rng.js';

export const SYNTHETIC_LABELS = ['dots', 'flat-bright', 'rings', 'speckle'] as const;

function pattern(label: string, size: number, rng: Rng): Uint8Array {
  const img = new Uint8Array(size * size);
  const cx = size / 2 + (rng.float() - 0.5) * size * 0.2;
  const cy = size / 2 + (rng.float() - 0.5) * size * 0.2;
  const period = 6 + rng.float() * 2;
  const dots = Array.from({ length: 6 }, () => [rng.float() * size, rng.float() * size]);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const noise = (rng.float() - 0.5) * 20;
      let v: number;
      if (label === 'dots') {
        v = 25;
        for (const [dx, dy] of dots) if ((x - dx) ** 2 + (y - dy) ** 2 < 9) v = 230;
      } else if (label === 'flat-bright') {
        v = 170;
      } else if (label === 'rings') {
        v = 120 + 100 * Math.sin((2 * Math.PI * Math.hypot(x - cx, y - cy)) / period);
      } else {
        v = rng.float() < 0.5 ? 40 : 140;
      }
      img[y * size + x] = Math.max(0, Math.min(255, Math.round(v + noise)));
    }
  }
  return img;
}

/** Write the release; returns its folder. */
export async function makeSyntheticRelease(
  dir: string,
  opts: { perLabelTrain: number; perLabelVal: number; size: number; seed?: number },
): Promise<string> {
  const rows = ['label,category,dset,path,filename'];
  for (const label of SYNTHETIC_LABELS) {
    await mkdir(join(dir, label), { recursive: true });
    const total = opts.perLabelTrain + opts.perLabelVal;
    for (let i = 0; i < total; i++) {
      const rng = Rng.derive(opts.seed ?? 1, 'synthetic', label, i);
      const filename = `${label}-${String(i).padStart(4, '0')}.png`;
      const png = await sharp(Buffer.from(pattern(label, opts.size, rng)), {
        raw: { width: opts.size, height: opts.size, channels: 1 },
      })
        .png()
        .toBuffer();
      await writeFile(join(dir, label, filename), png);
      rows.push(`${label},phenotype,${i < opts.perLabelTrain ? 'train' : 'val'},${label},${filename}`);
    }
  }
  await writeFile(join(dir, 'metadata.csv'), `${rows.join('\n')}\n`);
  return dir;
}
