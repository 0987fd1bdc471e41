// What the build's coordinator and its queue workers share: the BullMQ queue's name, how a Redis URL
// becomes a connection (and a log line without its password), the data of one shard of jobs and of
// its result, the stall timings, and --path-map for machines that mount the shared storage
// elsewhere. See docs/build.md "Scaling out".
import { posix } from 'node:path';
import type { ConnectionOptions } from 'bullmq';
import type { RemoteReadSettings } from '../sources/fetch/remote-settings.js';
import { UserError } from '../util/errors.js';
import type { Job, JobResult } from './types.js';

/** One queue for every build: each shard says which build (and output folder) it belongs to. */
export const QUEUE_NAME = 'cytoimagenet-build';

/** The data of one BullMQ job: a shard of image sets of one build. */
export interface ShardData {
  v: 1;
  /** The build's id (fingerprint and output folder); prefixes the shard's BullMQ job id. */
  build: string;
  /** Staging folder, as the coordinator sees it. */
  stagingDir: string;
  /** A file the coordinator wrote in the output folder, and what it holds: a worker that cannot read it does not share the output folder. */
  marker: { path: string; content: string };
  /** Source folders the coordinator can see; a worker that cannot is missing a mount. */
  probes: string[];
  /** The build's --job-timeout in milliseconds (absent from shards queued before it existed). */
  jobTimeoutMs?: number;
  /**
   * How the build reads remote sources: --cache (a path as the coordinator sees it), --cache-max-mb,
   * --s3-endpoint, and the fetch tries, backoff, timeout and per-host limit (absent from shards
   * queued before it existed: the worker's environment decides then).
   */
  remote?: RemoteReadSettings;
  jobs: Job[];
}

/** What a queue worker returns for a shard. */
export interface ShardResult {
  host: string;
  /** The queue worker's process id (several may run on one host). */
  pid: number;
  results: JobResult[];
  /** When the worker's pool started and finished the shard (ms since the epoch, the worker's clock). */
  startedAt: number;
  endedAt: number;
}

/** One shard's timeline, for benches (bench/build-distributed.ts). */
export interface ShardTiming {
  sets: number;
  host: string;
  pid: number;
  /** Queued, taken by a worker, computed (startedAt → endedAt), finished in Redis, recorded by the coordinator. */
  addedAt: number;
  takenAt: number;
  startedAt: number;
  endedAt: number;
  finishedAt: number;
  recordedAt: number;
  /** Coordinator time spent reading, journalling and removing this shard. */
  coordinatorMs: number;
}

/** A shard that failed on a worker because a shared path was not visible there (retried elsewhere). */
export const MOUNT_ERROR_PREFIX = 'not visible on host';

/** Redis URL → BullMQ connection options (ioredis parses the URL; rediss:// means TLS). */
export function queueConnection(url: string): ConnectionOptions {
  checkQueueUrl(url);
  // Commands wait through a Redis restart instead of failing (BullMQ requires this for workers).
  return { url, maxRetriesPerRequest: null, enableOfflineQueue: true };
}

export function checkQueueUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(
      `--queue must be a Redis URL, got '${redactQueueUrl(url)}'`,
      undefined,
      'write it as redis://HOST:PORT, redis://:PASSWORD@HOST:PORT or rediss://HOST:PORT (TLS)',
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new UserError(
      `--queue must be a redis:// or rediss:// URL, got '${redactQueueUrl(url)}'`,
      undefined,
      'write it as redis://HOST:PORT, redis://:PASSWORD@HOST:PORT or rediss://HOST:PORT (TLS)',
    );
}

/** The URL for logs: the password (and the user name's secret part, if any) replaced by ***. */
export function redactQueueUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    // Unparsable: keep the scheme and host-ish tail only, never what could be a password.
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

function envMs(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/**
 * Stall timings. A worker holds a lock on its shard and renews it every lockMs/2; a shard whose
 * lock lapses (its worker was killed) goes back to the queue at the next stall check. The tests
 * shorten them (CYTOIMAGENET_QUEUE_LOCK_MS, CYTOIMAGENET_QUEUE_STALL_CHECK_MS).
 */
export function stallTimings(): { lockMs: number; stalledIntervalMs: number } {
  return {
    lockMs: envMs('CYTOIMAGENET_QUEUE_LOCK_MS', 60_000),
    stalledIntervalMs: envMs('CYTOIMAGENET_QUEUE_STALL_CHECK_MS', 30_000),
  };
}

/** A shard whose worker died this many times more is failed by BullMQ; the coordinator then splits it. */
export const MAX_STALLED = 1;

/** FROM=TO pairs: a path under FROM (the coordinator's view) is read at TO on this machine. */
export class PathMap {
  private constructor(private readonly pairs: { from: string; to: string }[]) {}

  static parse(specs: readonly string[]): PathMap {
    const pairs = specs.map((s) => {
      const i = s.indexOf('=');
      const from = i > 0 ? s.slice(0, i) : '';
      const to = i > 0 ? s.slice(i + 1) : '';
      if (!posix.isAbsolute(from) || !posix.isAbsolute(to) || trimSlash(from) === '/' || trimSlash(to) === '/')
        throw new UserError(
          `--path-map must be FROM=TO with two absolute folders other than /, got '${s}'`,
          undefined,
          'e.g. --path-map /mnt/lab=/data/lab (the coordinator sees /mnt/lab, this machine mounts it at /data/lab)',
        );
      return { from: trimSlash(from), to: trimSlash(to) };
    });
    // Longest prefix first, so nested mounts map to the most specific one.
    pairs.sort((a, b) => b.from.length - a.from.length);
    return new PathMap(pairs);
  }

  get empty(): boolean {
    return this.pairs.length === 0;
  }

  /** The coordinator's path → this machine's. */
  local(p: string): string {
    for (const { from, to } of this.pairs) if (under(p, from)) return to + p.slice(from.length);
    return p;
  }

  /** Paths in text (a reject's detail) back to the coordinator's view, so results do not depend on the machine. */
  shared(text: string): string {
    let t = text;
    // A path starts the text or follows a space, '|' or '(' (how process-job.ts writes details).
    for (const { from, to } of [...this.pairs].sort((a, b) => b.to.length - a.to.length))
      t = t.replace(new RegExp(`(^|[\\s|(])${escapeRegExp(to)}/`, 'g'), `$1${from}/`);
    return t;
  }
}

function trimSlash(p: string): string {
  return p.replace(/(.)\/+$/, '$1');
}

function under(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
