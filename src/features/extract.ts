// The extraction loop: image sets → planes (decoded ahead, in parallel with inference) → batches of
// one spatial size → onnxruntime → one feature row per set, in input order.
import ort from 'onnxruntime-node';
import { UserError, messageOf } from '../util/errors.js';
import type { FeatureModel } from './model.js';
import type { ImageSetJob } from './inputs.js';
import { packBatch, planesForSet, type Method, type Plane } from './preprocess.js';

export interface ExtractOptions {
  method: Method;
  /** Square side to resize to, or undefined for native size (the model's fixed size wins). */
  size?: number;
  /** Images per onnxruntime call (default 16). */
  batchSize?: number;
  /** Decode the next chunk of image sets while the current one runs (default true; see below). */
  overlap?: boolean;
  /** Skip image sets whose files cannot be read (reported through onSkip) instead of stopping. */
  skipUnreadable?: boolean;
  onRow: (key: string[], features: Float32Array) => Promise<void> | void;
  onSkip?: (job: ImageSetJob, reason: string) => void;
  /** Called after each image set (done or skipped). */
  onProgress?: (done: number) => void;
}

export interface ExtractStats {
  sets: number;
  images: number;
  skipped: number;
  /** Seconds spent inside session.run (packing the input tensor not included). */
  inferenceSeconds: number;
}

interface Ready {
  job: ImageSetJob;
  planes?: Plane[];
  error?: unknown;
}

/** Seconds inside session.run, and a reusable input buffer (see packBatch). */
export interface RunScratch {
  input?: Float32Array;
  runSeconds: number;
}

/**
 * Run `model` over planes of one size; returns one feature vector per plane. With `scratch`, the
 * input tensor's memory is reused between calls and the time inside session.run is added up.
 */
export async function runPlanes(model: FeatureModel, planes: readonly Plane[], scratch?: RunScratch): Promise<Float32Array[]> {
  const n = planes.length;
  const batch = model.maxBatch ?? n;
  if (model.maxBatch !== undefined && n > model.maxBatch) throw new Error(`runPlanes: ${n} images for a model with batch ${model.maxBatch}`);
  const need = batch * model.channels * planes[0].width * planes[0].height;
  if (scratch && (scratch.input?.length ?? 0) < need) scratch.input = new Float32Array(need);
  const { data, dims } = packBatch(planes, model.channels, model.layout, batch, scratch?.input);
  const input = new ort.Tensor('float32', data, dims);
  const t0 = process.hrtime.bigint();
  const result = await model.session.run({ [model.inputName]: input });
  if (scratch) scratch.runSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
  const out = result[model.outputName];
  const values = out.data as Float32Array;
  if (!(values instanceof Float32Array)) throw new UserError(`model output '${model.outputName}' is ${out.type}, not float32`);
  const per = values.length / batch;
  const rows: Float32Array[] = [];
  for (let i = 0; i < n; i++) rows.push(values.slice(i * per, (i + 1) * per));
  for (const t of Object.values(result)) t.dispose();
  input.dispose();
  return rows;
}

/**
 * Pixels per onnxruntime call: 16 images of 256×256. EfficientNetB0's largest activation is 96
 * channels at half resolution, so a call stays around 100 MB of activations at any image size.
 */
export const MAX_BATCH_PIXELS = 16 * 256 * 256;

/** Images a set contributes: one per channel (concat) or one (merge). */
function imagesOf(job: ImageSetJob, method: Method): number {
  return method.startsWith('concat') ? job.files.length : 1;
}

/**
 * Sets are taken a chunk at a time (about batchSize images), decoded concurrently, then run in
 * batches of one spatial size; rows go out in input order. session.run blocks the JS thread, so
 * only the file decoding (libvips threads) of the next chunk can overlap inference; it fills the
 * gaps onnxruntime leaves between its parallel sections. `overlap: false` decodes strictly after
 * each run (one chunk in memory instead of two).
 */
export async function extractFeatures(model: FeatureModel, sets: AsyncIterable<ImageSetJob>, opts: ExtractOptions): Promise<ExtractStats> {
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? 16, model.maxBatch ?? Infinity));
  const size = model.fixedSize ?? (opts.size ? { width: opts.size, height: opts.size } : undefined);
  const stats: ExtractStats = { sets: 0, images: 0, skipped: 0, inferenceSeconds: 0 };
  const it = sets[Symbol.asyncIterator]();
  let done = 0;
  const scratch: RunScratch = { runSeconds: 0 };

  const nextChunk = async (): Promise<ImageSetJob[]> => {
    const jobs: ImageSetJob[] = [];
    let images = 0;
    while (images < batchSize) {
      const n = await it.next();
      if (n.done) break;
      jobs.push(n.value);
      images += imagesOf(n.value, opts.method);
    }
    return jobs;
  };
  const decode = (jobs: ImageSetJob[]): Promise<Ready[]> =>
    Promise.all(
      jobs.map((job) =>
        planesForSet(job.files, opts.method, size).then(
          (planes): Ready => ({ job, planes }),
          (error: unknown): Ready => ({ job, error }),
        ),
      ),
    );

  const runGroup = async (group: { job: ImageSetJob; planes: Plane[] }[]): Promise<void> => {
    const planes = group.flatMap((p) => p.planes);
    if (!planes.length) return;
    const rows: Float32Array[] = [];
    // Native-size microscopy images can be megapixels: fewer per call keeps activations bounded.
    const pixels = planes[0].width * planes[0].height;
    const step = model.maxBatch !== undefined ? batchSize : Math.max(1, Math.min(batchSize, Math.floor(MAX_BATCH_PIXELS / pixels)));
    for (let i = 0; i < planes.length; i += step) for (const row of await runPlanes(model, planes.slice(i, i + step), scratch)) rows.push(row);
    stats.inferenceSeconds = scratch.runSeconds;
    let r = 0;
    for (const p of group) {
      const k = p.planes.length;
      let features: Float32Array;
      if (k === 1) features = rows[r];
      else {
        // concat: the set's per-channel vectors side by side (1280 · n)
        const per = rows[r].length;
        features = new Float32Array(per * k);
        for (let j = 0; j < k; j++) features.set(rows[r + j], j * per);
      }
      r += k;
      await opts.onRow(p.job.key, features);
      stats.sets++;
      stats.images += k;
      opts.onProgress?.(++done);
    }
  };

  let chunk = await nextChunk();
  let decoded = chunk.length ? decode(chunk) : undefined;
  while (decoded) {
    const ready = await decoded;
    const following = await nextChunk();
    decoded = undefined;
    if ((opts.overlap ?? true) && following.length) decoded = decode(following);
    let group: { job: ImageSetJob; planes: Plane[] }[] = [];
    for (const r of ready) {
      if (r.error !== undefined || !r.planes) {
        if (!opts.skipUnreadable) {
          throw r.error instanceof UserError ? r.error : new UserError(`image set '${r.job.key.join(', ')}': ${messageOf(r.error)}`);
        }
        await runGroup(group);
        group = [];
        stats.skipped++;
        opts.onSkip?.(r.job, messageOf(r.error));
        opts.onProgress?.(++done);
        continue;
      }
      const first = r.planes[0];
      const g0 = group[0]?.planes[0];
      if (g0 && (g0.width !== first.width || g0.height !== first.height)) {
        await runGroup(group);
        group = [];
      }
      group.push({ job: r.job, planes: r.planes });
    }
    await runGroup(group);
    chunk = following;
    if (!decoded && chunk.length) decoded = decode(chunk);
  }
  return stats;
}
