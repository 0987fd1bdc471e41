// A CytoImageNet-shaped synthetic table in the standard schema: ~40 sources of long-tailed sizes,
// 7 label columns whose values follow Zipf-like counts, '|' multi-labels, raw (un-cleaned) case
// and synonyms, so ingest and labels benches see the real workload's shape. Deterministic per seed.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { csvField } from '../src/util/csv.js';
import { Rng } from '../src/util/rng.js';
import { STANDARD_COLUMNS } from '../src/sources/schema.js';

/** Header of the synthetic table: the standard columns, then source_files. */
export const SYNTHETIC_COLUMNS = [...STANDARD_COLUMNS, 'source_files'] as const;

export interface SyntheticSummary {
  rows: number;
  sources: number;
  bytes: number;
}

/** Draws indices 0..n-1 with P(i) ∝ 1/(i+1)^s, by binary search in a cumulative table. */
class Zipf {
  private readonly cdf: Float64Array;
  constructor(
    readonly n: number,
    s: number,
  ) {
    this.cdf = new Float64Array(n);
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += 1 / (i + 1) ** s;
      this.cdf[i] = acc;
    }
    for (let i = 0; i < n; i++) this.cdf[i] /= acc;
  }
  draw(rng: Rng): number {
    const u = rng.float();
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

const ORGANISMS = ['Homo sapiens', 'human', 'Mus musculus', 'mouse', 'yeast', 'nematode', 'fly', 'bacteria'];
const CELL_VISIBLE = [
  'nucleus',
  'actin',
  'mitochondria',
  'er',
  'golgi',
  'nucleoli',
  'microtubules',
  'cell membrane',
  'GPCR',
  'centrosome',
  'vesicles',
  'cytoplasm',
  'rna',
  'pcna',
];
const DATABASES = [
  'Recursion',
  'Image Data Resource',
  'Broad Bioimage Benchmark Collection',
  'Kaggle',
  'Cell Image Library',
];
const MICROSCOPY = [
  'fluorescence',
  'confocal',
  'brightfield',
  'fluorescence|brightfield|darkfield',
  'super-resolution',
];

interface SourceProfile {
  dirName: string;
  database: string;
  name: string;
  rows: number;
  organism: number;
  hasCompound: boolean;
  hasSirna: boolean;
  hasGene: boolean;
  hasPhenotype: boolean;
  channels: number;
  microscopy: string;
}

function makeSources(rows: number, rng: Rng): SourceProfile[] {
  const n = 40;
  // Long-tailed source sizes (a few huge screens, many small sets), every source ≥ 1 row.
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** 1.1);
  const total = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.max(1, Math.floor((w / total) * rows)));
  let diff = rows - sizes.reduce((a, b) => a + b, 0);
  for (let i = 0; diff !== 0; i = (i + 1) % n) {
    if (diff > 0) {
      sizes[i]++;
      diff--;
    } else if (sizes[i] > 1) {
      sizes[i]--;
      diff++;
    }
  }
  return sizes.map((size, i) => {
    const kind = i % 4;
    return {
      dirName: `${['rec', 'idr', 'bbbc', 'kag'][kind]}_syn${String(i).padStart(2, '0')}`,
      database: DATABASES[i % DATABASES.length],
      name: `Synthetic source ${i}`,
      rows: size,
      organism: rng.int(0, ORGANISMS.length - 1),
      hasCompound: kind === 0 || kind === 1,
      hasSirna: kind === 0 && i % 8 === 0,
      hasGene: kind === 1 || kind === 2,
      hasPhenotype: kind !== 0,
      channels: 1 + rng.int(0, 5),
      microscopy: MICROSCOPY[i % MICROSCOPY.length],
    };
  });
}

/**
 * Writes `rows` synthetic catalog rows to `path` (CSV with header SYNTHETIC_COLUMNS).
 * The same (rows, seed) always gives the same bytes.
 */
export async function writeSyntheticCatalogCsv(path: string, rows: number, seed: number): Promise<SyntheticSummary> {
  await mkdir(dirname(path), { recursive: true });
  const rng = Rng.derive(seed, 'synthetic-catalog');
  const sources = makeSources(rows, rng);
  const compound = new Zipf(30_000, 1.05);
  const sirna = new Zipf(1_500, 0.6);
  const gene = new Zipf(2_500, 0.9);
  const phenotype = new Zipf(400, 1.1);
  const cellType = new Zipf(250, 1.2);
  const visible = new Zipf(CELL_VISIBLE.length, 0.8);

  const out = createWriteStream(path);
  let bytes = 0;
  const write = async (s: string): Promise<void> => {
    bytes += Buffer.byteLength(s);
    if (!out.write(s)) await once(out, 'drain');
  };
  await write(SYNTHETIC_COLUMNS.join(',') + '\n');

  for (const src of sources) {
    let chunk: string[] = [];
    for (let r = 0; r < src.rows; r++) {
      const nVisible = 1 + (rng.float() < 0.4 ? rng.int(1, 3) : 0);
      const vis = new Set<string>();
      for (let k = 0; k < nVisible; k++) vis.add(CELL_VISIBLE[visible.draw(rng)]);
      const geneTok = src.hasGene
        ? rng.float() < 0.05
          ? `GENE${gene.draw(rng)}|GENE${gene.draw(rng)}`
          : `GENE${gene.draw(rng)}`
        : '';
      const files = Array.from({ length: src.channels }, (_, c) => `plate${r % 50}/img${r}_w${c + 1}.tif`).join('|');
      const values: Record<(typeof SYNTHETIC_COLUMNS)[number], string> = {
        label: '',
        category: '',
        database: src.database,
        name: src.name,
        dir_name: src.dirName,
        path: `plate${r % 50}`,
        filename: `img${r}.png`,
        idx: `${src.dirName}-${r}`,
        organism: ORGANISMS[src.organism],
        cell_type: rng.float() < 0.9 ? (rng.float() < 0.02 ? 'U-2 OS' : `line-${cellType.draw(rng)}`) : '',
        cell_visible: [...vis].join('|'),
        phenotype: src.hasPhenotype && rng.float() < 0.7 ? `Phenotype ${phenotype.draw(rng)}` : '',
        compound: src.hasCompound && rng.float() < 0.95 ? `Compound-${compound.draw(rng)}` : '',
        sirna: src.hasSirna ? `s${sirna.draw(rng)}` : '',
        gene: geneTok,
        microscopy: src.microscopy,
        channels: Array.from({ length: src.channels }, (_, c) => CELL_VISIBLE[c % CELL_VISIBLE.length])
          .map((c) => `f_${c}`)
          .join('|'),
        crop: '',
        scaling: '',
        x_min: '',
        x_max: '',
        y_min: '',
        y_max: '',
        source_files: files,
      };
      chunk.push(SYNTHETIC_COLUMNS.map((c) => csvField(values[c])).join(','));
      if (chunk.length === 20_000) {
        await write(chunk.join('\n') + '\n');
        chunk = [];
      }
    }
    if (chunk.length) await write(chunk.join('\n') + '\n');
  }
  out.end();
  await once(out, 'finish');
  return { rows, sources: sources.length, bytes };
}
