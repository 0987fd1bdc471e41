// Entry point of one build worker process (child_process.fork). It takes jobs from the main
// process, runs the per-image path and answers with each result: the pixel work of one job at a
// time, overlapped by the next job's decode and the previous job's PNG encoding. It exits when
// told to, or when the main process goes away (after a kill -9 of the build, no orphan keeps
// writing).
import sharp from 'sharp';
import { finishJob, prepareJob } from './process-job.js';
import { decodeSet, type DecodedSet, useTypedArrayOutputs } from '../imaging/index.js';
import { filePixels } from '../imaging/decode-footprint.js';
import { BUILD, IMAGING } from '../defaults.js';
import { appendFileSync } from 'node:fs';
import type { FromWorker, ToWorker, WorkerSetup } from './worker-protocol.js';
import type { Job } from './types.js';
import { fetchStats } from '../sources/fetch/http.js';
import { applyRemoteReadSettings } from '../sources/fetch/remote-settings.js';
import { reuseFileBuffers } from '../sources/fetch/buffer-pool.js';

// Bytes fetched over HTTP already reported to the main process (for its progress bar).
let reportedBytes = 0;

// One image per process at a time: parallelism comes from processes (measured faster here than
// libvips threads), and a cache only grows memory when every file is read once.
sharp.concurrency(Number(process.env.CYTOIMAGENET_BUILD_VIPS_THREADS ?? 1));
sharp.cache(false);
// sharp's typed-array outputs (faster, but never freed: src/imaging/sharp-output.ts): this process
// is replaced once its memory passes BUILD.workerRetireMb.
useTypedArrayOutputs();
// With libvips's cache off, nothing refers to a remote file's bytes after its decode: the next
// file may reuse the buffer (src/sources/fetch/buffer-pool.ts).
reuseFileBuffers(true);

let setup: WorkerSetup | null = null;
const queue: Job[] = [];
let busy = false;

function send(msg: FromWorker): void {
  // After 'stop' the channel is closing; a late message would be an unhandled 'error' event.
  if (process.connected) process.send?.(msg);
}

// The next job's files are decoded while this job's pixels are computed: libvips decodes on its
// own threads, so the decode of job i+1 overlaps the JavaScript work of job i.
let ahead: { key: string; decoded: DecodedSet } | null = null;
let runningDecoded = false;
let running = 0;

// A large image set (IMAGING.largeDecodePixels) is decoded only with the main process's leave,
// which it gives to few workers at a time, and never ahead: N workers would otherwise hold N of
// them at once. (Read in bands, a 16000² set adds about 0.1–0.2 GB to a worker, its disk spill
// the decoded size; decoded whole, as sets the strip path cannot stream still are, 1.5–2.5 GB.)
// Resident memory past which this worker asks to be replaced (see BUILD.workerRetireMb).
const retireBytes = Number(process.env.CYTOIMAGENET_BUILD_WORKER_RETIRE_MB ?? BUILD.workerRetireMb) * 1024 * 1024;
const LARGE_PIXELS = Number(process.env.CYTOIMAGENET_BUILD_LARGE_PIXELS ?? IMAGING.largeDecodePixels);
// Sets this large are read in bands from spill files (src/imaging/spill-rows.ts); the variable
// lets bench/build-large-images.ts run the whole-image decode of before in the same run.
const STRIP_PIXELS = Number(process.env.CYTOIMAGENET_BUILD_STRIP_PIXELS ?? IMAGING.stripPixels);
const pixelsOf = new Map<string, number>();
function jobPixels(job: Job): number {
  let n = pixelsOf.get(job.key);
  if (n === undefined) {
    n = job.files.reduce((s, f) => s + filePixels(f), 0);
    pixelsOf.set(job.key, n);
  }
  return n;
}
function isLarge(job: Job): boolean {
  return jobPixels(job) >= LARGE_PIXELS;
}
// (the headers are read once per job: decodeSet is given their count)
const decodeJob = (job: Job): DecodedSet => decodeSet(job.files, { stripPixels: STRIP_PIXELS, pixels: jobPixels(job) });
let granted: (() => void) | null = null;
function acquireLarge(): Promise<void> {
  return new Promise((resolveGrant) => {
    granted = resolveGrant;
    send({ type: 'large-acquire' });
  });
}
/** Test hook: CYTOIMAGENET_BUILD_LARGE_TRACE=<file> gets a line when a large set starts and ends. */
function trace(what: 'start' | 'end', key: string): void {
  const f = process.env.CYTOIMAGENET_BUILD_LARGE_TRACE;
  if (f) appendFileSync(f, `${process.hrtime.bigint()} ${what} ${key}\n`);
}

function decodeAhead(): void {
  const next = queue[0];
  if (ahead === null && next !== undefined && !isLarge(next)) ahead = { key: next.key, decoded: decodeJob(next) };
}

let failed = false;
function fatal(e: unknown): void {
  if (failed) return;
  failed = true;
  send({ type: 'fatal', message: e instanceof Error ? e.message : String(e) });
  process.exitCode = 2;
  process.disconnect?.();
}

// A job's PNGs are encoded and staged while the next job's pixels are computed; its result is sent
// when its files are staged (results may overtake each other; the main process matches them by key).
async function drain(): Promise<void> {
  if (busy || setup === null) return;
  busy = true;
  try {
    while (queue.length > 0 && !failed) {
      const job = queue.shift() as Job;
      // Test hook: die like a native crash would, on one image set.
      if (process.env.CYTOIMAGENET_BUILD_WORKER_CRASH_ON === job.idx) process.kill(process.pid, 'SIGKILL');
      // Test hook: hang like a decoder stuck on a hostile file would (blocked, not spinning).
      if (process.env.CYTOIMAGENET_BUILD_WORKER_HANG_ON === job.idx)
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      const large = isLarge(job);
      if (large) {
        await acquireLarge();
        trace('start', job.key);
      }
      const decoded = ahead !== null && ahead.key === job.key ? ahead.decoded : decodeJob(job);
      ahead = null;
      runningDecoded = false;
      const me = ++running;
      void decoded.then(() => {
        if (me !== running) return; // that job already ended (its files were missing)
        runningDecoded = true;
        decodeAhead();
      });
      const prepared = await prepareJob(job, decoded);
      const result = 'pngs' in prepared ? finishJob(prepared, setup.stagingDir) : Promise.resolve(prepared);
      result.then((r) => {
        if (large) {
          // The set's pixels and PNGs are dropped with this job. Collect them now, so the memory is
          // back with the system before another worker is let in (the garbage collector would
          // otherwise keep it a while, and N workers would hold N large sets' memory after all).
          (globalThis as { gc?: () => void }).gc?.();
          trace('end', job.key);
          send({ type: 'large-release' });
        }
        const fetched = fetchStats.bytes;
        const retire = process.memoryUsage.rss() > retireBytes;
        const jobTrace = process.env.CYTOIMAGENET_BUILD_JOB_TRACE;
        if (jobTrace) appendFileSync(jobTrace, `${process.pid} ${job.key}\n`);
        send({ type: 'result', result: r, fetchedBytes: fetched - reportedBytes, ...(retire ? { retire } : {}) });
        reportedBytes = fetched;
      }, fatal);
    }
  } catch (e) {
    fatal(e);
  } finally {
    busy = false;
  }
}

process.on('message', (msg: ToWorker) => {
  if (msg.type === 'setup') {
    setup = msg.setup;
    // a queue worker's shard says how to read remote sources (each shard: workers outlive shards)
    if (setup.remote) applyRemoteReadSettings(setup.remote);
  } else if (msg.type === 'job') {
    queue.push(msg.job);
    // a job that arrives after the running one's decode finished is decoded ahead now
    if (busy && runningDecoded) decodeAhead();
  } else if (msg.type === 'large-granted') {
    const g = granted;
    granted = null;
    g?.();
    return;
  } else if (msg.type === 'stop') {
    // A second 'stop' may already be on its way (a retired worker is also stopped at the end).
    if (process.connected) process.disconnect?.();
    return;
  }
  void drain();
});
process.on('disconnect', () => {
  // Parent gone or finished: stop now (a job in flight is simply redone on resume).
  process.exit(process.exitCode ?? 0);
});
