// Bench: image sets/s of `build --workers 2` against the bare codec floor with 2
// processes (decode 3 TIFFs + encode 1 PNG per set, nothing else), measured in the same run on the
// same synthetic BBBC021-like corpus (3-channel 1280×1024 16-bit TIFF sets), and the ratio.
//   node dist/bench/build-release.js [--sets 40] [--reps 5] [--workers1]
// Labels are sized like the real release (one at the cap → 1 crop per image, one at 60 % → 2,
// one at 40 % → 3), so crop QC, re-normalisation and several PNGs per set are all measured.
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRelease } from '../src/release/build-release.js';
import { H, makeBbbc021Like, W } from './bbbc021-like.js';

const FULL_SCALE_SETS = 900_000;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function codecFloor(sets: string[][], processes: number): Promise<number> {
  const child = fileURLToPath(new URL('./build-codec-floor.js', import.meta.url));
  const t0 = performance.now();
  const parts = Array.from({ length: processes }, (_, p) => sets.filter((_, i) => i % processes === p));
  return Promise.all(
    parts.map(
      (part) =>
        new Promise<void>((res, rej) => {
          const c = fork(child, [], { env: { ...process.env, BENCH_SETS: JSON.stringify(part) }, execArgv: [] });
          c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`floor child exited ${code}`))));
        }),
    ),
  ).then(() => (performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const nSets = Number(arg('--sets', '40'));
  const reps = Number(arg('--reps', '5'));
  const withW1 = process.argv.includes('--workers1');
  const dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-bench-build-'));
  try {
    const { catalog, labels, sets, sizes, cap } = await makeBbbc021Like(dir, nSets);

    const floor: number[] = [];
    const build2: number[] = [];
    const build1: number[] = [];
    for (let r = 0; r < reps; r++) {
      // Interleaved, so load from other users of the machine hits both alike.
      floor.push(nSets / (await codecFloor(sets, 2)));
      const out = join(dir, `out-${r}`);
      const t0 = performance.now();
      await buildRelease({ catalog, labels, out, workers: 2, minRelease: 1, progress: false, log: () => undefined });
      build2.push(nSets / ((performance.now() - t0) / 1000));
      await rm(out, { recursive: true });
      if (withW1) {
        const t1 = performance.now();
        await buildRelease({ catalog, labels, out, workers: 1, minRelease: 1, progress: false, log: () => undefined });
        build1.push(nSets / ((performance.now() - t1) / 1000));
        await rm(out, { recursive: true });
      }
    }
    const best = (xs: number[]): number => Math.max(...xs);
    const median = (xs: number[]): number => {
      const s = [...xs].sort((x, y) => x - y);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    const f = median(floor);
    const b = median(build2);
    // Each rep's floor and build run back to back, so the ratio of a rep sees one machine load.
    const ratios = floor.map((x, i) => build2[i] / x);
    console.log(
      `build-release bench: ${nSets} synthetic BBBC021-like sets (3 × ${W}×${H} 16-bit TIFF), labels of ${sizes.join('/')} sets at cap ${cap}; ${cpus().length} cores; ${reps} interleaved reps, medians`,
    );
    console.log(
      `  baseline: codec floor, 2 processes (decode 3 TIFFs + encode 1 PNG): ${f.toFixed(2)} sets/s  (runs: ${floor.map((x) => x.toFixed(2)).join(', ')}; best ${best(floor).toFixed(2)})`,
    );
    console.log(
      `  build --workers 2 (plan → workers → journal → release → tables → card): ${b.toFixed(2)} sets/s  (runs: ${build2.map((x) => x.toFixed(2)).join(', ')}; best ${best(build2).toFixed(2)})`,
    );
    if (withW1)
      console.log(
        `  build --workers 1: ${median(build1).toFixed(2)} sets/s; 2 workers / 1 worker = ${(b / median(build1)).toFixed(2)}×`,
      );
    console.log(
      `  ratio build / floor = ${(100 * median(ratios)).toFixed(1)} % (median of rep ratios: ${ratios.map((x) => (100 * x).toFixed(0)).join(', ')}; best vs best ${((100 * best(build2)) / best(floor)).toFixed(1)} %)   goal ≥ 85 %`,
    );
    const hours = FULL_SCALE_SETS / b / 3600;
    console.log(
      `  projection: ${FULL_SCALE_SETS.toLocaleString('en-US')} source sets at ${b.toFixed(2)} sets/s ≈ ${hours.toFixed(0)} h (${(hours / 24).toFixed(1)} days) on this machine`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
