// A distributed build (`build --queue` + `cytoimagenet worker`) against a real redis-server on a
// loopback port, with worker processes started through the CLI, under the faults a cluster sees:
// a worker killed with -9 mid-shard, a shard run twice, Redis restarted, the coordinator killed and
// started again, a machine without the shared mount. Every release must be byte-identical to a
// local `--workers 1` build of the same inputs and seed, and the Redis password must never show.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRelease } from '../../src/release/build-release.js';
import { CLI } from '../helpers/data.js';
import { makeFixture, treeDigest, type Fixture } from './fixture.js';

const SECRET = 'pw-Zq7-never-logged';
let root: string;
let fx: Fixture;
let reference: Map<string, string>;
let crashReference: Map<string, string>;
let crashVictim: string;
const children = new Set<ChildProcess>();

/** Short stall timings, so a killed worker's shard comes back in seconds. */
const QUEUE_ENV = {
  CYTOIMAGENET_QUEUE_LOCK_MS: '2000',
  CYTOIMAGENET_QUEUE_STALL_CHECK_MS: '1000',
  CYTOIMAGENET_QUEUE_SCAN_MS: '300',
  CYTOIMAGENET_QUEUE_MOUNT_BACKOFF_MS: '0',
};

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(cmd, args, {
    env: { ...process.env, ...QUEUE_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      res({ code, signal });
    }),
  );
  return { child, output: () => out, exited };
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

async function until(what: string, ok: () => boolean, seconds = 60): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A redis-server on a free loopback port, with a password; `persist` keeps Redis's default
 * snapshots; `tls` (a certificate and its key) serves TLS only.
 */
async function startRedis(
  dir: string,
  port: number,
  persist = false,
  tls?: { cert: string; key: string },
): Promise<Proc> {
  await mkdir(dir, { recursive: true });
  const args = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key]
    : ['--port', String(port)];
  if (tls) args.push('--tls-ca-cert-file', tls.cert, '--tls-auth-clients', 'no');
  args.push('--bind', '127.0.0.1', '--dir', dir, '--requirepass', SECRET);
  if (!persist) args.push('--save', '', '--appendonly', 'no');
  const r = start('redis-server', args);
  await until('redis-server to start', () => /Ready to accept connections/.test(r.output()), 20);
  return r;
}

const url = (port: number, scheme = 'redis'): string => `${scheme}://:${SECRET}@127.0.0.1:${port}`;

function worker(port: number, extra: string[] = [], env: Record<string, string> = {}, scheme = 'redis'): Proc {
  return start(process.execPath, [CLI, 'worker', '--queue', url(port, scheme), '--concurrency', '1', ...extra], env);
}

function coordinator(
  port: number,
  out: string,
  shardSize = 3,
  env: Record<string, string> = {},
  scheme = 'redis',
): Proc {
  return start(
    process.execPath,
    [
      CLI,
      'build',
      '--catalog',
      fx.catalog,
      '--labels',
      fx.labels,
      '--out',
      out,
      '--min-release',
      '3',
      '--queue',
      url(port, scheme),
      '--shard-size',
      String(shardSize),
    ],
    env,
  );
}

async function stop(...ps: Proc[]): Promise<void> {
  for (const p of ps) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  await Promise.all(ps.map((p) => p.exited));
}

function journalLines(out: string): number {
  const p = join(out, '.build', 'journal.jsonl');
  return existsSync(p) ? readFileSync(p, 'utf8').split('\n').length - 1 : 0;
}

function stagedFiles(out: string): number {
  const d = join(out, '.build', 'staged');
  if (!existsSync(d)) return 0;
  return readdirSync(d).reduce((n, sub) => n + readdirSync(join(d, sub)).filter((f) => f.endsWith('.png')).length, 0);
}

async function assertSame(out: string, ref = reference): Promise<void> {
  const got = await treeDigest(out);
  assert.deepEqual([...got.keys()], [...ref.keys()], 'same files as the local --workers 1 build');
  for (const [k, v] of ref) assert.equal(got.get(k), v, `${k} differs from the local --workers 1 build`);
  for (const k of got.keys()) {
    if (!/\.(csv|json|md)$/.test(k)) continue;
    assert.ok(!readFileSync(join(out, k), 'utf8').includes(SECRET), `the Redis password is in ${k}`);
  }
}

function assertNoSecret(...ps: Proc[]): void {
  for (const p of ps) assert.ok(!p.output().includes(SECRET), `the Redis password was printed:\n${p.output()}`);
}

/** Image sets the workers ran, from their log lines. */
function shardSets(...ps: Proc[]): number {
  let n = 0;
  for (const p of ps) for (const m of p.output().matchAll(/^worker: shard \S+: (\d+) image sets/gm)) n += Number(m[1]);
  return n;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cytoimagenet-distributed-'));
  fx = await makeFixture(root, { lite: true });
  const local = async (out: string): Promise<Map<string, string>> => {
    await buildRelease({
      catalog: fx.catalog,
      labels: fx.labels,
      out,
      workers: 1,
      minRelease: 3,
      progress: false,
      log: () => undefined,
    });
    return treeDigest(out);
  };
  reference = await local(join(root, 'reference'));
  // The local pool's forked workers read this hook from the environment they inherit.
  crashVictim = fx.rows.find((r) => r.label === 'microtubules')?.idx as string;
  process.env.CYTOIMAGENET_BUILD_WORKER_CRASH_ON = crashVictim;
  try {
    crashReference = await local(join(root, 'reference-crash'));
  } finally {
    delete process.env.CYTOIMAGENET_BUILD_WORKER_CRASH_ON;
  }
});

after(async () => {
  // Workers, coordinators and redis-servers, whatever state a failed test left them in.
  for (const c of children) c.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

/** A throwaway certificate for 127.0.0.1 (openssl), for a TLS-only redis-server. */
async function makeCert(dir: string): Promise<{ cert: string; key: string }> {
  await mkdir(dir, { recursive: true });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1'];
  const ssl = start('openssl', [...args, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  assert.equal((await ssl.exited).code, 0, ssl.output());
  return { cert, key };
}

test('3 workers over rediss:// (TLS) with a password, one reading the shared storage through --path-map, an image that kills its worker twice: byte-identical to --workers 1, each image set run once, no password shown', async () => {
  const port = await freePort();
  const tls = await makeCert(join(root, 'tls'));
  const redis = await startRedis(join(root, 'redis-3'), port, false, tls);
  // The third machine mounts the storage elsewhere: here, a symlink to the same folder.
  const alias = join(tmpdir(), `cytoimagenet-alias-${process.pid}`);
  await rm(alias, { force: true });
  await symlink(root, alias);
  // The test's own certificate authority, trusted the way a site adds its own.
  const env = { CYTOIMAGENET_BUILD_WORKER_CRASH_ON: crashVictim, NODE_EXTRA_CA_CERTS: tls.cert };
  const ws = [
    worker(port, [], env, 'rediss'),
    worker(port, [], env, 'rediss'),
    worker(port, ['--path-map', `${root}=${alias}`], env, 'rediss'),
  ];
  try {
    await until('the workers to start', () => ws.every((w) => /takes shards from/.test(w.output())));
    const out = join(root, 'three');
    const c = coordinator(port, out, 2, { NODE_EXTRA_CA_CERTS: tls.cert }, 'rediss');
    const { code } = await c.exited;
    assert.equal(code, 0, c.output());
    assert.match(c.output(), /image sets to the queue at rediss:\/\/:\*\*\*@127\.0\.0\.1/);
    assert.match(c.output(), new RegExp(`${hostname()} \\d+`), 'progress per worker host');
    const rejects = readFileSync(join(out, 'rejects.csv'), 'utf8');
    assert.match(rejects, new RegExp(`^${crashVictim},microtubules,cell_visible,decode,worker-crashed,`, 'm'));
    await assertSame(out, crashReference);
    await stop(...ws);
    assert.equal(shardSets(...ws), 28, 'each image set ran once');
    assert.ok(
      ws.every((w) => /worker: shard /.test(w.output())),
      'every worker took shards',
    );
    assertNoSecret(c, ...ws);
  } finally {
    await stop(...ws, redis);
    await rm(alias, { force: true });
  }
});

test('a worker stopped with SIGTERM mid-shard finishes it first; one killed with -9 mid-shard loses nothing (another worker runs its shard); byte-identical', async () => {
  const port = await freePort();
  const redis = await startRedis(join(root, 'redis-kill'), port);
  const out = join(root, 'kill-worker');
  const graceful = worker(port);
  const ws = [graceful];
  try {
    const c = coordinator(port, out, 4);
    await until('the first staged image', () => stagedFiles(out) > 0);
    graceful.child.kill('SIGTERM');
    assert.equal((await graceful.exited).code, 0, graceful.output());
    assert.match(graceful.output(), /worker: shard \S+: 4 image sets[\s\S]*worker: stopped/);
    const staged = stagedFiles(out);
    const victim = worker(port);
    ws.push(victim);
    await until('the victim to stage an image', () => stagedFiles(out) > staged);
    victim.child.kill('SIGKILL');
    assert.equal((await victim.exited).signal, 'SIGKILL');
    ws.push(worker(port), worker(port));
    const { code } = await c.exited;
    assert.equal(code, 0, c.output());
    await assertSame(out);
    assertNoSecret(c, ...ws);
  } finally {
    await stop(...ws, redis);
  }
});

test('a shard delivered twice (its worker dies after staging, before reporting): same bytes, counted once', async () => {
  const port = await freePort();
  const redis = await startRedis(join(root, 'redis-twice'), port);
  const out = join(root, 'twice');
  const dying = worker(port, [], { CYTOIMAGENET_QUEUE_WORKER_CRASH_AFTER: '1' });
  const ws = [dying];
  try {
    const c = coordinator(port, out, 4);
    await until('the first shard to be staged', () => /worker: shard /.test(dying.output()));
    assert.equal((await dying.exited).signal, 'SIGKILL');
    ws.push(worker(port));
    const { code } = await c.exited;
    assert.equal(code, 0, c.output());
    assert.match(c.output(), /\(28 image sets processed now, 0 resumed/);
    await stop(...ws);
    assert.equal(shardSets(...ws), 28 + 4, 'the first shard ran twice');
    await assertSame(out);
  } finally {
    await stop(...ws, redis);
  }
});

test('redis restarted mid-build (default persistence): workers and coordinator reconnect; byte-identical', async () => {
  const port = await freePort();
  const dir = join(root, 'redis-restart');
  let redis = await startRedis(dir, port, true);
  const out = join(root, 'restart');
  const ws = [worker(port), worker(port)];
  try {
    const c = coordinator(port, out, 2);
    await until('the first results', () => journalLines(out) >= 2);
    redis.child.kill('SIGTERM'); // saves its snapshot, as a service stop does
    await redis.exited;
    assert.ok(journalLines(out) < 28, 'Redis went down mid-build');
    redis = await startRedis(dir, port, true);
    const { code } = await c.exited;
    assert.equal(code, 0, c.output());
    await assertSame(out);
    assertNoSecret(c, ...ws);
  } finally {
    await stop(...ws, redis);
  }
});

test('the coordinator killed with -9 and started again: resumes from its journal and the queue, nothing redone; byte-identical', async () => {
  const port = await freePort();
  const redis = await startRedis(join(root, 'redis-coord'), port);
  const out = join(root, 'coordinator');
  const ws = [worker(port), worker(port)];
  try {
    const first = coordinator(port, out, 2);
    await until('the first results', () => journalLines(out) >= 4);
    first.child.kill('SIGKILL');
    await first.exited;
    const second = coordinator(port, out, 2);
    const { code } = await second.exited;
    assert.equal(code, 0, second.output());
    assert.match(second.output(), /resuming .*: \d+ of 28 image sets already done/);
    await assertSame(out);
    await stop(...ws);
    assert.equal(shardSets(...ws), 28, 'no image set ran twice');
  } finally {
    await stop(...ws, redis);
  }
});

test('a worker that cannot see the output folder fails its shards naming the path and the host, not as missing files; with the mount, the build resumes', async () => {
  const port = await freePort();
  const redis = await startRedis(join(root, 'redis-mount'), port);
  const out = join(root, 'mount');
  const blind = worker(port, ['--path-map', `${root}=/nonexistent-mount`]);
  const ws = [blind];
  try {
    const c = coordinator(port, out, 30);
    const { code } = await c.exited;
    assert.equal(code, 1, c.output());
    assert.match(
      c.output(),
      new RegExp(`not visible on host ${hostname()}: /nonexistent-mount/mount/\\.build/shared-check is missing`),
    );
    assert.ok(!/missing-file/.test(c.output()));
    assert.match(blind.output(), /not visible on host/);
    await stop(blind);
    ws.push(worker(port));
    const again = coordinator(port, out, 30);
    assert.equal((await again.exited).code, 0, again.output());
    await assertSame(out);
  } finally {
    await stop(...ws, redis);
  }
});
