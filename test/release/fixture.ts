// A small build input made by hand (no dependency on the ingest and labels stages): a DuckDB
// catalog with the contract's columns and a `sources` table, a labels folder, and images —
// real ones from shared/data (16-bit BBBC022 TIFFs, RGB BCCD JPEGs, float HPA and yeast channel
// sets) plus synthetic 16-bit TIFF channel sets and deliberately broken files.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { DuckDBInstance } from '@duckdb/node-api';
import { CATALOG_COLUMNS, COLUMN_TYPES, type CatalogColumn } from '../../src/sources/schema.js';
import { catalogFingerprint } from '../../src/catalog/fingerprint.js';
import { Rng } from '../../src/util/rng.js';
import { sharedPath } from '../helpers/data.js';

export interface FixtureRow {
  idx: string;
  label: string;
  category: string;
  dir_name: string;
  files: string[];
}

export interface Fixture {
  catalog: string;
  labels: string;
  rows: FixtureRow[];
  /** idx of the deliberately broken inputs, by the reason the build should give. */
  broken: Record<string, string>;
}

const SHARED_SOURCE = 'shared';
const SYNTH_SOURCE = 'synth';

export async function texture16(path: string, w: number, h: number, seed: string): Promise<void> {
  const rng = Rng.derive(0, seed);
  const d = new Uint16Array(w * h);
  const cx = rng.int(0, w - 1);
  const cy = rng.int(0, h - 1);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const blob = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 40 * 40)) * 20000;
      d[y * w + x] = 800 + rng.int(0, 3000) + Math.round(blob) + ((x >> 4) % 2) * 500;
    }
  }
  await sharp(d, { raw: { width: w, height: h, channels: 1 } })
    .toColourspace('grey16')
    .tiff({ compression: 'none' })
    .toFile(path);
}

async function texture8(path: string, w: number, h: number, seed: string): Promise<void> {
  const rng = Rng.derive(0, seed);
  const d = new Uint8Array(w * h);
  for (let i = 0; i < d.length; i++) d[i] = 20 + rng.int(0, 200);
  await sharp(d, { raw: { width: w, height: h, channels: 1 } })
    .png()
    .toFile(path);
}

const shared = (p: string): string => sharedPath('images', p);

/** `lite` leaves out the BCCD and HPA images (fewer, faster jobs for the kill tests). */
export async function makeFixture(dir: string, opts: { cap?: number; lite?: boolean } = {}): Promise<Fixture> {
  const synth = join(dir, 'images');
  await mkdir(synth, { recursive: true });
  const rows: FixtureRow[] = [];
  const broken: Record<string, string> = {};
  const add = (label: string, category: string, dir_name: string, files: string[]): string => {
    const idx = `${dir_name}-${rows.length}`;
    rows.push({ idx, label, category, dir_name, files });
    return idx;
  };

  // Real 16-bit single-channel fluorescence, croppable (696×520).
  const b22 = sharedPath('images', 'bbbc022', 'BBBC022_v1_images_20585w1');
  for (const f of (await readdir(b22)).sort())
    add('nucleus', 'cell_visible', SHARED_SOURCE, [shared(`bbbc022/BBBC022_v1_images_20585w1/${f}`)]);
  // Real RGB JPEG brightfield, croppable (640×480), and the same token in a second category.
  const bccd = sharedPath('images', 'bccd', 'BCCD', 'JPEGImages');
  if (!opts.lite)
    for (const f of (await readdir(bccd)).sort())
      add('actin', 'cell_visible', SHARED_SOURCE, [shared(`bccd/BCCD/JPEGImages/${f}`)]);
  // Real float channel sets, too small to crop: yeast GFP+RFP pairs and HPA blue/green/red triples.
  for (const gene of ['AAC1', 'AAP1']) {
    const d = sharedPath('images', 'yeast_chong_wt2_crops', 'yeast_model', 'toy_dataset', 'images', gene);
    const stems = [...new Set((await readdir(d)).map((f) => f.replace(/_(gfp|rfp)\.tif$/, '')))].sort();
    for (const s of stems) {
      const base = `yeast_chong_wt2_crops/yeast_model/toy_dataset/images/${gene}/${s}`;
      add(gene === 'AAC1' ? '../x' : 'actin', gene === 'AAC1' ? 'compound' : 'compound', SHARED_SOURCE, [
        shared(`${base}_gfp.tif`),
        shared(`${base}_rfp.tif`),
      ]);
    }
  }
  const hpaRoot = sharedPath('images', 'hpa_single_cell_crops', 'human_model', 'toy_dataset');
  for (const cell of opts.lite ? [] : (await readdir(hpaRoot)).sort()) {
    const stems = [
      ...new Set((await readdir(join(hpaRoot, cell))).map((f) => f.replace(/_(blue|green|red)\.tif$/, ''))),
    ].sort();
    for (const s of stems) {
      const base = `hpa_single_cell_crops/human_model/toy_dataset/${cell}/${s}`;
      add(
        'g1/s phase',
        'phenotype',
        SHARED_SOURCE,
        ['blue', 'green', 'red'].map((c) => shared(`${base}_${c}.tif`)),
      );
    }
  }
  // Synthetic 3-channel 16-bit TIFF sets (relative paths under the synth source's images_root).
  for (let i = 0; i < 4; i++) {
    const files: string[] = [];
    for (const ch of ['dapi', 'tubulin', 'actin']) {
      const f = `set${i}_${ch}.tif`;
      await texture16(join(synth, f), 200, 160, `${i}-${ch}`);
      files.push(f);
    }
    add('microtubules', 'cell_visible', SYNTH_SOURCE, files);
  }
  // A label with broken inputs among good ones.
  for (let i = 0; i < 3; i++) {
    await texture8(join(synth, `good${i}.png`), 100, 90, `good${i}`);
    add('bad inputs', 'compound', SYNTH_SOURCE, [`good${i}.png`]);
  }
  broken[add('bad inputs', 'compound', SYNTH_SOURCE, ['does-not-exist.tif'])] = 'missing-file';
  await writeFile(
    join(synth, 'corrupt.tif'),
    Buffer.concat([Buffer.from('II*\u0000'), createHash('sha256').update('x').digest(), Buffer.alloc(200, 7)]),
  );
  broken[add('bad inputs', 'compound', SYNTH_SOURCE, ['corrupt.tif'])] = 'corrupt-image';
  const good = await readFile(join(synth, 'good0.png'));
  await writeFile(join(synth, 'truncated.png'), good.subarray(0, Math.floor(good.length / 2)));
  broken[add('bad inputs', 'compound', SYNTH_SOURCE, ['truncated.png'])] = 'corrupt-image';
  await sharp(new Uint8Array(80 * 80).fill(90), { raw: { width: 80, height: 80, channels: 1 } })
    .png()
    .toFile(join(synth, 'uniform.png'));
  broken[add('bad inputs', 'compound', SYNTH_SOURCE, ['uniform.png'])] = 'uniform-image';
  if (!opts.lite) {
    // Channels of different sizes, and a binary mask.
    await texture8(join(synth, 'wide.png'), 120, 90, 'wide');
    broken[add('bad inputs', 'compound', SYNTH_SOURCE, ['good1.png', 'wide.png'])] = 'channel-size-mismatch';
    const mask = new Uint8Array(100 * 100).map((_, i) =>
      (((i % 100) >> 4) + (Math.floor(i / 100) >> 4)) % 2 ? 255 : 0,
    );
    await sharp(mask, { raw: { width: 100, height: 100, channels: 1 } })
      .png()
      .toFile(join(synth, 'mask.png'));
    broken[add('bad inputs', 'compound', SYNTH_SOURCE, ['mask.png'])] = 'binary-mask';
  }
  // A label too small to release at --min-release 3.
  for (let i = 0; i < 2; i++) {
    await texture8(join(synth, `tiny${i}.png`), 60, 60, `tiny${i}`);
    add('tiny', 'organism', SYNTH_SOURCE, [`tiny${i}.png`]);
  }

  const catalog = join(dir, 'catalog.duckdb');
  await writeCatalog(catalog, rows, synth);
  const labels = join(dir, 'labels');
  await writeLabels(labels, rows, await catalogFingerprint(catalog), opts.cap ?? 6);
  return { catalog, labels, rows, broken };
}

export async function writeCatalog(path: string, rows: readonly FixtureRow[], synthRoot: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  try {
    await conn.run(`CREATE TABLE catalog (${CATALOG_COLUMNS.map((c) => `"${c}" ${COLUMN_TYPES[c]}`).join(', ')})`);
    await conn.run(
      `CREATE TABLE sources (dir_name VARCHAR PRIMARY KEY, database VARCHAR, name VARCHAR, licence VARCHAR, citation VARCHAR, images_root VARCHAR, config VARCHAR, adapter VARCHAR)`,
    );
    const q = (s: string | null): string => (s === null ? 'NULL' : `'${s.replaceAll("'", "''")}'`);
    await conn.run(
      `INSERT INTO sources VALUES (${q(SHARED_SOURCE)}, 'Test Database', 'Shared test images', 'CC BY 4.0', 'Doe et al. (2020) Shared images. J. Tests 1:1', NULL, '/dev/null', 'test'),` +
        ` (${q(SYNTH_SOURCE)}, 'Synthetic', 'Synthetic sets', 'CC0 1.0', 'Made by the build tests', ${q(synthRoot)}, '/dev/null', 'test')`,
    );
    for (const r of rows) {
      const v: Partial<Record<CatalogColumn, string | null>> = {
        label: null,
        category: null,
        database: r.dir_name === SHARED_SOURCE ? 'Test Database' : 'Synthetic',
        name: r.dir_name === SHARED_SOURCE ? 'Shared test images' : 'Synthetic sets',
        dir_name: r.dir_name,
        idx: r.idx,
        organism: 'human',
        microscopy: 'fluorescence',
        channels: r.files.map(() => 'f_x').join('|'),
        source_files: r.files.join('|'),
        source_table: 'test.csv',
        source_row: String(rows.indexOf(r) + 2),
        files_status: 'present',
      };
      v[r.category as CatalogColumn] = r.label;
      const values = CATALOG_COLUMNS.map((c) => {
        const x = v[c];
        if (x === undefined || x === null) return 'NULL';
        return COLUMN_TYPES[c] === 'VARCHAR' ? q(x) : x;
      });
      await conn.run(`INSERT INTO catalog VALUES (${values.join(', ')})`);
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export async function writeLabels(
  dir: string,
  rows: readonly FixtureRow[],
  fingerprint: string,
  cap: number,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const csv = (v: string): string => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  const keys = [...new Set(rows.map((r) => `${r.label}\u0000${r.category}`))];
  const lines = ['label,category,order,count,candidates,selected'];
  keys.forEach((k, i) => {
    const [label, category] = k.split('\u0000');
    const n = rows.filter((r) => r.label === label && r.category === category).length;
    lines.push([csv(label), category, String(i), String(n), String(n), String(n)].join(','));
  });
  lines.push(['unselected', 'organism', String(keys.length), '1', '1', '0'].join(','));
  await writeFile(join(dir, 'labels.csv'), `${lines.join('\n')}\n`);
  await writeFile(
    join(dir, 'assignments.csv'),
    `idx,label,category\n${rows.map((r) => `${r.idx},${csv(r.label)},${r.category}`).join('\n')}\n`,
  );
  await writeFile(
    join(dir, 'labels.json'),
    JSON.stringify(
      {
        threshold: 2,
        cap,
        presample: 100,
        seed: 0,
        excludeSources: [],
        catalogFingerprint: fingerprint,
        toolVersion: '0.1.0',
      },
      null,
      2,
    ),
  );
}

/** Every file under dir (relative path → sha256), for byte-identity checks. */
export async function treeDigest(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else
        out.set(
          relative(dir, p),
          createHash('sha256')
            .update(await readFile(p))
            .digest('hex'),
        );
    }
  };
  await walk(dir);
  return out;
}
