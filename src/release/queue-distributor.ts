// The coordinator's side of a distributed build (see distributor.ts and docs/build.md "Scaling
// out"). Jobs go to the BullMQ queue in shards of --shard-size image sets; machines running
// `cytoimagenet worker` run them and return the shard's results as the BullMQ job's return value.
// The coordinator takes finished shards from the queue (woken by the queue's events, and on a
// timer in case an event was missed across a Redis restart), hands each result not yet seen to
// the build, which journals it, then removes the shard: a result is counted once however often
// its shard ran, and a shard removed is a shard journalled. A coordinator started again adopts the
// shards its build already has in the queue (waiting, running or finished), so no finished or
// running work is redone.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Job as BullJob, Queue, QueueEvents } from 'bullmq';
import { UserError } from '../util/errors.js';
import type { Distributor, RunContext } from './distributor.js';
import type { Job, JobResult } from './types.js';
import {
  QUEUE_NAME,
  queueConnection,
  redactQueueUrl,
  type ShardData,
  type ShardResult,
  type ShardTiming,
} from './queue-link.js';

export interface QueueDistributorOptions {
  url: string;
  shardSize: number;
  /** Identifies the build (fingerprint and output folder) in shard ids. */
  buildId: string;
  /** The file workers check to know they see the output folder (see queue-worker.ts). */
  marker: { path: string; content: string };
  log: (line: string) => void;
  /** Called for each shard recorded (benches). */
  onShard?: (t: ShardTiming) => void;
}

const ALL_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;
const PAGE = 500;

function scanMs(): number {
  const v = Number(process.env.CYTOIMAGENET_QUEUE_SCAN_MS);
  return Number.isFinite(v) && v > 0 ? v : 2000;
}

export class QueueDistributor implements Distributor {
  readonly where: string;
  private queue: Queue<ShardData, ShardResult> | null = null;
  private events: QueueEvents | null = null;
  private readonly dirSeen = new Map<string, boolean>();
  private lastError = 0;

  constructor(private readonly o: QueueDistributorOptions) {
    this.where = `the queue at ${redactQueueUrl(o.url)} (shards of ${o.shardSize} image sets)`;
  }

  private onError = (e: Error): void => {
    if (Date.now() - this.lastError < 10_000) return;
    this.lastError = Date.now();
    this.o.log(`build: queue connection: ${e.message} (retrying)`);
  };

  private open(): { queue: Queue<ShardData, ShardResult>; events: QueueEvents } {
    if (!this.queue || !this.events) {
      const connection = queueConnection(this.o.url);
      this.queue = new Queue<ShardData, ShardResult>(QUEUE_NAME, { connection });
      this.events = new QueueEvents(QUEUE_NAME, { connection });
      this.queue.on('error', this.onError);
      this.events.on('error', this.onError);
    }
    return { queue: this.queue, events: this.events };
  }

  /** Folders of a shard's files the coordinator sees: the worker must see them too. */
  private probes(jobs: readonly Job[]): string[] {
    const dirs = new Set<string>();
    for (const j of jobs)
      for (const f of j.files) {
        const d = dirname(f);
        let seen = this.dirSeen.get(d);
        if (seen === undefined) {
          seen = existsSync(d);
          this.dirSeen.set(d, seen);
        }
        if (seen) dirs.add(d);
      }
    return [...dirs].sort();
  }

  private shard(id: string, jobs: Job[], ctx: RunContext): { name: string; data: ShardData; opts: object } {
    return {
      name: 'shard',
      data: {
        v: 1,
        build: this.o.buildId,
        stagingDir: ctx.stagingDir,
        marker: this.o.marker,
        probes: this.probes(jobs),
        jobTimeoutMs: ctx.jobTimeoutMs,
        remote: ctx.remote,
        jobs,
      },
      // Kept when finished: the coordinator reads and removes it (it may be down when it finishes).
      // A failure (a machine without the mounts) is retried, preferably elsewhere.
      opts: {
        jobId: id,
        attempts: 3,
        backoff: { type: 'fixed', delay: 2000 },
        removeOnComplete: false,
        removeOnFail: false,
      },
    };
  }

  async run(jobs: readonly Job[], ctx: RunContext): Promise<void> {
    if (jobs.length === 0) return;
    const { queue, events } = this.open();
    const prefix = `${this.o.buildId}.`;
    const byKey = new Map(jobs.map((j) => [j.key, j]));
    const pending = new Set(byKey.keys());
    /** Shards in the queue for this run: id → the pending keys they cover. */
    const outstanding = new Map<string, string[]>();
    const own = (j: BullJob<ShardData, ShardResult> | undefined): j is BullJob<ShardData, ShardResult> =>
      j !== undefined && typeof j.id === 'string' && j.id.startsWith(prefix);

    // 1. Adopt this build's shards already in the queue (a coordinator started again). A shard
    // that failed for good is dropped; its image sets are queued again below.
    for (let start = 0; ; start += PAGE) {
      const page = await queue.getJobs([...ALL_STATES], start, start + PAGE - 1, true);
      for (const j of page) {
        if (!own(j)) continue;
        if ((await j.getState()) === 'failed' && !isStall(j.failedReason)) {
          await j.remove();
          continue;
        }
        const keys = (j.data?.jobs ?? []).map((x) => x.key).filter((k) => pending.has(k));
        outstanding.set(j.id as string, keys);
      }
      if (page.length < PAGE) break;
    }
    const covered = new Set([...outstanding.values()].flat());

    // 2. Queue the rest in shards, in plan order.
    const add = async (shards: { id: string; jobs: Job[] }[]): Promise<void> => {
      for (let i = 0; i < shards.length; i += PAGE) {
        const chunk = shards.slice(i, i + PAGE);
        await queue.addBulk(chunk.map((s) => this.shard(s.id, s.jobs, ctx)) as never);
        for (const s of chunk)
          outstanding.set(
            s.id,
            s.jobs.map((j) => j.key),
          );
      }
    };
    const fresh: { id: string; jobs: Job[] }[] = [];
    const rest = jobs.filter((j) => !covered.has(j.key));
    for (let i = 0; i < rest.length; i += this.o.shardSize) {
      const part = rest.slice(i, i + this.o.shardSize);
      const h = createHash('sha256');
      for (const j of part) h.update(`${j.key}\n`);
      fresh.push({ id: `${prefix}${h.digest('hex').slice(0, 20)}`, jobs: part });
    }
    await add(fresh);

    // 3. Collect results until every job has one.
    let wake: (() => void) | null = null;
    // Set by an event that arrives during a scan, so the next scan starts at once.
    let dirty = false;
    const onFinished = ({ jobId }: { jobId: string }): void => {
      if (!jobId.startsWith(prefix)) return;
      dirty = true;
      wake?.();
    };
    events.on('completed', onFinished);
    events.on('failed', onFinished);
    try {
      let idle = 0;
      while (pending.size > 0) {
        dirty = false;
        let found = 0;
        for (let start = 0; ; start += PAGE) {
          const page = await queue.getJobs(['completed', 'failed'], start, start + PAGE - 1, true);
          let mine = 0;
          for (const j of page) {
            if (!own(j)) continue;
            mine++;
            found++;
            await this.take(j, pending, byKey, ctx, add);
            outstanding.delete(j.id as string);
          }
          // Our own shards were removed from this page, so the next page starts earlier.
          if (page.length < PAGE) break;
          start -= mine;
        }
        if (pending.size === 0) break;
        if (found === 0 && !dirty) {
          idle++;
          // Nothing finished for a while: a shard lost by a Redis restart without persistence
          // is queued again (adding an id the queue still holds is a no-op).
          if (idle % 15 === 0) {
            await this.requeueLost(queue, outstanding, byKey, add);
            // Say so when no worker is running anything: the usual cause is that none was started.
            if ((await queue.getActiveCount()) === 0)
              this.o.log(
                `build: no worker is running a shard; start \`cytoimagenet worker --queue ${redactQueueUrl(this.o.url)}\` on machines that see ${dirname(dirname(ctx.stagingDir))}`,
              );
          }
          await new Promise<void>((res) => {
            const t = setTimeout(res, scanMs());
            wake = () => {
              clearTimeout(t);
              res();
            };
          });
          wake = null;
        } else idle = 0;
      }
      // Shards of this build still queued cover only journalled image sets (adopted from an
      // earlier coordinator): nobody needs them now.
      for (const id of outstanding.keys()) await queue.remove(id).catch(() => undefined);
    } finally {
      events.off('completed', onFinished);
      events.off('failed', onFinished);
    }
  }

  /** One finished shard: its new results to the build, then it leaves the queue. */
  private async take(
    j: BullJob<ShardData, ShardResult>,
    pending: Set<string>,
    byKey: Map<string, Job>,
    ctx: RunContext,
    add: (shards: { id: string; jobs: Job[] }[]) => Promise<void>,
  ): Promise<void> {
    const t0 = performance.now();
    const state = await j.getState();
    if (state === 'completed') {
      const rv = j.returnvalue;
      const recordedAt = Date.now();
      for (const r of rv?.results ?? []) {
        if (!pending.has(r.key)) continue; // a shard run twice, or a result journalled before
        pending.delete(r.key);
        ctx.onResult(r, rv.host);
      }
      await j.remove();
      this.o.onShard?.({
        sets: rv?.results.length ?? 0,
        host: rv?.host ?? '',
        pid: rv?.pid ?? 0,
        addedAt: j.timestamp,
        takenAt: j.processedOn ?? 0,
        startedAt: rv?.startedAt ?? 0,
        endedAt: rv?.endedAt ?? 0,
        finishedAt: j.finishedOn ?? 0,
        recordedAt,
        coordinatorMs: performance.now() - t0,
      });
      return;
    }
    if (state !== 'failed') return;
    const keys = (j.data?.jobs ?? []).map((x) => x.key).filter((k) => pending.has(k));
    if (isStall(j.failedReason)) {
      // The queue worker itself died on this shard more than once (not one of its pool's
      // processes: the pool handles those). Its image sets are tried one by one; one that
      // still kills its worker is rejected, as the local pool does.
      await j.remove();
      if (keys.length === 1 && j.id?.endsWith('.solo')) {
        pending.delete(keys[0]);
        const r: JobResult = {
          key: keys[0],
          ok: false,
          stage: 'decode',
          reason: 'worker-crashed',
          detail: 'the queue worker process died twice on this image',
        };
        ctx.onResult(r, 'queue');
      } else await add(keys.map((k) => ({ id: `${this.o.buildId}.${k}.solo`, jobs: [byKey.get(k) as Job] })));
      return;
    }
    await j.remove();
    throw new UserError(
      `a shard of ${keys.length} image sets failed on the queue workers ${j.attemptsMade} times: ${j.failedReason}`,
      undefined,
      'fix the cause, then run the same build command again: it resumes, and queues these image sets again',
    );
  }

  private async requeueLost(
    queue: Queue<ShardData, ShardResult>,
    outstanding: Map<string, string[]>,
    byKey: Map<string, Job>,
    add: (shards: { id: string; jobs: Job[] }[]) => Promise<void>,
  ): Promise<void> {
    const lost: { id: string; jobs: Job[] }[] = [];
    for (const [id, keys] of outstanding) {
      if ((await queue.getJobState(id)) === 'unknown')
        lost.push({ id, jobs: keys.map((k) => byKey.get(k)).filter((x): x is Job => x !== undefined) });
    }
    if (lost.length > 0) {
      this.o.log(
        `build: ${lost.length} shard(s) vanished from the queue (a Redis restart without persistence?); queued again`,
      );
      await add(lost);
    }
  }

  async close(): Promise<void> {
    const { queue, events } = this;
    this.queue = null;
    this.events = null;
    await events?.close();
    await queue?.close();
  }
}

function isStall(reason: string | undefined): boolean {
  return /stalled more than allowable limit/.test(reason ?? '');
}
