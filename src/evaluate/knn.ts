// Exact k-nearest neighbours by squared Euclidean distance.
//
// The reference definition is float64: D(q, t) = Σ (q_i − t_i)², summed in column order, and the
// k neighbours are the k smallest D, ties broken by the lower training row. bruteForceKnn computes
// exactly that. exactKnn returns the same answer fast: onnxruntime multiplies blocks of queries by
// blocks of training rows (float32 Gemm + TopK) to find a few candidates per query, with a rigorous
// bound on float32 rounding; the candidates that can still be in the top k are then re-measured with
// the float64 definition. A query whose candidate list cannot be proven complete (many near-equal
// distances) is answered by brute force. The full distance matrix is never held.
import os from 'node:os';
import ort from 'onnxruntime-node';
import { disableOnnxRuntimeTelemetry } from '../util/onnx-runtime-env.js';
import type { Matrix } from './matrix.js';
import { distanceTopKModel } from './onnx-graph.js';

export interface KnnResult {
  k: number;
  /** Number of queries. */
  rows: number;
  /** rows × k training row indices, nearest first. */
  index: Int32Array;
  /** rows × k float64 squared distances. */
  distance: Float64Array;
  /** Queries answered by the brute-force fallback (0 in the common case). */
  fallbacks: number;
}

export interface KnnOptions {
  /** The query matrix is the training matrix: query i never gets training row i (leave-one-out). */
  excludeSelf?: boolean;
}

export function squaredL2(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s = 0;
  for (let i = 0; i < d; i++) {
    const x = a[ao + i] - b[bo + i];
    s += x * x;
  }
  return s;
}

/** Inserts (dist, idx) into the sorted top-k arrays [0, len) if it belongs; returns the new length. */
function insertTop(
  dist: Float64Array,
  idx: Int32Array,
  off: number,
  len: number,
  k: number,
  d: number,
  i: number,
): number {
  if (len === k) {
    const ld = dist[off + k - 1];
    if (d > ld || (d === ld && i > idx[off + k - 1])) return len;
  } else {
    len++;
  }
  let p = off + len - 1;
  while (p > off && (dist[p - 1] > d || (dist[p - 1] === d && idx[p - 1] > i))) {
    dist[p] = dist[p - 1];
    idx[p] = idx[p - 1];
    p--;
  }
  dist[p] = d;
  idx[p] = i;
  return len;
}

function checkArgs(train: Matrix, query: Matrix, k: number, opts: KnnOptions): void {
  if (train.cols !== query.cols)
    throw new RangeError(`knn: training rows have ${train.cols} columns, queries ${query.cols}`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`knn: k must be a positive integer, got ${k}`);
  const available = train.rows - (opts.excludeSelf ? 1 : 0);
  if (available < k)
    throw new RangeError(`knn: ${k} neighbours asked but only ${available} training rows are eligible`);
  if (opts.excludeSelf && train !== query && train.data !== query.data)
    throw new RangeError('knn: excludeSelf needs the query matrix to be the training matrix');
}

function bruteForceOne(
  train: Matrix,
  query: Matrix,
  q: number,
  k: number,
  excludeSelf: boolean,
  dist: Float64Array,
  idx: Int32Array,
): void {
  const d = train.cols;
  const off = q * k;
  let len = 0;
  for (let t = 0; t < train.rows; t++) {
    if (excludeSelf && t === q) continue;
    len = insertTop(dist, idx, off, len, k, squaredL2(query.data, q * d, train.data, t * d, d), t);
  }
}

/** The reference: every distance in float64, k smallest by (distance, row). */
export function bruteForceKnn(train: Matrix, query: Matrix, k: number, opts: KnnOptions = {}): KnnResult {
  checkArgs(train, query, k, opts);
  const index = new Int32Array(query.rows * k);
  const distance = new Float64Array(query.rows * k);
  for (let q = 0; q < query.rows; q++) bruteForceOne(train, query, q, k, !!opts.excludeSelf, distance, index);
  return { k, rows: query.rows, index, distance, fallbacks: 0 };
}

export interface ExactKnnOptions extends KnnOptions {
  /** Queries per engine call. */
  queryBlock?: number;
  /** Training rows per engine call. */
  trainBlock?: number;
  /** Candidates kept per query before exact re-measurement (default 2k + 16). */
  candidates?: number;
  /** Engine threads (default: all cores). */
  threads?: number;
  onProgress?: (queriesDone: number, queriesTotal: number) => void;
}

const U32 = 2 ** -24;

/**
 * Bound on |float32 (tn − 2 q·t) + |q|² − float64 D|: a float32 sum of d + 2 terms (γ_{d+2}) over
 * magnitudes ≤ |t|² + 2|q||t|, plus the float64 reference's own rounding.
 */
function roundingBound(gamma: number, qNorm: number, qSq: number, tNorm: number, tSq: number): number {
  return 1.01 * gamma * (tSq + 2 * qNorm * tNorm) + 1e-12 * (qSq + tSq) + 1e-300;
}

let sessionPromise: Promise<ort.InferenceSession> | null = null;
let sessionThreads = 0;
function session(threads: number): Promise<ort.InferenceSession> {
  if (!sessionPromise || sessionThreads !== threads) {
    sessionThreads = threads;
    disableOnnxRuntimeTelemetry();
    sessionPromise = ort.InferenceSession.create(distanceTopKModel(), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    });
  }
  return sessionPromise;
}

interface Candidates {
  /** Per query of the block: float32 (tn − 2 q·t) values, ascending; and training rows. */
  value: Float64Array;
  index: Int32Array;
  /** Candidates per query in this block. */
  width: number;
  /** True when some training rows were not returned as candidates. */
  truncated: boolean;
}

/** Merge two ascending candidate lists (a has aw per row, b has bw) keeping the `keep` smallest. */
function mergeCandidates(a: Candidates, b: Candidates, rows: number, keep: number): Candidates {
  const width = Math.min(keep, a.width + b.width);
  const value = new Float64Array(rows * width);
  const index = new Int32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    let i = 0;
    let j = 0;
    for (let o = 0; o < width; o++) {
      const takeA = j >= b.width || (i < a.width && a.value[r * a.width + i] <= b.value[r * b.width + j]);
      if (takeA) {
        value[r * width + o] = a.value[r * a.width + i];
        index[r * width + o] = a.index[r * a.width + i++];
      } else {
        value[r * width + o] = b.value[r * b.width + j];
        index[r * width + o] = b.index[r * b.width + j++];
      }
    }
  }
  return { value, index, width, truncated: a.truncated || b.truncated || width < a.width + b.width };
}

/** Exact kNN (same answer as bruteForceKnn) with onnxruntime doing the bulk arithmetic. */
export async function exactKnn(
  train: Matrix,
  query: Matrix,
  k: number,
  opts: ExactKnnOptions = {},
): Promise<KnnResult> {
  checkArgs(train, query, k, opts);
  const d = train.cols;
  const excludeSelf = !!opts.excludeSelf;
  const nTrain = train.rows;
  const keep = Math.min(nTrain, opts.candidates ?? 2 * k + 16 + (excludeSelf ? 1 : 0));
  if (keep < k + (excludeSelf ? 1 : 0))
    throw new RangeError('knn: candidates must be at least k (+1 with excludeSelf)');
  const queryBlock = opts.queryBlock ?? 512;
  const trainBlock = opts.trainBlock ?? 65536; // ~42 k COOS-7 training rows in one call: the next block then fully overlaps the JS re-measure
  const threads = opts.threads ?? Math.max(1, os.availableParallelism());
  const sess = await session(threads);

  // Per training row: |t|² in float64 (exact-ish) and float32 (the engine's input), and |t|.
  const tSq = new Float64Array(nTrain);
  const tSq32 = new Float32Array(nTrain);
  const tNorm = new Float64Array(nTrain);
  let tSqMax = 0;
  let tNormMax = 0;
  for (let t = 0; t < nTrain; t++) {
    let s = 0;
    for (let j = t * d, e = j + d; j < e; j++) s += train.data[j] * train.data[j];
    tSq[t] = s;
    tSq32[t] = s;
    tNorm[t] = Math.sqrt(s);
    if (s > tSqMax) tSqMax = s;
    if (tNorm[t] > tNormMax) tNormMax = tNorm[t];
  }
  const gamma = ((d + 2) * U32) / (1 - (d + 2) * U32);

  const trainTensors: { start: number; rows: number; t: ort.Tensor; tn: ort.Tensor }[] = [];
  for (let s = 0; s < nTrain; s += trainBlock) {
    const rows = Math.min(trainBlock, nTrain - s);
    trainTensors.push({
      start: s,
      rows,
      t: new ort.Tensor('float32', train.data.subarray(s * d, (s + rows) * d), [rows, d]),
      tn: new ort.Tensor('float32', tSq32.subarray(s, s + rows), [rows]),
    });
  }

  async function candidatesFor(qStart: number, qRows: number): Promise<Candidates> {
    const q = new ort.Tensor('float32', query.data.subarray(qStart * d, (qStart + qRows) * d), [qRows, d]);
    let merged: Candidates | null = null;
    for (const tb of trainTensors) {
      const kk = Math.min(keep, tb.rows);
      const out = await sess.run({
        q,
        t: tb.t,
        tn: tb.tn,
        k: new ort.Tensor('int64', BigInt64Array.from([BigInt(kk)]), [1]),
      });
      const vals = out.values.data as Float32Array;
      const idxs = out.indices.data as BigInt64Array;
      const value = new Float64Array(qRows * kk);
      const index = new Int32Array(qRows * kk);
      for (let i = 0; i < qRows * kk; i++) {
        value[i] = vals[i];
        index[i] = Number(idxs[i]) + tb.start;
      }
      const c: Candidates = { value, index, width: kk, truncated: kk < tb.rows };
      merged = merged ? mergeCandidates(merged, c, qRows, keep) : c;
    }
    return merged!;
  }

  const index = new Int32Array(query.rows * k);
  const distance = new Float64Array(query.rows * k);
  let fallbacks = 0;
  const upper = new Float64Array(keep);
  const approx = new Float64Array(keep);
  const bound = new Float64Array(keep);

  function refine(qStart: number, qRows: number, c: Candidates): void {
    const w = c.width;
    for (let r = 0; r < qRows; r++) {
      const q = qStart + r;
      const qo = q * d;
      let qSq = 0;
      for (let j = qo; j < qo + d; j++) qSq += query.data[j] * query.data[j];
      const qNorm = Math.sqrt(qSq);
      // Candidates other than the query itself, with their error intervals.
      let n = 0;
      const rowIdx: number[] = [];
      for (let j = 0; j < w; j++) {
        const t = c.index[r * w + j];
        if (excludeSelf && t === q) continue;
        approx[n] = qSq + c.value[r * w + j];
        bound[n] = roundingBound(gamma, qNorm, qSq, tNorm[t], tSq[t]);
        upper[n] = approx[n] + bound[n];
        rowIdx.push(t);
        n++;
      }
      // U: the k-th smallest upper bound; the true k-th distance is at most U.
      const ups = Array.from(upper.subarray(0, n)).sort((x, y) => x - y);
      const U = ups[k - 1];
      if (c.truncated) {
        // Every training row not returned has approximate value ≥ the last one returned.
        const last = qSq + c.value[r * w + w - 1];
        const lowDropped = last - roundingBound(gamma, qNorm, qSq, tNormMax, tSqMax);
        if (!(lowDropped > U)) {
          bruteForceOne(train, query, q, k, excludeSelf, distance, index);
          fallbacks++;
          continue;
        }
      }
      let len = 0;
      for (let j = 0; j < n; j++) {
        if (approx[j] - bound[j] > U) continue;
        const t = rowIdx[j];
        len = insertTop(distance, index, q * k, len, k, squaredL2(query.data, qo, train.data, t * d, d), t);
      }
    }
  }

  const blocks: [number, number][] = [];
  for (let s = 0; s < query.rows; s += queryBlock) blocks.push([s, Math.min(queryBlock, query.rows - s)]);
  // Overlap: the engine works on the next block while JavaScript refines the current one.
  let next = blocks.length ? candidatesFor(blocks[0][0], blocks[0][1]) : null;
  for (let b = 0; b < blocks.length; b++) {
    const cur = await next!;
    next = b + 1 < blocks.length ? candidatesFor(blocks[b + 1][0], blocks[b + 1][1]) : null;
    refine(blocks[b][0], blocks[b][1], cur);
    opts.onProgress?.(blocks[b][0] + blocks[b][1], query.rows);
  }
  return { k, rows: query.rows, index, distance, fallbacks };
}
