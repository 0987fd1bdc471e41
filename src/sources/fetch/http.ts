// Reading bytes over HTTP(S) with Node's built-in fetch: byte ranges where the caller knows them,
// retries with exponential backoff on 5xx/429/408 and network errors (a truncated body or a wrong
// Content-Length counts as a network error), at most `perHost` requests in flight per host, a
// timeout on every try (never a hang), and the on-disk cache (disk-cache.ts) in front. A source
// that stays unreachable ends in a FetchError whose reason is what the build's reject says:
// `fetch-failed: HTTP 503 after 5 tries`.
import { DiskCache } from './disk-cache.js';

export interface FetchSettings {
  /** Tries per request, the first included. */
  tries: number;
  /** Wait before the second try; doubled before each next one. */
  backoffMs: number;
  /** Limit on one try, body included. */
  timeoutMs: number;
  /** Requests in flight per host. */
  perHost: number;
  /** Folder of the on-disk cache, or null for none. */
  cacheDir: string | null;
  cacheMaxBytes: number;
}

export const DEFAULT_FETCH: FetchSettings = {
  tries: 5,
  backoffMs: 250,
  timeoutMs: 60_000,
  perHost: 8,
  cacheDir: null,
  cacheMaxBytes: 20 * 1024 ** 3,
};

/** Settings from the environment: how build workers (child processes) inherit the build's. */
function fromEnv(): FetchSettings {
  const s = { ...DEFAULT_FETCH };
  const env = process.env;
  if (env.CYTOIMAGENET_CACHE) s.cacheDir = env.CYTOIMAGENET_CACHE;
  if (env.CYTOIMAGENET_CACHE_MAX_BYTES) s.cacheMaxBytes = Number(env.CYTOIMAGENET_CACHE_MAX_BYTES);
  if (env.CYTOIMAGENET_FETCH_TRIES) s.tries = Number(env.CYTOIMAGENET_FETCH_TRIES);
  if (env.CYTOIMAGENET_FETCH_BACKOFF_MS) s.backoffMs = Number(env.CYTOIMAGENET_FETCH_BACKOFF_MS);
  if (env.CYTOIMAGENET_FETCH_TIMEOUT_MS) s.timeoutMs = Number(env.CYTOIMAGENET_FETCH_TIMEOUT_MS);
  if (env.CYTOIMAGENET_FETCH_PER_HOST) s.perHost = Number(env.CYTOIMAGENET_FETCH_PER_HOST);
  return s;
}

let settings: FetchSettings = fromEnv();
let cache: DiskCache | null = null;

/**
 * Changes the settings of this process; with `exportToEnv`, child processes started afterwards
 * (build workers) get them too.
 */
export function configureFetch(change: Partial<FetchSettings>, exportToEnv = false): FetchSettings {
  settings = { ...settings, ...change };
  cache = null;
  if (exportToEnv) {
    const env = process.env;
    if (settings.cacheDir) env.CYTOIMAGENET_CACHE = settings.cacheDir;
    else delete env.CYTOIMAGENET_CACHE;
    env.CYTOIMAGENET_CACHE_MAX_BYTES = String(settings.cacheMaxBytes);
    env.CYTOIMAGENET_FETCH_TRIES = String(settings.tries);
    env.CYTOIMAGENET_FETCH_BACKOFF_MS = String(settings.backoffMs);
    env.CYTOIMAGENET_FETCH_TIMEOUT_MS = String(settings.timeoutMs);
    env.CYTOIMAGENET_FETCH_PER_HOST = String(settings.perHost);
  }
  return settings;
}

export function fetchSettings(): FetchSettings {
  return settings;
}

function diskCache(): DiskCache | null {
  if (settings.cacheDir === null) return null;
  cache ??= new DiskCache(settings.cacheDir, settings.cacheMaxBytes);
  return cache;
}

/** What this process fetched: requests sent (tries included), bytes received, cache hits. */
export interface FetchStats {
  requests: number;
  bytes: number;
  cacheHits: number;
}

export const fetchStats: FetchStats = { requests: 0, bytes: 0, cacheHits: 0 };

export function resetFetchStats(): void {
  fetchStats.requests = 0;
  fetchStats.bytes = 0;
  fetchStats.cacheHits = 0;
}

export class FetchError extends Error {
  constructor(
    readonly url: string,
    /** The reject reason, e.g. `fetch-failed: HTTP 503 after 5 tries`. */
    readonly reason: string,
    readonly status: number | null,
  ) {
    super(`${url}: ${reason}`);
    this.name = 'FetchError';
  }
}

// Per-host slots: a request waits for one before it is sent (backoff waits hold none).
const hosts = new Map<string, { active: number; waiting: Array<() => void> }>();

async function withHostSlot<T>(url: string, op: () => Promise<T>): Promise<T> {
  const host = new URL(url).host;
  let h = hosts.get(host);
  if (!h) hosts.set(host, (h = { active: 0, waiting: [] }));
  const slot = h;
  if (slot.active >= settings.perHost) await new Promise<void>((r) => slot.waiting.push(r));
  slot.active++;
  try {
    return await op();
  } finally {
    slot.active--;
    slot.waiting.shift()?.();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface FetchOptions {
  /** Only these bytes (an HTTP Range request). */
  range?: { offset: number; length: number };
  /** Resolve to undefined on 404/403 (a Zarr chunk never written, an optional metadata file). */
  allowMissing?: boolean;
}

/** Retry only what may pass: server errors, throttling, timeouts, broken connections. */
function retryable(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

class Transient extends Error {}

/** The bytes at `url` (or its range); cached on disk when a cache is set. */
export async function fetchBytes(url: string, opts: FetchOptions = {}): Promise<Uint8Array | undefined> {
  const store = diskCache();
  const key = store ? DiskCache.keyOf(url, opts.range) : '';
  if (store) {
    const hit = store.get(key);
    if (hit) {
      fetchStats.cacheHits++;
      return hit;
    }
  }
  const { tries, backoffMs, timeoutMs } = settings;
  let last = '';
  let lastStatus: number | null = null;
  for (let attempt = 0; attempt < tries; attempt++) {
    if (attempt > 0) await sleep(backoffMs * 2 ** (attempt - 1));
    try {
      const got = await withHostSlot(url, () => oneTry(url, opts, timeoutMs));
      if (got === undefined) return undefined;
      if (store) store.put(key, got);
      return got;
    } catch (e) {
      if (e instanceof FetchError) throw e;
      lastStatus = e instanceof HttpStatus ? e.status : null;
      last = e instanceof HttpStatus ? `HTTP ${e.status}` : describe(e);
    }
  }
  throw new FetchError(url, `fetch-failed: ${last} after ${tries} tries`, lastStatus);
}

class HttpStatus extends Transient {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

function describe(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${settings.timeoutMs} ms`;
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message} (${cause})` : err.message;
}

async function oneTry(url: string, opts: FetchOptions, timeoutMs: number): Promise<Uint8Array | undefined> {
  const headers: Record<string, string> = {};
  const r = opts.range;
  if (r) headers.range = `bytes=${r.offset}-${r.offset + r.length - 1}`;
  fetchStats.requests++;
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    if (opts.allowMissing && (res.status === 404 || res.status === 403)) return undefined;
    if (retryable(res.status)) throw new HttpStatus(res.status);
    throw new FetchError(url, `fetch-failed: HTTP ${res.status}`, res.status);
  }
  // arrayBuffer() rejects when the connection closes before Content-Length bytes came.
  const body = new Uint8Array(await res.arrayBuffer());
  fetchStats.bytes += body.length;
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) !== body.length && res.headers.get('content-encoding') === null)
    throw new Transient(`body of ${body.length} bytes, Content-Length said ${declared}`);
  if (!r) return body;
  if (res.status === 200) return body.subarray(r.offset, r.offset + r.length); // range ignored: the whole file came
  const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
  const expected = total === undefined ? r.length : Math.min(r.length, Number(total) - r.offset);
  if (body.length !== expected) throw new Transient(`range of ${body.length} bytes, asked for ${expected}`);
  return body;
}

/**
 * Whether `url` exists: a HEAD request with the same retries, per-host limit and timeout as a
 * fetch. 404, 403 (what S3 answers for a key it will not list) and 410 are false; a server that
 * stays unreachable or keeps failing is a FetchError. Nothing is cached.
 */
export async function urlExists(url: string): Promise<boolean> {
  const { tries, backoffMs, timeoutMs } = settings;
  let last = '';
  let lastStatus: number | null = null;
  for (let attempt = 0; attempt < tries; attempt++) {
    if (attempt > 0) await sleep(backoffMs * 2 ** (attempt - 1));
    try {
      return await withHostSlot(url, async () => {
        fetchStats.requests++;
        const res = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) return true;
        if (res.status === 404 || res.status === 403 || res.status === 410) return false;
        if (retryable(res.status)) throw new HttpStatus(res.status);
        throw new FetchError(url, `fetch-failed: HTTP ${res.status}`, res.status);
      });
    } catch (e) {
      if (e instanceof FetchError) throw e;
      lastStatus = e instanceof HttpStatus ? e.status : null;
      last = e instanceof HttpStatus ? `HTTP ${e.status}` : describe(e);
    }
  }
  throw new FetchError(url, `fetch-failed: ${last} after ${tries} tries`, lastStatus);
}
