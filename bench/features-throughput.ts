// Bench for issue 7: images/s of the features pipeline against onnxruntime's own session.run on the
// same preprocessed tensors, in the same run, on the same model.
//   node dist/bench/features-throughput.js [--images 96] [--batch 16] [--size 224] [--method merge-norm] [--reps 5] [--no-overlap] [--bits 16|8]
// Model: random:0 EfficientNetB0 (the graph a Keras .h5 also becomes). Inputs: seeded synthetic
// 16-bit gray TIFF-like PNGs of size×size (so the pipeline's decode, gray, percentile normalisation,
// packing and table writing are all in the measurement). Goal: overhead ≤ 15 %, ≥ 25 images/s at 224.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import ort from 'onnxruntime-node';
import { Rng } from '../src/util/rng.js';
import { loadModel } from '../src/features/model.js';
import { extractFeatures } from '../src/features/extract.js';
import { filesInput } from '../src/features/inputs.js';
import { FeatureTableWriter } from '../src/features/table-writer.js';
import { packBatch, planesForSet, METHODS, type Method, type Plane } from '../src/features/preprocess.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const nImages = Number(arg('--images', '96'));
  const batch = Number(arg('--batch', '16'));
  const size = Number(arg('--size', '224'));
  const method = arg('--method', 'merge-norm') as Method;
  if (!METHODS.includes(method)) throw new Error(`--method: one of ${METHODS.join(', ')}`);
  const dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-bench-features-'));
  try {
    // synthetic microscopy-like images: blobs on a noisy background, 16-bit (default) or 8-bit
    // (like a release's PNGs)
    const bits = Number(arg('--bits', '16'));
    const lines: string[] = [];
    for (let i = 0; i < nImages; i++) {
      const rng = Rng.derive(0, 'bench-image', i);
      const px = new Uint16Array(size * size);
      const blobs = Array.from({ length: 12 }, () => [rng.float() * size, rng.float() * size, 4 + rng.float() * 10]);
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          let v = 300 + 50 * rng.float();
          for (const [bx, by, r] of blobs) v += 3000 * Math.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * r * r));
          px[y * size + x] = Math.min(65535, Math.round(v));
        }
      const f = join(dir, `img${i}.png`);
      if (bits === 8) {
        await sharp(Buffer.from(Uint8Array.from(px, (v) => Math.min(255, v >> 4))), { raw: { width: size, height: size, channels: 1 } }).png().toFile(f);
      } else {
        await sharp(Buffer.from(px.buffer), { raw: { width: size, height: size, channels: 1, premultiplied: false } })
          .toColourspace('grey16')
          .png()
          .toFile(f);
      }
      lines.push(`img${i}.png`);
    }
    await writeFile(join(dir, 'list.txt'), lines.join('\n') + '\n');

    const model = await loadModel('random:0');
    // Baseline: the same preprocessed tensors, straight into session.run.
    const planes: Plane[] = [];
    for (const l of lines) planes.push(...(await planesForSet([join(dir, l)], method, { width: size, height: size })));
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < planes.length; i += batch) {
      const { data, dims } = packBatch(planes.slice(i, i + batch), model.channels, model.layout);
      tensors.push(new ort.Tensor('float32', data, dims));
    }
    await model.session.run({ [model.inputName]: tensors[0] }); // warm-up (both measurements after it)
    const cpuSeconds = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1e6;
    const runOnly = async (): Promise<{ seconds: number; cpu: number }> => {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      for (const t of tensors) await model.session.run({ [model.inputName]: t });
      return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpu: cpuSeconds(process.cpuUsage(c0)) };
    };
    const overlap = !process.argv.includes('--no-overlap');
    const pipeline = async (): Promise<{ seconds: number; cpu: number; inference: number }> => {
      const source = await filesInput(join(dir, 'list.txt'));
      const writer = new FeatureTableWriter(join(dir, 'features.csv'), source.keyColumns);
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const stats = await extractFeatures(model, source.sets, { method, size, batchSize: batch, overlap, onRow: (k, f) => writer.writeRow(k, f) });
      await writer.finish();
      return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpu: cpuSeconds(process.cpuUsage(c0)), inference: stats.inferenceSeconds };
    };
    // Alternate the two, 5 rounds; medians, so a noisy neighbour hurts both alike.
    const reps = Number(arg('--reps', '5'));
    const bases: { seconds: number; cpu: number }[] = [];
    const pipes: { seconds: number; cpu: number; inference: number }[] = [];
    for (let rep = 0; rep < reps; rep++) {
      bases.push(await runOnly());
      pipes.push(await pipeline());
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const base = median(bases.map((b) => b.seconds));
    const baseCpu = median(bases.map((b) => b.cpu));
    const pipe = { seconds: median(pipes.map((p) => p.seconds)), cpu: median(pipes.map((p) => p.cpu)), inference: median(pipes.map((p) => p.inference)) };
    await model.session.release();
    const baseRate = nImages / base;
    const pipeRate = nImages / pipe.seconds;
    const overhead = base > 0 ? pipe.seconds / base - 1 : NaN;
    const cpuOverhead = baseCpu > 0 ? pipe.cpu / baseCpu - 1 : NaN;
    console.log(`features throughput: EfficientNetB0 (random:0), ${nImages} images ${size}×${size} ${bits}-bit, ${method}, batch ${batch}${overlap ? '' : ', no overlap'}, ${cpus().length} cores`);
    console.log(`  baseline  onnxruntime session.run on the preprocessed tensors: ${baseRate.toFixed(1)} images/s (${base.toFixed(2)} s)`);
    console.log(`  pipeline  files → decode → normalise → batch → run → CSV:     ${pipeRate.toFixed(1)} images/s (${pipe.seconds.toFixed(2)} s; ${pipe.inference.toFixed(2)} s inside run)`);
    console.log(`  ratio pipeline/baseline images/s: ${(pipeRate / baseRate).toFixed(3)}  → overhead ${(overhead * 100).toFixed(1)} % wall (goal ≤ 15 %), goal ≥ 25 images/s`);
    console.log(`  CPU seconds (all threads): baseline ${baseCpu.toFixed(2)}, pipeline ${pipe.cpu.toFixed(2)} → overhead ${(cpuOverhead * 100).toFixed(1)} % CPU (load-independent)`);
    console.log(`  medians of ${reps} alternating rounds; load average now ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
