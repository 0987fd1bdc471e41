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
  /** Image sets decoded ahead of inference (default 2 × batchSize). */
  prefetch?: number;
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
  /** Seconds spent inside session.run. */
  inferenceSeconds: number;
}

interface Ready {
  job: ImageSetJob;
  planes?: Plane[];
  error?: unknown;
}

/** Run `model` over planes of one size; returns one feature vector per plane. */
export async function runPlanes(model: FeatureModel, planes: readonly Plane[]): Promise<Float32Array[]> {
  const n = planes.length;
  const batch = model.maxBatch ?? n;
  if (model.maxBatch !== undefined && n > model.maxBatch) throw new Error(`runPlanes: ${n} images for a model with batch ${model.maxBatch}`);
  const { data, dims } = packBatch(planes, model.channels, model.layout, batch);
  const input = new ort.Tensor('float32', data, dims);
  const result = await model.session.run({ [model.inputName]: input });
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

export async function extractFeatures(model: FeatureModel, sets: AsyncIterable<ImageSetJob>, opts: ExtractOptions): Promise<ExtractStats> {
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? 16, model.maxBatch ?? Infinity));
  const prefetch = Math.max(1, opts.prefetch ?? 2 * batchSize);
  const size = model.fixedSize ?? (opts.size ? { width: opts.size, height: opts.size } : undefined);
  const stats: ExtractStats = { sets: 0, images: 0, skipped: 0, inferenceSeconds: 0 };
  const it = sets[Symbol.asyncIterator]();
  const queue: Promise<Ready>[] = [];
  let exhausted = false;
  const fill = async (): Promise<void> => {
    while (!exhausted && queue.length < prefetch) {
      const next = await it.next();
      if (next.done) {
        exhausted = true;
        break;
      }
      const job = next.value;
      queue.push(
        planesForSet(job.files, opts.method, size).then(
          (planes) => ({ job, planes }),
          (error: unknown) => ({ job, error }),
        ),
      );
    }
  };

  let pending: { job: ImageSetJob; planes: Plane[] }[] = [];
  let pendingImages = 0;
  let done = 0;
  const flush = async (): Promise<void> => {
    if (!pending.length) return;
    const planes = pending.flatMap((p) => p.planes);
    const t0 = process.hrtime.bigint();
    const rows: Float32Array[] = [];
    // A fixed-batch model takes exactly maxBatch images per call.
    for (let i = 0; i < planes.length; i += batchSize) rows.push(...(await runPlanes(model, planes.slice(i, i + batchSize))));
    stats.inferenceSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
    let r = 0;
    for (const p of pending) {
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
    pending = [];
    pendingImages = 0;
  };

  await fill();
  while (queue.length) {
    const ready = await queue.shift()!;
    const refill = fill();
    if (ready.error !== undefined || !ready.planes) {
      if (!opts.skipUnreadable) {
        await refill;
        throw ready.error instanceof UserError ? ready.error : new UserError(`image set '${ready.job.key.join(', ')}': ${messageOf(ready.error)}`);
      }
      stats.skipped++;
      opts.onSkip?.(ready.job, messageOf(ready.error));
      // keep output order: rows already batched go out first
      await flush();
      opts.onProgress?.(++done);
      await refill;
      continue;
    }
    const planes = ready.planes;
    const first = planes[0];
    const sameSize = !pending.length || (pending[0].planes[0].width === first.width && pending[0].planes[0].height === first.height);
    if (!sameSize || pendingImages + planes.length > batchSize) await flush();
    pending.push({ job: ready.job, planes });
    pendingImages += planes.length;
    if (pendingImages >= batchSize) await flush();
    await refill;
  }
  await flush();
  return stats;
}
