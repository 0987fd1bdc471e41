// Reading bytes over HTTP(S): byte ranges where the caller knows them, retries with exponential
// backoff on 5xx/429/408 and network errors (a truncated body or a wrong Content-Length counts as a
// network error), at most `perHost` requests in flight per host, a timeout on every try (never a
// hang), and the on-disk cache (disk-cache.ts) in front. A source that stays unreachable ends in a
// FetchError whose reason is what the build's reject says: `fetch-failed: HTTP 503 after 5 tries`.
// Requests go through node:http(s) with keep-alive agents, not the global fetch: fetch's web
// streams detach ArrayBuffers, which invalidates V8's "ArrayBuffer detaching" protector for the
// whole process, after which every typed-array loop of the pixel work runs slower (a build worker
// reading over HTTP took about 1.5× the time of one reading files). A body is read straight into
// one buffer of its Content-Length.
import http from 'node:http';
import https from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { DiskCache, type CachedMeta } from './disk-cache.js';

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

/**
 * Runs a cache operation; a cache that cannot be used (a folder that cannot be made here, a full
 * disk) is given up for this process with one line on stderr: the bytes are fetched instead, never
 * a failed read.
 */
function withCache<T>(op: (c: DiskCache) => T): T | undefined {
  const c = diskCache();
  if (!c) return undefined;
  try {
    return op(c);
  } catch (e) {
    process.stderr.write(
      `cytoimagenet: the cache folder ${c.dir} cannot be used here (${(e as Error).message}); reading without it\n`,
    );
    settings = { ...settings, cacheDir: null };
    cache = null;
    return undefined;
  }
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

// Connections are kept open between requests (idle ones do not keep the process alive).
const agents = {
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true }),
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface FetchOptions {
  /** Only these bytes (an HTTP Range request). */
  range?: { offset: number; length: number };
  /** Resolve to undefined on 404/403 (a Zarr chunk never written, an optional metadata file). */
  allowMissing?: boolean;
  /** Ask the server even when the cache holds the bytes (the cache is still written). */
  fresh?: boolean;
  /**
   * Where the body goes when it fits (a range of a buffer the caller holds for the whole file):
   * the bytes returned are then a view of it, and no buffer is allocated for them.
   */
  into?: Uint8Array;
  /** Write what the server sends to the cache (default true; see storeFetched). */
  store?: boolean;
}

/** A response: its body, and what the server said about the whole file. */
export interface Fetched extends CachedMeta {
  bytes: Uint8Array;
  /** The bytes came from the disk cache. */
  cached?: boolean;
}

/** Retry only what may pass: server errors, throttling, timeouts, broken connections. */
function retryable(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

class Transient extends Error {}

class HttpStatus extends Transient {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

class TimedOut extends Transient {}

/** A kept-alive connection the server had closed meanwhile: resent at once, not counted as a try. */
class StaleConnection extends Transient {}

/** The bytes at `url` (or its range); cached on disk when a cache is set. */
export async function fetchBytes(url: string, opts: FetchOptions = {}): Promise<Uint8Array | undefined> {
  const got = await fetchResource(url, opts);
  if (got === undefined) return undefined;
  const r = opts.range;
  // a server that ignores Range sends the whole file
  if (r && got.whole) return got.bytes.subarray(r.offset, r.offset + r.length);
  return got.bytes;
}

/**
 * Stores a response in the disk cache (when there is one) under `url` and `range`: for readers that
 * fetch with `store: false` and decide afterwards what is worth keeping (ranged-file.ts keeps one
 * whole file rather than its parts, when it read them all).
 */
export function storeFetched(url: string, range: { offset: number; length: number } | undefined, got: Fetched): void {
  withCache((c) =>
    c.put(DiskCache.keyOf(url, range), got.bytes, { total: got.total, validator: got.validator, whole: got.whole }),
  );
}

/**
 * The disk cache's file of the whole of `url`, for a reader that can take a path (libvips reads it
 * as it reads a local file: no buffer in this process). Counted as a cache hit; undefined when the
 * cache does not hold it. The file may be evicted by another process before it is opened: a reader
 * that then finds it missing fetches instead.
 */
export function cachedFilePath(url: string): string | undefined {
  const path = withCache((c) => c.locate(DiskCache.keyOf(url)));
  if (path) fetchStats.cacheHits++;
  return path;
}

/**
 * The response to a GET of `url` (or its range), with the file's total size and validator. When a
 * range was asked and `whole` is true, the server sent the whole file instead.
 */
export async function fetchResource(url: string, opts: FetchOptions = {}): Promise<Fetched | undefined> {
  const key = settings.cacheDir !== null ? DiskCache.keyOf(url, opts.range) : '';
  if (key && !opts.fresh) {
    const hit = withCache((c) => c.get(key, opts.into));
    if (hit) {
      fetchStats.cacheHits++;
      return { bytes: hit.bytes, ...hit.meta, cached: true };
    }
  }
  const { timeoutMs } = settings;
  const got = await withRetries(url, () => oneTry(url, opts, timeoutMs, 0));
  if (got === undefined) return undefined;
  if (key && opts.store !== false)
    withCache((c) => c.put(key, got.bytes, { total: got.total, validator: got.validator, whole: got.whole }));
  return got;
}

/**
 * `request` (one GET or HEAD, redirects followed) in a per-host slot, tried up to `tries` times
 * with backoff between tries (a slot is not held while waiting). A FetchError is final; a stale
 * kept-alive connection is resent once without counting as a try; after the last try the
 * FetchError names the last reason.
 */
async function withRetries<T>(url: string, request: () => Promise<T>): Promise<T> {
  const { tries, backoffMs } = settings;
  let last = '';
  let lastStatus: number | null = null;
  let resent = false;
  for (let attempt = 0; attempt < tries; attempt++) {
    if (attempt > 0) await sleep(backoffMs * 2 ** (attempt - 1));
    try {
      return await withHostSlot(url, request);
    } catch (e) {
      if (e instanceof FetchError) throw e;
      if (e instanceof StaleConnection && !resent) {
        resent = true;
        attempt--;
        continue;
      }
      lastStatus = e instanceof HttpStatus ? e.status : null;
      last = e instanceof HttpStatus ? `HTTP ${e.status}` : describe(e);
    }
  }
  throw new FetchError(url, `fetch-failed: ${last} after ${tries} tries`, lastStatus);
}

function describe(e: unknown): string {
  if (e instanceof TimedOut) return `no answer within ${settings.timeoutMs} ms`;
  const err = e as NodeJS.ErrnoException;
  if (err.code && !err.message.includes(err.code)) return `${err.message} (${err.code})`;
  return err.message ?? String(e);
}

/**
 * What a failed request is: our timeout, a kept-alive connection the server had closed before it
 * answered (withRetries resends it), or the error itself.
 */
function requestFailure(e: unknown, req: http.ClientRequest, timedOut: boolean, responded: boolean): unknown {
  if (timedOut) return new TimedOut('timeout');
  if (req.reusedSocket && (e as NodeJS.ErrnoException).code === 'ECONNRESET' && !responded)
    return new StaleConnection('connection closed by the server');
  return e;
}

function oneTry(url: string, opts: FetchOptions, timeoutMs: number, hops: number): Promise<Fetched | undefined> {
  return new Promise<Fetched | undefined>((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new FetchError(url, 'fetch-failed: not a valid URL', null));
      return;
    }
    const secure = u.protocol === 'https:';
    if (!secure && u.protocol !== 'http:') {
      reject(new FetchError(url, `fetch-failed: ${u.protocol}// URLs are not read (http and https are)`, null));
      return;
    }
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    const r = opts.range;
    if (r) headers.range = `bytes=${r.offset}-${r.offset + r.length - 1}`;
    fetchStats.requests++;
    let timedOut = false;
    const req = (secure ? https : http).get(u, { agent: secure ? agents.https : agents.http, headers });
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy(new TimedOut('timeout'));
    }, timeoutMs);
    const fail = (e: unknown): void => {
      clearTimeout(timer);
      reject(requestFailure(e, req, timedOut, responded));
    };
    let responded = false;
    req.on('error', fail);
    req.on('response', (res) => {
      responded = true;
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && status !== 304 && location) {
        res.resume();
        clearTimeout(timer);
        if (hops >= 5) reject(new FetchError(url, 'fetch-failed: more than 5 redirects', status));
        else oneTry(new URL(location, u).href, opts, timeoutMs, hops + 1).then(resolve, reject);
        return;
      }
      const validator = (res.headers.etag ?? res.headers['last-modified'] ?? null) as string | null;
      if (status === 416 && r && r.offset === 0) {
        // a range of an empty file: the file is empty
        res.resume();
        clearTimeout(timer);
        resolve({ bytes: new Uint8Array(0), total: 0, validator, whole: true });
        return;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        clearTimeout(timer);
        if (opts.allowMissing && (status === 404 || status === 403)) resolve(undefined);
        else if (retryable(status)) reject(new HttpStatus(status));
        else reject(new FetchError(url, `fetch-failed: HTTP ${status}`, status));
        return;
      }
      readBody(res)
        .then((raw) => {
          clearTimeout(timer);
          fetchStats.bytes += raw.length;
          let body = raw;
          const encoding = res.headers['content-encoding'];
          if (encoding && encoding !== 'identity') {
            if (status === 206) throw new FetchError(url, `fetch-failed: a ${encoding}-encoded byte range`, status);
            body = decompress(raw, encoding, url);
          }
          if (!r || status === 200)
            return resolve({ bytes: body, total: body.length, validator, whole: r !== undefined });
          const total = /\/(\d+)$/.exec(res.headers['content-range'] ?? '')?.[1];
          const expected = total === undefined ? r.length : Math.min(r.length, Number(total) - r.offset);
          if (body.length !== expected) throw new Transient(`range of ${body.length} bytes, asked for ${expected}`);
          resolve({ bytes: body, total: total === undefined ? null : Number(total), validator, whole: false });
        })
        .catch(fail);
    });
  });
}

/**
 * The body, checked against Content-Length (a connection closed early or a lying length is an
 * error), written into `target` when it fits.
 */
function readBody(res: http.IncomingMessage, target?: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const header = res.headers['content-length'];
    const declared = header === undefined ? -1 : Number(header);
    // one buffer of the declared size (no concatenation); chunks only when the size is not said.
    // allocUnsafeSlow: not zeroed (every byte is written before it is returned) and not pooled.
    const into =
      declared < 0
        ? null
        : target && declared <= target.length
          ? target.subarray(0, declared)
          : declared <= 1 << 30
            ? new Uint8Array(Buffer.allocUnsafeSlow(declared).buffer, 0, declared)
            : null;
    const chunks: Buffer[] = [];
    let got = 0;
    let done = false;
    const cut = (): Transient =>
      new Transient(`connection closed after ${got}${declared >= 0 ? ` of ${declared}` : ''} bytes`);
    res.on('data', (c: Buffer) => {
      if (into) {
        if (got + c.length > into.length) {
          done = true;
          res.destroy();
          reject(new Transient(`body longer than its Content-Length (${declared})`));
          return;
        }
        into.set(c, got);
      } else chunks.push(c);
      got += c.length;
    });
    res.on('end', () => {
      if (done) return;
      done = true;
      if (!res.complete || (declared >= 0 && got !== declared)) reject(cut());
      else if (into) resolve(into);
      else {
        const all = Buffer.concat(chunks, got);
        resolve(new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
      }
    });
    res.on('error', () => {
      if (done) return;
      done = true;
      reject(cut());
    });
    res.on('close', () => {
      if (done) return;
      done = true;
      reject(cut());
    });
  });
}

function decompress(raw: Uint8Array, encoding: string, url: string): Uint8Array {
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return new Uint8Array(gunzipSync(raw));
    if (encoding === 'deflate') return new Uint8Array(inflateSync(raw));
    if (encoding === 'br') return new Uint8Array(brotliDecompressSync(raw));
  } catch (e) {
    throw new Transient(`${encoding} body does not decompress: ${(e as Error).message}`);
  }
  throw new FetchError(url, `fetch-failed: unknown Content-Encoding '${encoding}'`, null);
}

/**
 * Whether `url` exists: a HEAD request with the same retries, per-host limit and timeout as a
 * fetch. 404, 403 (what S3 answers for a key it will not list) and 410 are false; a server that
 * stays unreachable or keeps failing is a FetchError. Nothing is cached.
 */
export async function urlExists(url: string): Promise<boolean> {
  const { timeoutMs } = settings;
  return withRetries(url, async () => {
    const status = await headStatus(url, timeoutMs, 0);
    if (status >= 200 && status < 300) return true;
    if (status === 404 || status === 403 || status === 410) return false;
    if (retryable(status)) throw new HttpStatus(status);
    throw new FetchError(url, `fetch-failed: HTTP ${status}`, status);
  });
}

/** The status of a HEAD request (redirects followed), on the same connections as a GET. */
function headStatus(url: string, timeoutMs: number, hops: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    if (!secure && u.protocol !== 'http:') {
      reject(new FetchError(url, `fetch-failed: ${u.protocol}// URLs are not read (http and https are)`, null));
      return;
    }
    fetchStats.requests++;
    let timedOut = false;
    const req = (secure ? https : http).request(u, {
      method: 'HEAD',
      agent: secure ? agents.https : agents.http,
      headers: { 'accept-encoding': 'identity' },
    });
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy(new TimedOut('timeout'));
    }, timeoutMs);
    let responded = false;
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(requestFailure(e, req, timedOut, responded));
    });
    req.on('response', (res) => {
      responded = true;
      res.resume();
      clearTimeout(timer);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && status !== 304 && location) {
        if (hops >= 5) reject(new FetchError(url, 'fetch-failed: more than 5 redirects', status));
        else headStatus(new URL(location, u).href, timeoutMs, hops + 1).then(resolve, reject);
        return;
      }
      resolve(status);
    });
    req.end();
  });
}
