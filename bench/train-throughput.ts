// Training throughput at the seed's settings (224×224, batch 64, Adam): images/s for a fixed number
// of steps of (a) the step alone on a pre-made batch (the baseline) and (b) the whole pipeline
// (decode PNG, resize, rotate with reflection, pack, step, with the next batch loading meanwhile),
// in the same run, plus the loader alone. Needs the addon (npm run build:native).
//
//   node dist/bench/train-throughput.js [--steps 5] [--batch 64] [--size 224] [--threads N] [--source 512]
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { Rng } from '../src/util/rng.js';
import { loadEngine } from '../src/train/engine.js';
import { trainGraph } from '../src/train/graph.js';
import { initWeights } from '../src/train/weights.js';
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
  },
});
const STEPS = Number(values.steps);
const B = Number(values.batch);
const S = Number(values.size);
const THREADS = Number(values.threads);
const SRC = Number(values.source);
const CLASSES = Number(values.classes);

const engine = loadEngine();
const info = engine.info();
const load0 = loadavg()[0];
console.log(`LibTorch ${info.torchVersion}, oneDNN ${info.mkldnn}, caching allocator ${info.cachingAllocator}, ${THREADS} threads`);
console.log(`EfficientNetB0, ${CLASSES} classes, batch ${B}, ${S}×${S}, ${STEPS} timed steps after 1 warm-up step; source images ${SRC}×${SRC} 8-bit PNG`);

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
  await writeFile(file, await sharp(Buffer.from(px), { raw: { width: SRC, height: SRC, channels: 1 } }).png().toBuffer());
  items.push({ key: `bench/img-${i}.png`, file, label: `c${i % CLASSES}`, classIndex: i % CLASSES });
}

const graph = trainGraph(CLASSES);
const model = new engine.Model(graph, { lr: 1e-3, threads: THREADS });
initWeights(model, graph, 0);
const batchOf = (s: number): TrainItem[] => {
  const start = (s * B) % nImages;
  return items.slice(start, start + B);
};
const load = (s: number) => loadBatch(batchOf(s), { size: S, angles: batchOf(s).map((it) => rotationAngle(0, 0, `${it.key}#${s}`)) });

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

// (d) the step alone with LibTorch's kernels only (no own depthwise weight gradient), same weights.
const plain = new engine.Model(graph, { lr: 1e-3, threads: THREADS, kernels: 'libtorch' });
initWeights(plain, graph, 0);
await plain.trainStep(premade.x, premade.labels, B, S, S, 0);
cpu0 = process.cpuUsage();
t = performance.now();
for (let s = 0; s < STEPS; s++) await plain.trainStep(premade.x, premade.labels, B, S, S, s + 1);
const plainAlone = (STEPS * B) / ((performance.now() - t) / 1000);
const plainCpu = cpuPerImage(process.cpuUsage(cpu0));

// (c) the loader alone (what the pipeline must hide behind the step).
t = performance.now();
for (let s = 0; s < STEPS; s++) await load(s + 1);
const loader = (STEPS * B) / ((performance.now() - t) / 1000);

await rm(dir, { recursive: true, force: true });
const epochImages = 890_737;
console.log(`step alone (baseline):      ${stepAlone.toFixed(1)} images/s, ${(stepCpu * 1000).toFixed(1)} ms CPU per image`);
console.log(`whole pipeline:             ${pipeline.toFixed(1)} images/s, ${(pipelineCpu * 1000).toFixed(1)} ms CPU per image  (ratio to baseline ${(pipeline / stepAlone).toFixed(2)}; goal ≥ 35 images/s)`);
console.log(`step alone, LibTorch kernels only: ${plainAlone.toFixed(1)} images/s, ${(plainCpu * 1000).toFixed(1)} ms CPU per image  (own kernels: ${(stepAlone / plainAlone).toFixed(2)}× the images/s)`);
console.log(`loader alone (no step):     ${loader.toFixed(1)} images/s`);
console.log(`load average (1 min) at start / end: ${load0.toFixed(1)} / ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores (other work on the machine slows both figures)`);
console.log(`peak resident memory:       ${(process.resourceUsage().maxRSS / 1024 / 1024).toFixed(1)} GiB`);
console.log(`projected full CytoImageNet epoch (${epochImages.toLocaleString('en')} images): ${(epochImages / pipeline / 3600).toFixed(1)} h at the pipeline rate`);
