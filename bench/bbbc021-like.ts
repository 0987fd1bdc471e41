// A synthetic BBBC021-like corpus for the build benches: 3-channel 1280×1024 16-bit TIFF sets
// (tiled seeded noise plus nuclei-like blobs), a catalog and a labels folder sized like the real
// release (one label at the cap → 1 crop per image, one at 60 % → 2, one at 40 % → 3).
// `distinct` < `sets` makes catalog rows reuse the same files (more jobs, less disk).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../src/util/rng.js';
import { catalogFingerprint } from '../src/catalog/fingerprint.js';
import { writeCatalog, writeLabels, type FixtureRow } from '../test/release/fixture.js';

export const W = 1280;
export const H = 1024;

/** A 16-bit fluorescence-like channel: tiled seeded noise, a few bright nuclei-like blobs. */
async function channel(path: string, noise: Uint16Array, set: number, ch: number): Promise<void> {
  const rng = Rng.derive(0, 'bench-build', set, ch);
  const px = new Uint16Array(W * H);
  const ox = rng.int(0, 255);
  const oy = rng.int(0, 255);
  for (let y = 0; y < H; y++) {
    const row = ((y + oy) & 255) * 256;
    for (let x = 0; x < W; x++) px[y * W + x] = 400 + noise[row + ((x + ox) & 255)];
  }
  for (let b = 0; b < 40; b++) {
    const cx = rng.int(0, W - 1);
    const cy = rng.int(0, H - 1);
    const r = 8 + rng.int(0, 16);
    const amp = 2000 + rng.int(0, 20000);
    for (let y = Math.max(0, cy - r); y < Math.min(H, cy + r); y++) {
      for (let x = Math.max(0, cx - r); x < Math.min(W, cx + r); x++) {
        const d2 = (x - cx) ** 2 + (y - cy) ** 2;
        if (d2 < r * r) px[y * W + x] = Math.min(65535, px[y * W + x] + Math.round(amp * (1 - d2 / (r * r))));
      }
    }
  }
  await sharp(px, { raw: { width: W, height: H, channels: 1 } })
    .toColourspace('grey16')
    .tiff({ compression: 'none' })
    .toFile(path);
}

export interface Bbbc021Like {
  catalog: string;
  labels: string;
  /** Each distinct set's absolute channel files. */
  sets: string[][];
  /** Image sets per label, and the cap. */
  sizes: number[];
  cap: number;
}

export async function makeBbbc021Like(dir: string, nSets: number, distinct = nSets): Promise<Bbbc021Like> {
  const images = join(dir, 'images');
  await mkdir(images, { recursive: true });
  const nr = Rng.derive(0, 'bench-noise');
  const noise = new Uint16Array(256 * 256).map(() => nr.int(0, 1200));
  const sets: string[][] = [];
  const names: string[][] = [];
  for (let i = 0; i < Math.min(distinct, nSets); i++) {
    const files: string[] = [];
    for (let ch = 0; ch < 3; ch++) {
      const f = `set${String(i).padStart(4, '0')}_w${ch + 1}.tif`;
      await channel(join(images, f), noise, i, ch);
      files.push(f);
    }
    names.push(files);
    sets.push(files.map((f) => join(images, f)));
  }
  const cap = Math.max(1, Math.round(nSets / 2));
  const sizes = [cap, Math.round(cap * 0.6)];
  sizes.push(nSets - sizes[0] - sizes[1]);
  const rows: FixtureRow[] = [];
  for (let i = 0; i < nSets; i++) {
    const label = i < sizes[0] ? 'compound a' : i < sizes[0] + sizes[1] ? 'compound b' : 'compound c';
    rows.push({ idx: `synth-${i}`, label, category: 'compound', dir_name: 'synth', files: names[i % names.length] });
  }
  const catalog = join(dir, 'catalog.duckdb');
  await writeCatalog(catalog, rows, images);
  const labels = join(dir, 'labels');
  await writeLabels(labels, rows, await catalogFingerprint(catalog), cap);
  return { catalog, labels, sets, sizes, cap };
}
