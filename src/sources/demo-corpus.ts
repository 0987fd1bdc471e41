// A small synthetic multi-source corpus for `cytoimagenet demo`: three sources shaped like real
// ones (a 3-channel 16-bit TIFF compound screen, RGB JPEG blood smears in folders per cell type,
// 8-bit PNG yeast cells with a gene table). Pixels are seeded and class-dependent, so a model can
// learn something from them; nothing is downloaded.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../util/rng.js';
import { csvTable } from '../util/csv.js';

export interface DemoCorpusOptions {
  /** Output folder; created. */
  dir: string;
  seed: number;
  /** Multiplies every class size (1 = the default demo). */
  scale?: number;
}

export interface DemoCorpus {
  root: string;
  /** Absolute paths of the catalog configs, one per source. */
  configs: string[];
  /** Image sets written, per source. */
  counts: Record<string, number>;
}

interface Blob {
  x: number;
  y: number;
  sigma: number;
  amp: number;
}

/** Gaussian blobs + a texture + noise: a cheap stand-in for a field of stained cells. */
function renderField(
  w: number,
  h: number,
  blobs: readonly Blob[],
  rng: Rng,
  opts: { background: number; noise: number; stripe?: { freq: number; angle: number; amp: number } },
): Float64Array {
  const img = new Float64Array(w * h).fill(opts.background);
  for (const b of blobs) {
    const r = Math.ceil(3 * b.sigma);
    const x0 = Math.max(0, Math.floor(b.x - r));
    const x1 = Math.min(w - 1, Math.ceil(b.x + r));
    const y0 = Math.max(0, Math.floor(b.y - r));
    const y1 = Math.min(h - 1, Math.ceil(b.y + r));
    const k = -1 / (2 * b.sigma * b.sigma);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const d2 = (x - b.x) ** 2 + (y - b.y) ** 2;
        img[y * w + x] += b.amp * Math.exp(d2 * k);
      }
    }
  }
  if (opts.stripe) {
    const { freq, angle, amp } = opts.stripe;
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) img[y * w + x] += amp * (0.5 + 0.5 * Math.sin(freq * (x * c + y * s)));
    }
  }
  for (let i = 0; i < img.length; i++) img[i] += opts.noise * (rng.float() - 0.5);
  return img;
}

function randomBlobs(
  rng: Rng,
  w: number,
  h: number,
  n: number,
  sigma: [number, number],
  amp: [number, number],
): Blob[] {
  return Array.from({ length: n }, () => ({
    x: rng.float() * w,
    y: rng.float() * h,
    sigma: sigma[0] + rng.float() * (sigma[1] - sigma[0]),
    amp: amp[0] + rng.float() * (amp[1] - amp[0]),
  }));
}

function toUint16(img: Float64Array): Uint16Array {
  const out = new Uint16Array(img.length);
  for (let i = 0; i < img.length; i++) out[i] = Math.max(0, Math.min(65535, Math.round(img[i])));
  return out;
}

function toUint8(img: Float64Array): Uint8Array {
  const out = new Uint8Array(img.length);
  for (let i = 0; i < img.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(img[i])));
  return out;
}

/** Compounds of the demo screen: class size and how the nuclei look under each. */
const COMPOUNDS = [
  { name: 'Taxol', moa: 'Microtubule stabilizers', n: 70, nuclei: 14, sigma: [3, 4] as [number, number], stripe: 0.35 },
  {
    name: 'Nocodazole',
    moa: 'Microtubule destabilizers',
    n: 66,
    nuclei: 22,
    sigma: [2, 3] as [number, number],
    stripe: 0.1,
  },
  {
    name: 'Cytochalasin B',
    moa: 'Actin disruptors',
    n: 62,
    nuclei: 10,
    sigma: [4, 6] as [number, number],
    stripe: 0.2,
  },
  { name: 'Etoposide', moa: 'DNA damage', n: 58, nuclei: 6, sigma: [6, 8] as [number, number], stripe: 0.25 },
  { name: 'DMSO', moa: '', n: 150, nuclei: 16, sigma: [3, 5] as [number, number], stripe: 0.15 },
] as const;

const BLOOD = [
  { folder: 'red blood cell', n: 70, cells: 40, sigma: [5, 6] as [number, number], tint: [200, 90, 90] },
  { folder: 'neutrophil', n: 50, cells: 6, sigma: [9, 12] as [number, number], tint: [120, 60, 170] },
  { folder: 'lymphocyte', n: 40, cells: 4, sigma: [7, 9] as [number, number], tint: [90, 60, 190] },
] as const;

const YEAST = [
  { gene: 'CDC28', visible: 'nucleus', n: 55, spots: 1, sigma: [3, 4] as [number, number] },
  { gene: 'ACT1', visible: 'actin|cytoplasm', n: 50, spots: 8, sigma: [1, 2] as [number, number] },
  { gene: 'NUP170', visible: 'nuclear periphery', n: 45, spots: 4, sigma: [1.5, 2] as [number, number] },
] as const;

const PLATES = ['Week1_22123', 'Week2_24121', 'Week3_25421'];
const SIDE_PAINT = 160;
const SIDE_BLOOD = 200;
const SIDE_YEAST = 96;

async function writeCellPaint(root: string, seed: number, scale: number): Promise<number> {
  const dir = join(root, 'demo_cellpaint');
  const rows: (string | number)[][] = [
    ['Image', 'Plate', 'Well', 'Site', 'Compound', 'Concentration', 'MoA', 'Cell Line', 'DAPI', 'Tubulin', 'Actin'],
  ];
  let count = 0;
  for (const c of COMPOUNDS) {
    const n = Math.max(1, Math.round(c.n * scale));
    for (let i = 0; i < n; i++) {
      const plate = PLATES[i % PLATES.length];
      const well = `${String.fromCharCode(66 + (i % 6))}${String(2 + (Math.floor(i / 6) % 10)).padStart(2, '0')}`;
      const site = 1 + Math.floor(i / 60);
      const id = `${c.name}-${i}`;
      const rng = Rng.derive(seed, 'demo_cellpaint', id);
      const w = SIDE_PAINT;
      const nuclei = randomBlobs(rng, w, w, c.nuclei, c.sigma, [1500, 2500]);
      const dapi = renderField(w, w, nuclei, rng, { background: 180, noise: 60 });
      const tub = renderField(
        w,
        w,
        nuclei.map((b) => ({ ...b, sigma: b.sigma * 2.2, amp: 600 })),
        rng,
        { background: 220, noise: 80, stripe: { freq: c.stripe, angle: rng.float() * Math.PI, amp: 500 } },
      );
      const act = renderField(w, w, randomBlobs(rng, w, w, c.nuclei * 3, [1.5, 2.5], [400, 900]), rng, {
        background: 150,
        noise: 50,
      });
      const stem = `${well}_s${site}_${c.name.replace(/\s+/g, '')}_${i}`;
      const files = ['w1', 'w2', 'w4'].map((ch) => `${plate}/${stem}_${ch}.tif`);
      await mkdir(join(dir, 'images', plate), { recursive: true });
      for (const [k, data] of [dapi, tub, act].entries()) {
        const buf = await sharp(toUint16(data), { raw: { width: w, height: w, channels: 1 } })
          .toColourspace('grey16')
          .tiff({ compression: 'lzw' })
          .toBuffer();
        await writeFile(join(dir, 'images', files[k]), buf);
      }
      rows.push([
        `${plate}/${stem}`,
        plate,
        well,
        site,
        c.name,
        c.name === 'DMSO' ? 0 : 1,
        c.moa,
        'U-2 OS',
        files[0],
        files[1],
        files[2],
      ]);
      count++;
    }
  }
  await writeFile(join(dir, 'metadata.csv'), csvTable(rows[0] as string[], rows.slice(1)));
  return count;
}

async function writeBlood(root: string, seed: number, scale: number): Promise<number> {
  const dir = join(root, 'demo_blood');
  let count = 0;
  for (const t of BLOOD) {
    const n = Math.max(1, Math.round(t.n * scale));
    await mkdir(join(dir, 'images', t.folder), { recursive: true });
    for (let i = 0; i < n; i++) {
      const rng = Rng.derive(seed, 'demo_blood', t.folder, i);
      const w = SIDE_BLOOD;
      const cells = randomBlobs(rng, w, w, t.cells, t.sigma, [0.6, 1]);
      const density = renderField(w, w, cells, rng, { background: 0, noise: 0.08 });
      const rgb = new Uint8Array(w * w * 3);
      for (let p = 0; p < w * w; p++) {
        const d = Math.min(1, Math.max(0, density[p]));
        for (let ch = 0; ch < 3; ch++) rgb[p * 3 + ch] = Math.round(235 - d * (235 - t.tint[ch]));
      }
      const buf = await sharp(rgb, { raw: { width: w, height: w, channels: 3 } })
        .jpeg({ quality: 90 })
        .toBuffer();
      await writeFile(join(dir, 'images', t.folder, `smear_${String(i).padStart(4, '0')}.jpg`), buf);
      count++;
    }
  }
  return count;
}

async function writeYeast(root: string, seed: number, scale: number): Promise<number> {
  const dir = join(root, 'demo_yeast');
  await mkdir(join(dir, 'images'), { recursive: true });
  const rows: (string | number)[][] = [['image', 'file', 'gene', 'localization', 'strain']];
  let count = 0;
  for (const g of YEAST) {
    const n = Math.max(1, Math.round(g.n * scale));
    for (let i = 0; i < n; i++) {
      const rng = Rng.derive(seed, 'demo_yeast', g.gene, i);
      const w = SIDE_YEAST;
      const cell = [{ x: w / 2 + (rng.float() - 0.5) * 10, y: w / 2 + (rng.float() - 0.5) * 10, sigma: 18, amp: 40 }];
      const spots = randomBlobs(rng, 40, 40, g.spots, g.sigma, [120, 180]).map((b) => ({
        ...b,
        x: b.x + w / 2 - 20,
        y: b.y + w / 2 - 20,
      }));
      const img = renderField(w, w, [...cell, ...spots], rng, { background: 12, noise: 10 });
      const stem = `${g.gene.toLowerCase()}_${String(i).padStart(4, '0')}`;
      const name = `${stem}.png`;
      await writeFile(
        join(dir, 'images', name),
        await sharp(toUint8(img), { raw: { width: w, height: w, channels: 1 } })
          .png()
          .toBuffer(),
      );
      rows.push([stem, name, g.gene, g.visible, 'BY4741']);
      count++;
    }
  }
  await writeFile(join(dir, 'metadata.csv'), csvTable(rows[0] as string[], rows.slice(1)));
  return count;
}

export async function writeDemoCorpus(opts: DemoCorpusOptions): Promise<DemoCorpus> {
  const scale = opts.scale ?? 1;
  await mkdir(opts.dir, { recursive: true });
  const counts: Record<string, number> = {
    demo_cellpaint: await writeCellPaint(opts.dir, opts.seed, scale),
    demo_blood: await writeBlood(opts.dir, opts.seed, scale),
    demo_yeast: await writeYeast(opts.dir, opts.seed, scale),
  };
  const configs = await writeDemoConfigs(opts.dir);
  return { root: opts.dir, configs, counts };
}

/** Catalog configs for the three demo sources (the generic declarative adapter). */
async function writeDemoConfigs(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const [name, cfg] of Object.entries(demoConfigs())) {
    const p = join(root, name, 'source.json');
    await writeFile(p, JSON.stringify(cfg, null, 2) + '\n');
    out.push(p);
  }
  return out;
}

// The generic adapter's format is documented in docs/catalog.md.
function demoConfigs(): Record<string, unknown> {
  return {
    demo_cellpaint: {
      adapter: 'generic',
      dir_name: 'demo_cellpaint',
      database: 'Demo',
      name: 'Synthetic compound screen (3-channel 16-bit TIFF)',
      licence: 'CC0-1.0',
      citation: 'cytoimagenet demo corpus (synthetic)',
      images: 'images',
      pattern: '{plate}/{stem}_w{channel}.tif',
      channels: ['1', '2', '4'],
      table: { path: 'metadata.csv', key: 'Image' },
      columns: { compound: 'Compound', phenotype: 'MoA', cell_type: 'Cell Line' },
      values: { organism: 'homo sapiens', microscopy: 'fluorescence', channels: 'f_nucleus|f_microtubules|f_actin' },
    },
    demo_blood: {
      adapter: 'generic',
      dir_name: 'demo_blood',
      database: 'Demo',
      name: 'Synthetic blood smears (RGB JPEG)',
      licence: 'CC0-1.0',
      citation: 'cytoimagenet demo corpus (synthetic)',
      images: 'images',
      pattern: '{label}/{stem}.jpg',
      values: { cell_type: '{label}', organism: 'human', microscopy: 'brightfield', channels: 'brightfield' },
    },
    demo_yeast: {
      adapter: 'generic',
      dir_name: 'demo_yeast',
      database: 'Demo',
      name: 'Synthetic yeast GFP cells (8-bit PNG)',
      licence: 'CC0-1.0',
      citation: 'cytoimagenet demo corpus (synthetic)',
      images: 'images',
      pattern: '{stem}.png',
      table: { path: 'metadata.csv', key: 'image' },
      columns: { gene: 'gene', cell_visible: 'localization' },
      values: { organism: 'yeast', microscopy: 'fluorescence', channels: 'f_protein' },
    },
  };
}

/** Protein localisation classes of the demo transfer task: where the tagged protein sits. */
const LOCALISATIONS = [
  { label: 'nucleus', spots: 1, sigma: [6, 7] as [number, number], ring: false, diffuse: 0 },
  { label: 'cytoplasm', spots: 0, sigma: [1, 1] as [number, number], ring: false, diffuse: 1 },
  { label: 'punctate', spots: 10, sigma: [1, 1.6] as [number, number], ring: false, diffuse: 0 },
  { label: 'nuclear_periphery', spots: 14, sigma: [1.2, 1.6] as [number, number], ring: true, diffuse: 0 },
] as const;

/**
 * A small COOS-7-shaped evaluation set (train/test1/<label>/<id>_protein.tif + _nucleus.tif, 64×64
 * 16-bit), so the demo can run `features` then `evaluate coos7` like on the downloaded benchmark.
 */
export async function writeDemoCoos7(dir: string, seed: number, perClass = { train: 40, test1: 20 }): Promise<string> {
  const w = 64;
  for (const [split, n] of Object.entries(perClass)) {
    for (const loc of LOCALISATIONS) {
      const folder = join(dir, split, loc.label);
      await mkdir(folder, { recursive: true });
      for (let i = 0; i < n; i++) {
        const rng = Rng.derive(seed, 'demo_coos7', split, loc.label, i);
        const cx = w / 2 + (rng.float() - 0.5) * 8;
        const cy = w / 2 + (rng.float() - 0.5) * 8;
        const nucleus = renderField(w, w, [{ x: cx, y: cy, sigma: 6, amp: 3000 }], rng, {
          background: 200,
          noise: 120,
        });
        const blobs: Blob[] = [{ x: cx, y: cy, sigma: 16, amp: 400 + 1600 * loc.diffuse }];
        if (loc.spots === 1) blobs.push({ x: cx, y: cy, sigma: loc.sigma[0] + rng.float(), amp: 2500 });
        else {
          for (let s = 0; s < loc.spots; s++) {
            const a = rng.float() * 2 * Math.PI;
            const r = loc.ring ? 7 + rng.float() : 3 + rng.float() * 14;
            blobs.push({
              x: cx + r * Math.cos(a),
              y: cy + r * Math.sin(a),
              sigma: loc.sigma[0] + rng.float() * (loc.sigma[1] - loc.sigma[0]),
              amp: 1800,
            });
          }
        }
        const protein = renderField(w, w, blobs, rng, { background: 150, noise: 100 });
        const id = `cell${String(i).padStart(3, '0')}`;
        for (const [name, img] of [
          ['protein', protein],
          ['nucleus', nucleus],
        ] as const) {
          const buf = await sharp(toUint16(img), { raw: { width: w, height: w, channels: 1 } })
            .toColourspace('grey16')
            .tiff()
            .toBuffer();
          await writeFile(join(folder, `${id}_${name}.tif`), buf);
        }
      }
    }
  }
  return dir;
}
