// Bench: images/s of the features pipeline against onnxruntime's own session.run on the
// same preprocessed tensors, in the same run, on the same model.
//   node dist/bench/features-throughput.js [--images 96] [--batch 16] [--size 224] [--method merge-norm] [--reps 5] [--no-overlap] [--bits 16|8] [--noise] [--threads N] [--no-in-thread]
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
import { WorkerPreparer } from '../src/features/prep-client.js';
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
    const noise = process.argv.includes('--noise');
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
        await sharp(Buffer.from(Uint8Array.from(px, (v) => Math.min(255, v >> 4))), {
          raw: { width: size, height: size, channels: 1 },
        })
          .png()
          .toFile(f);
      } else {
        // the Uint16Array itself, so sharp reads 16-bit samples; --noise passes its bytes, which sharp
        // reads as 8-bit samples: full-range 16-bit noise (what this bench measured before the fix,
        // a worst case for the percentile histogram and for PNG compression)
        await sharp(noise ? Buffer.from(px.buffer) : px, {
          raw: { width: size, height: size, channels: 1, premultiplied: false },
        })
          .toColourspace('grey16')
          .png()
          .toFile(f);
      }
      lines.push(`img${i}.png`);
    }
    await writeFile(join(dir, 'list.txt'), lines.join('\n') + '\n');

    const threads = Number(arg('--threads', '0'));
    const model = await loadModel('random:0', threads > 0 ? { threads } : {});
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
    type Timed = { seconds: number; cpu: number; inference: number };
    // worker: chunks prepared in a worker thread (the default). One worker serves all rounds, as one
    // session does, and as one worker serves a whole run of the command. Its start-up (module
    // loading) is outside the timing, like opening the model: the command starts it before opening
    // the model, which takes far longer. inThread: the same chunks prepared on the main thread.
    const s0 = process.hrtime.bigint();
    const preparer = new WorkerPreparer();
    await preparer.ready();
    const startup = Number(process.hrtime.bigint() - s0) / 1e9;
    const pipeline = async (worker: boolean): Promise<Timed> => {
      const source = await filesInput(join(dir, 'list.txt'));
      const writer = new FeatureTableWriter(join(dir, 'features.csv'), source.keyColumns);
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const stats = await extractFeatures(model, source.sets, {
        method,
        size,
        batchSize: batch,
        overlap,
        worker,
        preparer: worker ? preparer : undefined,
        onRow: (k, f) => writer.writeRow(k, f),
      });
      await writer.finish();
      return {
        seconds: Number(process.hrtime.bigint() - t0) / 1e9,
        cpu: cpuSeconds(process.cpuUsage(c0)),
        inference: stats.inferenceSeconds,
      };
    };
    // Alternate the three, 5 rounds; medians, so a noisy neighbour hurts all alike.
    const reps = Number(arg('--reps', '5'));
    const withInThread = !process.argv.includes('--no-in-thread');
    const bases: { seconds: number; cpu: number }[] = [];
    const pipes: Timed[] = [];
    const inThread: Timed[] = [];
    for (let rep = 0; rep < reps; rep++) {
      bases.push(await runOnly());
      pipes.push(await pipeline(true));
      if (withInThread) inThread.push(await pipeline(false));
    }
    // one more baseline, so each round's pipelines sit between two baselines (see `paired`)
    bases.push(await runOnly());
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const base = median(bases.map((b) => b.seconds));
    const baseCpu = median(bases.map((b) => b.cpu));
    const med = (ts: Timed[]): Timed => ({
      seconds: median(ts.map((p) => p.seconds)),
      cpu: median(ts.map((p) => p.cpu)),
      inference: median(ts.map((p) => p.inference)),
    });
    const pipe = med(pipes);
    await model.session.release();
    await preparer.close();
    const baseRate = nImages / base;
    // Each round against the mean of the baselines just before and after it: a neighbour's load
    // that comes and goes within seconds then weighs on both sides of one ratio.
    const paired = (ts: Timed[], key: 'seconds' | 'cpu'): number[] =>
      ts.map((t, i) => t[key] / ((bases[i][key] + bases[i + 1][key]) / 2) - 1);
    const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
    const line = (name: string, ts: Timed[]): void => {
      const p = med(ts);
      const wall = p.seconds / base - 1;
      const cpu = p.cpu / baseCpu - 1;
      const pw = paired(ts, 'seconds');
      const pc = paired(ts, 'cpu');
      console.log(
        `  ${name}: ${(nImages / p.seconds).toFixed(1)} images/s (${p.seconds.toFixed(2)} s; ${p.inference.toFixed(2)} s inside run); CPU ${p.cpu.toFixed(2)} s`,
      );
      console.log(
        `      ratio pipeline/baseline images/s ${(base / p.seconds).toFixed(3)} → overhead ${pct(wall)} wall (goal ≤ 15 %), ${pct(cpu)} CPU`,
      );
      console.log(
        `      paired rounds: overhead median ${pct(median(pw))} wall (${pw.map(pct).join(', ')}), median ${pct(median(pc))} CPU`,
      );
    };
    console.log(
      `features throughput: EfficientNetB0 (random:0), ${nImages} images ${size}×${size} ${bits}-bit${noise ? ' noise' : ''}, ${method}, batch ${batch}${overlap ? '' : ', no overlap'}${threads > 0 ? `, ${threads} onnxruntime threads` : ''}, ${cpus().length} cores`,
    );
    console.log(
      `  baseline  onnxruntime session.run on the preprocessed tensors: ${baseRate.toFixed(1)} images/s (${base.toFixed(2)} s); CPU ${baseCpu.toFixed(2)} s (all threads)`,
    );
    line('pipeline  files → decode → normalise → batch → run → CSV, worker thread (default)', pipes);
    if (withInThread) line('pipeline  the same, prepared on the main thread (worker: false)', inThread);
    console.log(
      `  worker start-up (outside the timing; the command overlaps it with opening the model): ${(startup * 1000).toFixed(0)} ms`,
    );
    console.log(
      `  goal ≥ 25 images/s: ${nImages / pipe.seconds >= 25 ? 'met' : 'not met'}; medians of ${reps} alternating rounds; load average now ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
