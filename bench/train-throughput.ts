// Training throughput at the spec's settings (224×224, batch 64, Adam): images/s for a fixed number
// of steps of (a) the step alone on a pre-made batch (the baseline) and (b) the whole pipeline
// (decode PNG, resize, rotate with reflection, pack, step, with the next batch loading meanwhile),
// in the same run, plus the loader alone. Needs the addon (npm run build:native).
//
// (a) and (b) use the precision `train` would choose here ("auto"); the float32 step is timed too.
//
//   node dist/bench/train-throughput.js [--steps 5] [--batch 64] [--size 224] [--threads N] [--source 512]
//                                       [--precision auto|float32|mixed_bfloat16] [--loader-threads N]
//   node dist/bench/train-throughput.js --loader-only   the loader alone on the main thread and 1..N threads
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { Rng } from '../src/util/rng.js';
import { loadEngine, PRECISIONS, resolvePrecision, type Precision } from '../src/train/engine.js';
import { trainGraph } from '../src/train/graph.js';
import { initWeights } from '../src/train/weights.js';
import { batchLoader, defaultLoaderThreads } from '../src/train/loader-pool.js';
import { loadBatch, prefetch, rotationAngle } from '../src/train/pipeline.js';
import type { TrainItem } from '../src/train/release.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '5' },
    batch: { type: 'string', default: '64' },
    size: { type: 'string', default: '224' },
    threads: { type: 'string', default: String(availableParallelism()) },
    source: { type: 'string', default: '512' },
    classes: { type: 'string', default: '894' },
    precision: { type: 'string', default: 'auto' },
    'loader-threads': { type: 'string', default: String(defaultLoaderThreads()) },
    'loader-only': { type: 'boolean', default: false },
  },
});
const STEPS = Number(values.steps);
const B = Number(values.batch);
const S = Number(values.size);
const THREADS = Number(values.threads);
const SRC = Number(values.source);
const CLASSES = Number(values.classes);
const LOADER_THREADS = Number(values['loader-threads']);

const engine = loadEngine();
const info = engine.info();
if (values.precision !== 'auto' && !(PRECISIONS as readonly string[]).includes(values.precision!))
  throw new Error(`--precision must be auto or one of ${PRECISIONS.join(', ')}`);
const PRECISION = resolvePrecision(values.precision as Precision | 'auto', { device: 'cpu', kernels: 'own', info });
const load0 = loadavg()[0];
console.log(
  `LibTorch ${info.torchVersion}, oneDNN ${info.mkldnn}, caching allocator ${info.cachingAllocator}, ${THREADS} threads, bfloat16 dot products ${info.nativeBf16}; precision ${PRECISION}`,
);
console.log(
  `EfficientNetB0, ${CLASSES} classes, batch ${B}, ${S}×${S}, ${STEPS} timed steps after 1 warm-up step; source images ${SRC}×${SRC} 8-bit PNG`,
);

// Source images: gray PNGs of release-like size, made here (noise over blobs; not compressible to nothing).
const dir = join(tmpdir(), `cytoimagenet-bench-train-${process.pid}`);
await mkdir(dir, { recursive: true });
const items: TrainItem[] = [];
const nImages = B * 2;
for (let i = 0; i < nImages; i++) {
  const rng = Rng.derive(0, 'bench-train', i);
  const px = new Uint8Array(SRC * SRC);
  const cx = rng.float() * SRC;
  const cy = rng.float() * SRC;
  for (let p = 0; p < px.length; p++) {
    const d = Math.hypot((p % SRC) - cx, Math.floor(p / SRC) - cy);
    px[p] = Math.min(255, Math.max(0, Math.round(60 + 120 * Math.exp(-d / 60) + (rng.float() - 0.5) * 40)));
  }
  const file = join(dir, `img-${i}.png`);
  await writeFile(
    file,
    await sharp(Buffer.from(px), { raw: { width: SRC, height: SRC, channels: 1 } })
      .png()
      .toBuffer(),
  );
  items.push({ key: `bench/img-${i}.png`, file, label: `c${i % CLASSES}`, classIndex: i % CLASSES });
}

const graph = trainGraph(CLASSES);
const model = new engine.Model(graph, { lr: 1e-3, threads: THREADS, precision: PRECISION });
initWeights(model, graph, 0);
const batchOf = (s: number): TrainItem[] => {
  const start = (s * B) % nImages;
  return items.slice(start, start + B);
};
const anglesOf = (s: number): number[] => batchOf(s).map((it) => rotationAngle(0, 0, `${it.key}#${s}`));
const pool = batchLoader(LOADER_THREADS);
const load = (s: number) => pool.load(batchOf(s), { size: S, angles: anglesOf(s) });

// The loader alone, as `train` runs it (decode PNG, resize, rotate, pack), on the main thread
// (loadBatch: libvips still decodes on its own threads) and on 1..N loader threads: images/s and
// CPU per image (all threads of the process), so its scaling over cores can be read off.
async function loaderAlone(): Promise<void> {
  const counts = [...new Set([1, 2, 4, 8, 16, LOADER_THREADS].filter((n) => n <= Math.max(LOADER_THREADS, 1)))];
  const measure = async (fn: (s: number) => Promise<unknown>): Promise<{ rate: number; cpu: number }> => {
    await fn(0);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let s = 1; s <= STEPS; s++) await fn(s);
    const u = process.cpuUsage(c0);
    return { rate: (STEPS * B) / ((performance.now() - t0) / 1000), cpu: (u.user + u.system) / 1e3 / (STEPS * B) };
  };
  const base = await measure((s) => loadBatch(batchOf(s), { size: S, angles: anglesOf(s) }));
  console.log(
    `loader alone, main thread (baseline): ${base.rate.toFixed(1)} images/s, ${base.cpu.toFixed(2)} ms CPU per image`,
  );
  for (const n of counts) {
    const p = batchLoader(n);
    const r = await measure((s) => p.load(batchOf(s), { size: S, angles: anglesOf(s) }));
    await p.close();
    console.log(
      `loader alone, ${String(n).padStart(2)} thread(s):       ${r.rate.toFixed(1)} images/s, ${r.cpu.toFixed(2)} ms CPU per image  (${(r.rate / base.rate).toFixed(2)}× the main thread)`,
    );
  }
}
if (values['loader-only']) {
  await loaderAlone();
  await pool.close();
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
}

// (a) step alone on a pre-made batch.
const premade = await load(0);
await model.trainStep(premade.x, premade.labels, B, S, S, 0); // warm-up: oneDNN builds its kernels
let cpu0 = process.cpuUsage();
let t = performance.now();
for (let s = 0; s < STEPS; s++) await model.trainStep(premade.x, premade.labels, B, S, S, s + 1);
const stepAlone = (STEPS * B) / ((performance.now() - t) / 1000);
// CPU time per image: less inflated than images/s when other work shares the cores.
const cpuPerImage = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6 / (STEPS * B);
const stepCpu = cpuPerImage(process.cpuUsage(cpu0));

// (b) whole pipeline: decode + augment + pack overlapping the step.
cpu0 = process.cpuUsage();
t = performance.now();
for await (const b of prefetch(STEPS, 1, (s) => load(s + 1))) await model.trainStep(b.x, b.labels, B, S, S, 100);
const pipeline = (STEPS * B) / ((performance.now() - t) / 1000);
const pipelineCpu = cpuPerImage(process.cpuUsage(cpu0));

// (d) the step alone in float32, with the own kernels and with LibTorch's alone, same weights.
const stepOf = async (options: { kernels: 'own' | 'libtorch'; precision: Precision }) => {
  const m = new engine.Model(graph, { lr: 1e-3, threads: THREADS, ...options });
  initWeights(m, graph, 0);
  await m.trainStep(premade.x, premade.labels, B, S, S, 0);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let s = 0; s < STEPS; s++) await m.trainStep(premade.x, premade.labels, B, S, S, s + 1);
  return { rate: (STEPS * B) / ((performance.now() - t0) / 1000), cpu: cpuPerImage(process.cpuUsage(c0)) };
};
const f32 =
  PRECISION === 'float32' ? { rate: stepAlone, cpu: stepCpu } : await stepOf({ kernels: 'own', precision: 'float32' });
const plain = await stepOf({ kernels: 'libtorch', precision: 'float32' });

// (c) the loader alone (what the pipeline must hide behind the step).
t = performance.now();
for (let s = 0; s < STEPS; s++) await load(s + 1);
const loader = (STEPS * B) / ((performance.now() - t) / 1000);

// (e) the whole pipeline with the loader on the main thread, as before loader threads (same run).
cpu0 = process.cpuUsage();
t = performance.now();
for await (const b of prefetch(STEPS, 1, (s) => loadBatch(batchOf(s + 1), { size: S, angles: anglesOf(s + 1) })))
  await model.trainStep(b.x, b.labels, B, S, S, 100);
const pipelineMain = (STEPS * B) / ((performance.now() - t) / 1000);
const pipelineMainCpu = cpuPerImage(process.cpuUsage(cpu0));
await pool.close();

await rm(dir, { recursive: true, force: true });
const epochImages = 890_737;
console.log(
  `step alone (baseline):      ${stepAlone.toFixed(1)} images/s, ${(stepCpu * 1000).toFixed(1)} ms CPU per image  (${PRECISION})`,
);
console.log(
  `whole pipeline:             ${pipeline.toFixed(1)} images/s, ${(pipelineCpu * 1000).toFixed(1)} ms CPU per image  (ratio to baseline ${(pipeline / stepAlone).toFixed(2)}; goal ≥ 35 images/s)`,
);
if (PRECISION !== 'float32')
  console.log(
    `step alone, float32:        ${f32.rate.toFixed(1)} images/s, ${(f32.cpu * 1000).toFixed(1)} ms CPU per image  (${PRECISION}: ${(stepAlone / f32.rate).toFixed(2)}× the images/s)`,
  );
console.log(
  `step alone, float32, LibTorch kernels only: ${plain.rate.toFixed(1)} images/s, ${(plain.cpu * 1000).toFixed(1)} ms CPU per image  (own kernels: ${(f32.rate / plain.rate).toFixed(2)}× the images/s)`,
);
console.log(
  `whole pipeline, loader on the main thread: ${pipelineMain.toFixed(1)} images/s, ${(pipelineMainCpu * 1000).toFixed(1)} ms CPU per image  (loader threads: ${(pipeline / pipelineMain).toFixed(2)}× the images/s)`,
);
console.log(`loader alone (no step), ${LOADER_THREADS} loader thread(s): ${loader.toFixed(1)} images/s`);
console.log(
  `load average (1 min) at start / end: ${load0.toFixed(1)} / ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores (other work on the machine slows both figures)`,
);
console.log(`peak resident memory:       ${(process.resourceUsage().maxRSS / 1024 / 1024).toFixed(1)} GiB`);
console.log(
  `projected full CytoImageNet epoch (${epochImages.toLocaleString('en')} images): ${(epochImages / pipeline / 3600).toFixed(1)} h at the pipeline rate`,
);
