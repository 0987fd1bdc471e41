// Exact kNN at COOS-7 scale: ~42 k training cells, ~90 k test cells, 1,280 dimensions, k = 11.
//
//   node dist/bench/evaluate-knn.js            a 4,096-query slice against the full training set,
//                                              projected to 90 k queries (said so in the output)
//   node dist/bench/evaluate-knn.js --full     the real full-scale run (about 1 GB of features)
//
// Prints the effective GFLOP/s (2·m·n·d per distance block: the work of the distance matrix) of
// exactKnn (onnxruntime Gemm + TopK, exact float64 re-measure) against a plain JavaScript loop
// computing the same distances, both measured in this process, and their ratio. Also checks a
// sample of queries against the brute-force reference. Data: seeded uniform values, the hardest
// case for the candidate bound (distances concentrate in high dimension).
import os from 'node:os';
import { Rng } from '../src/util/rng.js';
import { bruteForceKnn, exactKnn, squaredL2 } from '../src/evaluate/knn.js';
import { selectRows, type Matrix } from '../src/evaluate/matrix.js';

const TRAIN = 42_000;
const TEST = 90_000;
const DIM = 1280;
const K = 11;
const full = process.argv.includes('--full');
const sliceQueries = full ? TEST : 4096;

/** Seeded rows: each row a window of a seeded pool of uniform values at a seeded offset. */
function randomRows(rows: number, seed: number): Matrix {
  const rng = Rng.fromSeed(seed);
  const pool = Float32Array.from({ length: 1 << 20 }, () => rng.float() * 2 - 1);
  const data = new Float32Array(rows * DIM);
  for (let r = 0; r < rows; r++) {
    const off = rng.int(0, pool.length - DIM);
    data.set(pool.subarray(off, off + DIM), r * DIM);
    data[r * DIM + (r % DIM)] += rng.float(); // no two rows alike
  }
  return { rows, cols: DIM, data };
}

const gflop = (m: number, n: number) => (2 * m * n * DIM) / 1e9;

console.log(
  `exact kNN bench: ${TRAIN} training rows × ${DIM} dims, k=${K}, ${os.availableParallelism()} cores, load ${os.loadavg()[0].toFixed(1)}`,
);
const train = randomRows(TRAIN, 1);
const query = randomRows(sliceQueries, 2);

// Baseline: the same distances in a plain JavaScript loop (a slice; it is slow).
const jsQueries = 24;
let t0 = performance.now();
let sink = 0;
for (let q = 0; q < jsQueries; q++)
  for (let t = 0; t < TRAIN; t++) sink += squaredL2(query.data, q * DIM, train.data, t * DIM, DIM);
const jsSec = (performance.now() - t0) / 1000;
const jsRate = gflop(jsQueries, TRAIN) / jsSec;
console.log(
  `plain JS loop : ${jsQueries} queries in ${jsSec.toFixed(2)} s = ${jsRate.toFixed(2)} GFLOP/s (checksum ${sink.toExponential(3)})`,
);

// Warm the engine (session creation) outside the timing.
await exactKnn(train, selectRows(query, [0, 1]), K);
t0 = performance.now();
const cpu0 = process.cpuUsage();
const got = await exactKnn(train, query, K);
const sec = (performance.now() - t0) / 1000;
const cpuUsed = process.cpuUsage(cpu0);
// CPU seconds over all threads: what the work costs however busy the shared machine is.
const cpuSec = (cpuUsed.user + cpuUsed.system) / 1e6;
const cores = os.availableParallelism();
const rate = gflop(sliceQueries, TRAIN) / sec;
console.log(
  `exactKnn      : ${sliceQueries} queries in ${sec.toFixed(2)} s = ${rate.toFixed(1)} GFLOP/s effective (${got.fallbacks} brute-force fallbacks)`,
);
console.log(`ratio         : ${(rate / jsRate).toFixed(0)}× the plain JS loop`);
console.log(
  `cpu time      : ${cpuSec.toFixed(1)} CPU-s over all threads (wall ${sec.toFixed(1)} s; ${((100 * cpuSec) / (sec * cores)).toFixed(0)} % of ${cores} cores were ours)`,
);

// Exactness on a sample (the reference is the plain loop, so keep it small).
const sample = Array.from({ length: 8 }, (_, i) => Math.floor((i * sliceQueries) / 8));
const ref = bruteForceKnn(train, selectRows(query, sample), K);
const same = sample.every((q, i) => {
  for (let j = 0; j < K; j++)
    if (ref.index[i * K + j] !== got.index[q * K + j] || ref.distance[i * K + j] !== got.distance[q * K + j])
      return false;
  return true;
});
console.log(`exactness     : ${same ? 'identical' : 'DIFFERENT'} to brute force on ${sample.length} sampled queries`);

if (full) {
  console.log(
    `COOS-7 scale  : measured ${sec.toFixed(1)} s for ${TEST} queries (goal ≤ 180 s); ${cpuSec.toFixed(0)} CPU-s, i.e. ~${(cpuSec / cores).toFixed(0)} s on ${cores} idle cores`,
  );
} else {
  const projected = (sec * TEST) / sliceQueries;
  const jsProjected = gflop(TEST, TRAIN) / jsRate / 3600;
  const idle = (cpuSec * TEST) / sliceQueries / cores;
  console.log(
    `COOS-7 scale  : PROJECTED ${projected.toFixed(0)} s wall at this load, ~${idle.toFixed(0)} s on ${cores} idle cores (from CPU time), for ${TEST} queries (linear in queries; goal ≤ 180 s; --full measures); plain JS would take ~${jsProjected.toFixed(1)} h`,
  );
}
if (!same) process.exitCode = 1;
