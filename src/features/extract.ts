// The extraction loop: image sets → chunks prepared ahead (decoded, normalised and packed in a
// worker thread, in parallel with inference) → onnxruntime → one feature row per set, in input order.
import ort from 'onnxruntime-node';
import { FEATURES } from '../defaults.js';
import { UserError, messageOf } from '../util/errors.js';
import type { FeatureModel } from './model.js';
import type { ImageSetJob } from './inputs.js';
import { packBatch, type Method, type Plane } from './preprocess.js';
import { MAX_BATCH_PIXELS, type PackedCall, type PrepConfig, type PreparedItem } from './chunk-prep.js';
import { InThreadPreparer, WorkerPreparer, type ChunkPreparer } from './prep-client.js';

export { MAX_BATCH_PIXELS };

export interface ExtractOptions {
  method: Method;
  /** Square side to resize to, or undefined for native size (the model's fixed size wins). */
  size?: number;
  /** Images per onnxruntime call (default FEATURES.batchSize). */
  batchSize?: number;
  /** Prepare the next chunk of image sets while the current one runs (default true; see below). */
  overlap?: boolean;
  /** Skip image sets whose files cannot be read (reported through onSkip) instead of stopping. */
  skipUnreadable?: boolean;
  onRow: (key: string[], features: Float32Array) => Promise<void> | void;
  onSkip?: (job: ImageSetJob, reason: string) => void;
  /** Called after each image set (done or skipped). */
  onProgress?: (done: number) => void;
  /**
   * Prepare chunks in a worker thread (default true), so decoding and normalisation overlap
   * session.run; false prepares them on this thread. The features are the same either way.
   */
  worker?: boolean;
  /** A preparer already started (its start-up then overlaps opening the model); the caller closes it. */
  preparer?: ChunkPreparer;
}

export interface ExtractStats {
  sets: number;
  images: number;
  skipped: number;
  /** Seconds spent inside session.run (packing the input tensor not included). */
  inferenceSeconds: number;
}

/** Seconds inside session.run, and a reusable input buffer (see packBatch). */
export interface RunScratch {
  input?: Float32Array;
  runSeconds: number;
}

/** Run one packed call; returns the feature vectors of its `count` real images. */
export async function runCall(model: FeatureModel, call: PackedCall, scratch?: RunScratch): Promise<Float32Array[]> {
  let data = call.data;
  if (data.buffer instanceof SharedArrayBuffer) {
    // onnxruntime-node refuses shared memory ("Invalid argument"): one copy into a reused buffer
    const n = data.length;
    const local = scratch?.input && scratch.input.length >= n ? scratch.input : new Float32Array(n);
    if (scratch) scratch.input = local;
    data = local.length === n ? local : local.subarray(0, n);
    data.set(call.data);
  }
  const input = new ort.Tensor('float32', data, call.dims);
  const t0 = process.hrtime.bigint();
  const result = await model.session.run({ [model.inputName]: input });
  if (scratch) scratch.runSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
  const out = result[model.outputName];
  const values = out.data as Float32Array;
  if (!(values instanceof Float32Array))
    throw new UserError(`model output '${model.outputName}' is ${out.type}, not float32`);
  const per = values.length / call.dims[0];
  const rows: Float32Array[] = [];
  for (let i = 0; i < call.count; i++) rows.push(values.slice(i * per, (i + 1) * per));
  for (const t of Object.values(result)) t.dispose();
  input.dispose();
  return rows;
}

/**
 * Run `model` over planes of one size; returns one feature vector per plane. With `scratch`, the
 * input tensor's memory is reused between calls and the time inside session.run is added up.
 */
export async function runPlanes(
  model: FeatureModel,
  planes: readonly Plane[],
  scratch?: RunScratch,
): Promise<Float32Array[]> {
  const n = planes.length;
  const batch = model.maxBatch ?? n;
  if (model.maxBatch !== undefined && n > model.maxBatch)
    throw new Error(`runPlanes: ${n} images for a model with batch ${model.maxBatch}`);
  const need = batch * model.channels * planes[0].width * planes[0].height;
  if (scratch && (scratch.input?.length ?? 0) < need) scratch.input = new Float32Array(need);
  const { data, dims } = packBatch(planes, model.channels, model.layout, batch, scratch?.input);
  return runCall(model, { data, dims, count: n }, scratch);
}

/** Images a set contributes: one per channel (concat) or one (merge). */
function imagesOf(job: ImageSetJob, method: Method): number {
  return method.startsWith('concat') ? job.files.length : 1;
}

/**
 * Sets are taken a chunk at a time (about batchSize images) and prepared — decoded, normalised,
 * packed into tensors (chunk-prep.ts) — while the previous chunk runs; rows go out in input order.
 * session.run blocks the JS thread, so by default a worker thread prepares the chunks and only
 * inference, the copying out of features and onRow stay on this thread. Two chunks are in flight
 * at most: the one running and the one being prepared. `overlap: false` prepares strictly after
 * each run (one chunk in flight).
 */
export async function extractFeatures(
  model: FeatureModel,
  sets: AsyncIterable<ImageSetJob>,
  opts: ExtractOptions,
): Promise<ExtractStats> {
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? FEATURES.batchSize, model.maxBatch ?? Infinity));
  const size = model.fixedSize ?? (opts.size ? { width: opts.size, height: opts.size } : undefined);
  const config: PrepConfig = {
    method: opts.method,
    size,
    batchSize,
    channels: model.channels,
    layout: model.layout,
    maxBatch: model.maxBatch,
  };
  const stats: ExtractStats = { sets: 0, images: 0, skipped: 0, inferenceSeconds: 0 };
  const it = sets[Symbol.asyncIterator]();
  let done = 0;
  const scratch: RunScratch = { runSeconds: 0 };
  const prep = opts.preparer ?? ((opts.worker ?? true) ? new WorkerPreparer() : new InThreadPreparer());

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
  const prepare = (jobs: ImageSetJob[]): Promise<PreparedItem[]> => {
    const p = prep.prepare(
      jobs.map((j) => j.files),
      config,
    );
    p.catch(() => undefined); // awaited later; abandoned (and so handled) when an earlier chunk fails
    return p;
  };

  const runGroup = async (jobs: ImageSetJob[], item: Extract<PreparedItem, { kind: 'group' }>): Promise<void> => {
    const rows: Float32Array[] = [];
    for (const call of item.calls) {
      for (const row of await runCall(model, call, scratch)) rows.push(row);
      prep.recycle(call.data.buffer);
    }
    stats.inferenceSeconds = scratch.runSeconds;
    let r = 0;
    for (const { index, images: k } of item.sets) {
      let features: Float32Array;
      if (k === 1) features = rows[r];
      else {
        // concat: the set's per-channel vectors side by side (1280 · n)
        const per = rows[r].length;
        features = new Float32Array(per * k);
        for (let j = 0; j < k; j++) features.set(rows[r + j], j * per);
      }
      r += k;
      await opts.onRow(jobs[index].key, features);
      stats.sets++;
      stats.images += k;
      opts.onProgress?.(++done);
    }
  };

  try {
    let chunk = await nextChunk();
    let prepared = chunk.length ? prepare(chunk) : undefined;
    while (prepared) {
      const items = await prepared;
      const current = chunk;
      chunk = await nextChunk();
      prepared = (opts.overlap ?? true) && chunk.length ? prepare(chunk) : undefined;
      for (const item of items) {
        if (item.kind === 'group') {
          await runGroup(current, item);
          continue;
        }
        const job = current[item.index];
        if (!opts.skipUnreadable) {
          throw item.error instanceof UserError
            ? item.error
            : new UserError(`image set '${job.key.join(', ')}': ${messageOf(item.error)}`);
        }
        stats.skipped++;
        opts.onSkip?.(job, messageOf(item.error));
        opts.onProgress?.(++done);
      }
      if (!prepared && chunk.length) prepared = prepare(chunk);
    }
  } finally {
    if (!opts.preparer) await prep.close();
  }
  return stats;
}
