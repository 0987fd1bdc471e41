// kill -9 of a real `cytoimagenet build` process at several moments, then the same command again:
// the release must be complete and byte-identical to an uninterrupted build.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRelease } from '../../src/release/build-release.js';
import { fileURLToPath } from 'node:url';
import { CLI } from '../helpers/data.js';
import { makeFixture, treeDigest, type Fixture } from './fixture.js';

let root: string;
let fx: Fixture;
let reference: Map<string, string>;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const CHILD = fileURLToPath(new URL('./build-child.js', import.meta.url));

/** The build in a child process: the real CLI, or (faster to start) buildRelease in a small driver. */
function runBuild(
  out: string,
  opts: { crashAt?: string; killWhen?: (out: string) => boolean; cli?: boolean; env?: Record<string, string> } = {},
): Promise<Run> {
  const env = { ...process.env, ...opts.env };
  if (!opts.crashAt) delete env.CYTOIMAGENET_BUILD_CRASH_AT;
  else env.CYTOIMAGENET_BUILD_CRASH_AT = opts.crashAt;
  env.CYTOIMAGENET_BUILD_CHILD = JSON.stringify({
    catalog: fx.catalog,
    labels: fx.labels,
    out,
    workers: 2,
    minRelease: 3,
  });
  const args = opts.cli
    ? [
        CLI,
        'build',
        '--catalog',
        fx.catalog,
        '--labels',
        fx.labels,
        '--out',
        out,
        '--workers',
        '2',
        '--min-release',
        '3',
      ]
    : [CHILD];
  const child = spawn(process.execPath, args, { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let timer: NodeJS.Timeout | undefined;
  if (opts.killWhen) {
    const check = opts.killWhen;
    timer = setInterval(() => {
      if (check(out)) {
        child.kill('SIGKILL');
        clearInterval(timer);
      }
    }, 5);
  }
  return new Promise((resolveRun) => {
    child.on('exit', (code, signal) => {
      if (timer) clearInterval(timer);
      resolveRun({ code, signal, stdout, stderr });
    });
  });
}

function journalLines(out: string): number {
  const p = join(out, '.build', 'journal.jsonl');
  if (!existsSync(p)) return 0;
  return readFileSync(p, 'utf8').split('\n').length - 1;
}

async function assertSameAsReference(out: string): Promise<void> {
  const got = await treeDigest(out);
  assert.deepEqual([...got.keys()], [...reference.keys()], 'same files');
  for (const [k, v] of reference) assert.equal(got.get(k), v, `${k} differs from the uninterrupted build`);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cytoimagenet-resume-'));
  fx = await makeFixture(root, { lite: true });
  const ref = join(root, 'reference');
  await buildRelease({
    catalog: fx.catalog,
    labels: fx.labels,
    out: ref,
    workers: 2,
    minRelease: 3,
    progress: false,
    log: () => undefined,
  });
  reference = await treeDigest(ref);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('kill -9 of the build as it starts, again after the first images, then `cytoimagenet build`: complete and byte-identical', async () => {
  const out = join(root, 'a');
  assert.equal((await runBuild(out, { crashAt: 'start:1' })).signal, 'SIGKILL', 'killed right after taking the folder');
  const killed = await runBuild(out, { crashAt: 'job:3' });
  assert.equal(killed.signal, 'SIGKILL');
  assert.ok(!existsSync(join(out, 'README.md')));
  assert.ok(journalLines(out) >= 3);
  const done = await runBuild(out, { cli: true });
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout, /resuming .*: \d+ of 28 image sets already done/);
  assert.match(done.stdout, /dataset card: .*README\.md/);
  await assertSameAsReference(out);
});

test('killed from outside mid-jobs, again while moving images into place, again after the tables, then completed: byte-identical; then a no-op', async () => {
  const out = join(root, 'b');
  const first = await runBuild(out, { killWhen: (o) => journalLines(o) >= 10 });
  assert.equal(first.signal, 'SIGKILL');
  assert.ok(journalLines(out) < 28);
  const second = await runBuild(out, { crashAt: 'move:4' });
  assert.equal(second.signal, 'SIGKILL');
  assert.ok(journalLines(out) >= 28, 'every job journalled before the moves');
  const third = await runBuild(out, { crashAt: 'tables:1' });
  assert.equal(third.signal, 'SIGKILL');
  assert.ok(existsSync(join(out, 'metadata.csv')) && !existsSync(join(out, 'README.md')));
  const done = await runBuild(out);
  assert.equal(done.code, 0, done.stderr);
  await assertSameAsReference(out);
  const again = await runBuild(out, { cli: true });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already holds this release/);
  await assertSameAsReference(out);
});

test('a worker process that dies on an image is replaced; the image is retried once, then rejected, and the build completes', async () => {
  const out = join(root, 'e');
  const victim = fx.rows.find((r) => r.label === 'microtubules')?.idx as string;
  const run = await runBuild(out, { env: { CYTOIMAGENET_BUILD_WORKER_CRASH_ON: victim } });
  assert.equal(run.code, 0, run.stderr);
  const rejects = readFileSync(join(out, 'rejects.csv'), 'utf8');
  assert.match(rejects, new RegExp(`^${victim},microtubules,cell_visible,decode,worker-crashed,`, 'm'));
  const meta = readFileSync(join(out, 'metadata.csv'), 'utf8');
  assert.ok(!meta.includes(`,${victim}\n`), 'the victim is not released');
  assert.ok(meta.split('\n').length > 20, 'the other images are');
});
