// Bench of the distributed build (docs/build.md "Scaling out"): the same synthetic BBBC021-like
// corpus built, in interleaved reps, by the local pool (`build --workers 2`) and through a
// redis-server on a loopback port by two `cytoimagenet worker --concurrency 1` processes on this
// machine (`build --queue`), the baseline and the figure side by side. From the queue's shard
// timelines it prints the coordination cost per shard and per image set (worker takes the shard →
// its pool starts; pool done → result recorded by the coordinator) against the compute, the time
// workers sat idle between shards as a share of the wall time, and a projection for N machines.
//   node dist/bench/build-distributed.js [--sets 192] [--distinct 24] [--reps 2] [--shard-size 64]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD } from '../src/defaults.js';
import { buildRelease } from '../src/release/build-release.js';
import type { ShardTiming } from '../src/release/queue-link.js';
import { H, makeBbbc021Like, W } from './bbbc021-like.js';

const FULL_SCALE_SETS = 900_000;
const CLI = fileURLToPath(new URL('../../bin/cytoimagenet.js', import.meta.url));

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

function waitFor(child: ChildProcess, pattern: RegExp, what: string): Promise<void> {
  return new Promise((res, rej) => {
    let out = '';
    const t = setTimeout(() => rej(new Error(`timed out waiting for ${what}: ${out}`)), 30_000);
    const on = (d: Buffer): void => {
      out += d.toString();
      if (pattern.test(out)) {
        clearTimeout(t);
        res();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.on('exit', (code) => rej(new Error(`${what} exited (${code}): ${out}`)));
  });
}

async function main(): Promise<void> {
  const nSets = Number(arg('--sets', '192'));
  const distinct = Number(arg('--distinct', '24'));
  const reps = Number(arg('--reps', '2'));
  const shardSize = Number(arg('--shard-size', String(BUILD.shardSize)));
  const dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-bench-distributed-'));
  const children: ChildProcess[] = [];
  try {
    const { catalog, labels, sizes, cap } = await makeBbbc021Like(dir, nSets, distinct);
    const port = await freePort();
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir]);
    children.push(redis);
    await waitFor(redis, /Ready to accept connections/, 'redis-server');
    const url = `redis://127.0.0.1:${port}`;
    // Workers run for the whole bench, as they would on a cluster (their start-up is not a build's cost).
    for (let i = 0; i < 2; i++) {
      // Two workers share this machine's cores as the local pool's two processes do: one libvips
      // thread each (a worker alone on a machine would use the spare cores, see worker-pool.ts).
      const w = spawn(process.execPath, [CLI, 'worker', '--queue', url, '--concurrency', '1'], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, CYTOIMAGENET_BUILD_VIPS_THREADS: '1' },
      });
      children.push(w);
      await waitFor(w, /takes shards from/, 'worker');
    }

    const local: number[] = [];
    const queued: number[] = [];
    const timings: ShardTiming[][] = [];
    const walls: { t0: number; t1: number }[] = [];
    const quiet = { minRelease: 1, progress: false, log: () => undefined };
    for (let r = 0; r < reps; r++) {
      // Interleaved, so load from other users of the machine hits both alike.
      const outL = join(dir, `local-${r}`);
      const tl = performance.now();
      await buildRelease({ catalog, labels, out: outL, workers: 2, ...quiet });
      local.push(nSets / ((performance.now() - tl) / 1000));
      await rm(outL, { recursive: true });

      const outQ = join(dir, `queue-${r}`);
      const shards: ShardTiming[] = [];
      const t0 = Date.now();
      await buildRelease({
        catalog,
        labels,
        out: outQ,
        queue: url,
        shardSize,
        onQueueShard: (t) => shards.push(t),
        ...quiet,
      });
      const t1 = Date.now();
      queued.push(nSets / ((t1 - t0) / 1000));
      timings.push(shards);
      walls.push({ t0, t1 });
      await rm(outQ, { recursive: true });
    }

    const all = timings.flat();
    const pickup = all.map((t) => t.startedAt - t.takenAt);
    const report = all.map((t) => t.recordedAt - t.endedAt);
    const compute = all.map((t) => t.endedAt - t.startedAt);
    const coord = all.map((t) => t.coordinatorMs);
    // Idle time of each worker process: from the first shard queued to its first shard, and
    // between its shards (the time the queue, not the images, took); and, apart, the tail where
    // one worker has no shard left while another finishes its last (the shard size's cost).
    const idle = timings.map((shards, r) => {
      const { t0, t1 } = walls[r];
      const queuedAt = Math.min(...shards.map((t) => t.addedAt));
      const lastEnd = Math.max(...shards.map((t) => t.endedAt));
      const byWorker = new Map<number, ShardTiming[]>();
      for (const t of shards) byWorker.set(t.pid, [...(byWorker.get(t.pid) ?? []), t]);
      let gaps = 0;
      let tail = 0;
      for (const list of byWorker.values()) {
        list.sort((a, b) => a.startedAt - b.startedAt);
        gaps += list[0].startedAt - queuedAt;
        for (let i = 1; i < list.length; i++) gaps += list[i].startedAt - list[i - 1].endedAt;
        tail += lastEnd - list[list.length - 1].endedAt;
      }
      // A worker that got no shard at all idled through the whole run.
      tail += (2 - byWorker.size) * (lastEnd - queuedAt);
      return { gaps: gaps / (2 * (t1 - t0)), tail: tail / (2 * (t1 - t0)) };
    });
    const perSetCompute = median(all.map((t) => (t.endedAt - t.startedAt) / t.sets));
    const shardOverhead = median(pickup) + median(report);
    const l = median(local);
    const q = median(queued);
    console.log(
      `build-distributed bench: ${nSets} synthetic BBBC021-like sets (${distinct} distinct 3 × ${W}×${H} 16-bit TIFF), labels of ${sizes.join('/')} at cap ${cap}; shards of ${shardSize}; ${cpus().length} cores; ${reps} interleaved reps, medians`,
    );
    console.log(
      `  baseline: local pool, build --workers 2: ${l.toFixed(2)} sets/s  (runs: ${local.map((x) => x.toFixed(2)).join(', ')})`,
    );
    console.log(
      `  build --queue, 2 workers × --concurrency 1 on this machine: ${q.toFixed(2)} sets/s  (runs: ${queued.map((x) => x.toFixed(2)).join(', ')})`,
    );
    console.log(
      `  queue / local pool = ${((100 * q) / l).toFixed(1)} % (per rep: ${queued.map((x, i) => ((100 * x) / local[i]).toFixed(0)).join(', ')})   goal ≥ 90 %`,
    );
    console.log(
      `  per shard (${all.length} shards): compute ${(median(compute) / 1000).toFixed(2)} s (${perSetCompute.toFixed(0)} ms per set); worker takes → pool starts ${median(pickup).toFixed(1)} ms; pool done → recorded by the coordinator ${median(report).toFixed(1)} ms; coordinator work ${median(coord).toFixed(1)} ms`,
    );
    console.log(
      `  coordination per shard = ${shardOverhead.toFixed(1)} ms = ${((100 * shardOverhead) / median(compute)).toFixed(2)} % of its compute (${(shardOverhead / shardSize).toFixed(2)} ms per image set against ${perSetCompute.toFixed(0)} ms)`,
    );
    console.log(
      `  workers idle waiting for the queue: ${idle.map((x) => (100 * x.gaps).toFixed(2)).join(', ')} % of the build's wall time (per rep)   goal ≤ 3 %`,
    );
    console.log(
      `  workers idle at the end, another finishing its last shard: ${idle.map((x) => (100 * x.tail).toFixed(1)).join(', ')} % (shard granularity; smaller with more shards per worker)`,
    );
    // Projection: each machine like this one at the measured queue rate, until the single
    // coordinator's per-shard work saturates it.
    const perMachine = q;
    const coordinatorCap = (shardSize * 1000) / Math.max(0.01, median(coord));
    const ns = [1, 2, 4, 8, 16, 32, 64, 128];
    console.log(
      `  projection (${FULL_SCALE_SETS.toLocaleString('en-US')} sets; each machine like this one at ${perMachine.toFixed(2)} sets/s; one coordinator records ≤ ${coordinatorCap.toFixed(0)} sets/s at ${median(coord).toFixed(1)} ms per shard of ${shardSize}):`,
    );
    for (const n of ns) {
      const rate = Math.min(n * perMachine, coordinatorCap);
      const hours = FULL_SCALE_SETS / rate / 3600;
      console.log(
        `    ${String(n).padStart(3)} machine${n === 1 ? ' ' : 's'}: ${rate.toFixed(1).padStart(8)} sets/s ≈ ${hours.toFixed(1).padStart(6)} h${rate === coordinatorCap ? '  (coordinator-bound)' : ''}`,
      );
    }
    // After the last result the coordinator alone places the images and writes the tables and
    // the card: a serial part that N machines do not shorten.
    const finish = median(timings.map((shards, r) => walls[r].t1 - Math.max(...shards.map((t) => t.recordedAt))));
    const finishPerSet = finish / nSets;
    console.log(
      `  then the coordinator alone (placing, tables, card): ${(finish / 1000).toFixed(2)} s for ${nSets} sets = ${finishPerSet.toFixed(2)} ms per set → ≈ ${((finishPerSet * FULL_SCALE_SETS) / 3_600_000).toFixed(2)} h at full scale, added to every line above`,
    );
  } finally {
    for (const c of children.reverse()) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
