// Always runs (no LibTorch needed): `train` must say exactly what is missing and how to get it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, withTempDir } from '../helpers/data.js';

function runTrain(env: Record<string, string>, dir: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'train', '--release', dir, '--out', join(dir, 'run')], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { status: r.status, stderr: r.stderr };
}

test('without LibTorch, train names the missing library, the install command, the env variable and the build command', async () => {
  await withTempDir(async (dir) => {
    const r = runTrain(
      { CYTOIMAGENET_LIBTORCH: join(dir, 'no-libtorch'), CYTOIMAGENET_TRAIN_ADDON: join(dir, 'none.node') },
      dir,
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /needs LibTorch, which is not installed/);
    assert.match(r.stderr, /apt-get install -y libtorch-dev libopenblas0-pthread/);
    assert.match(r.stderr, /CYTOIMAGENET_LIBTORCH=\/path\/to\/libtorch/);
    assert.match(r.stderr, /npm run build:native/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});

test('with LibTorch but no built addon, train says the addon is not built and how to build it', async () => {
  await withTempDir(async (dir) => {
    const fake = join(dir, 'libtorch');
    await mkdir(join(fake, 'include', 'torch', 'csrc', 'api', 'include', 'torch'), { recursive: true });
    await writeFile(join(fake, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h'), '');
    const r = runTrain({ CYTOIMAGENET_LIBTORCH: fake, CYTOIMAGENET_TRAIN_ADDON: join(dir, 'none.node') }, dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /training addon is not built: .*none\.node is missing/);
    assert.match(r.stderr, /build it with `npm run build:native`/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

test('an addon that cannot load is reported as such, with the rebuild command', async () => {
  await withTempDir(async (dir) => {
    const bogus = join(dir, 'broken.node');
    await writeFile(bogus, 'not a shared object');
    const fake = join(dir, 'libtorch');
    await mkdir(join(fake, 'include', 'torch', 'csrc', 'api', 'include', 'torch'), { recursive: true });
    await writeFile(join(fake, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h'), '');
    const r = runTrain({ CYTOIMAGENET_LIBTORCH: fake, CYTOIMAGENET_TRAIN_ADDON: bogus }, dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /broken\.node cannot load/);
    assert.match(r.stderr, /npm run build:native/);
  });
});

test('an unknown --precision is refused before anything loads, naming the choices', async () => {
  await withTempDir(async (dir) => {
    const r = spawnSync(
      process.execPath,
      [CLI, 'train', '--release', dir, '--out', join(dir, 'run'), '--precision', 'float16'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--precision must be auto, float32 or mixed_bfloat16/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
