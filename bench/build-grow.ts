// Bench: growing a release in place (`labels --extend`, then `build` into the release) against
// rebuilding the extended labels whole, in the same run on the same synthetic BBBC021-like corpus;
// and `build --keep-channels` against the same build without it.
//   node dist/bench/build-grow.js [--sets 40] [--grow 0.1] [--reps 3]
// The catalog gains a new source of `grow`·sets image sets (half top up a label below the cap,
// half form a new label), so the incremental build runs about that many jobs.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { assignLabels } from '../src/labels/assign-labels.js';
import { extendLabels } from '../src/labels/extend-labels.js';
import { buildRelease } from '../src/release/build-release.js';
import { writeCatalog, type FixtureRow } from '../test/release/fixture.js';
import { H, makeBbbc021Like, W } from './bbbc021-like.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const nSets = Number(arg('--sets', '40'));
  const grow = Number(arg('--grow', '0.1'));
  const reps = Number(arg('--reps', '3'));
  const dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-bench-grow-'));
  const quiet = { progress: false, log: (): void => undefined, workers: 2, minRelease: 1 };
  try {
    const { sets, cap } = await makeBbbc021Like(dir, nSets);
    // Labels by the labels stage (a folder --extend can grow): one at the cap, one at 60 %, the rest.
    const sizes = [cap, Math.round(cap * 0.6)];
    const label = (i: number): string => (i < sizes[0] ? 'cpd a' : i < sizes[0] + sizes[1] ? 'cpd b' : 'cpd c');
    const rows: FixtureRow[] = sets.map((files, i) => ({
      idx: `synth-${i}`,
      label: label(i),
      category: 'compound',
      dir_name: 'synth',
      files,
    }));
    const added = Math.max(2, Math.round(nSets * grow));
    const newRows: FixtureRow[] = Array.from({ length: added }, (_, i) => ({
      idx: `newlab-${i}`,
      label: i % 2 === 0 ? 'cpd c' : 'cpd new',
      category: 'compound',
      dir_name: 'synth',
      files: sets[i % sets.length],
    }));
    const catalog0 = join(dir, 'catalog0.duckdb');
    const catalog1 = join(dir, 'catalog1.duckdb');
    await writeCatalog(catalog0, rows, dir);
    await writeCatalog(catalog1, [...rows, ...newRows], dir);
    const opts = { threshold: 1, cap, presample: 10 * cap, seed: 0, categories: ['compound'] };
    await assignLabels(catalog0, join(dir, 'labels0'), opts);
    const tExtend = performance.now();
    await extendLabels(catalog1, join(dir, 'labels0'), join(dir, 'labels1'));
    const extendSeconds = (performance.now() - tExtend) / 1000;
    const gen0 = join(dir, 'gen0');
    await buildRelease({ catalog: catalog0, labels: join(dir, 'labels0'), out: gen0, ...quiet });

    const incremental: number[] = [];
    const whole: number[] = [];
    const plain: number[] = [];
    const channels: number[] = [];
    let addedImages = 0;
    for (let r = 0; r < reps; r++) {
      // Interleaved, so load from other users of the machine hits each alike.
      const grown = join(dir, `grown-${r}`);
      await cp(gen0, grown, { recursive: true });
      let t = performance.now();
      const s = await buildRelease({ catalog: catalog1, labels: join(dir, 'labels1'), out: grown, ...quiet });
      incremental.push((performance.now() - t) / 1000);
      addedImages = s.imagesAdded ?? 0;
      const full = join(dir, `full-${r}`);
      t = performance.now();
      await buildRelease({ catalog: catalog1, labels: join(dir, 'labels1'), out: full, ...quiet });
      whole.push((performance.now() - t) / 1000);
      const a = join(dir, `plain-${r}`);
      t = performance.now();
      await buildRelease({ catalog: catalog0, labels: join(dir, 'labels0'), out: a, ...quiet });
      plain.push((performance.now() - t) / 1000);
      const b = join(dir, `channels-${r}`);
      t = performance.now();
      await buildRelease({ catalog: catalog0, labels: join(dir, 'labels0'), out: b, keepChannels: true, ...quiet });
      channels.push((performance.now() - t) / 1000);
      for (const d of [grown, full, a, b]) await rm(d, { recursive: true });
    }
    const fmt = (xs: number[]): string => `${median(xs).toFixed(2)} s (runs ${xs.map((x) => x.toFixed(2)).join(', ')})`;
    console.log(
      `build-grow bench: ${nSets} synthetic BBBC021-like sets (3 × ${W}×${H} 16-bit TIFF) + ${added} new; ${cpus().length} cores, load ${loadavg()[0].toFixed(1)}; ${reps} interleaved reps, medians; --workers 2`,
    );
    console.log(`  labels --extend: ${extendSeconds.toFixed(2)} s`);
    console.log(`  baseline: build the extended labels whole into a new folder: ${fmt(whole)}`);
    console.log(
      `  build the extended labels into the release (incremental, ${addedImages} images added): ${fmt(incremental)}`,
    );
    console.log(`  → incremental / whole: ${((100 * median(incremental)) / median(whole)).toFixed(0)} %`);
    console.log(`  baseline: build without --keep-channels: ${fmt(plain)}`);
    console.log(`  build --keep-channels: ${fmt(channels)}`);
    console.log(`  → keep-channels / plain: ${((100 * median(channels)) / median(plain)).toFixed(0)} %`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
