// Test inputs: the read-only shared data folder beside the checkout (CI lays it there too).
// Test outputs always go to a fresh temporary folder.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root (tests run from dist/test/helpers). */
export const REPO_ROOT = resolve(here, '..', '..', '..');

export const SHARED_DATA = process.env.CYTOIMAGENET_SHARED_DATA ?? resolve(REPO_ROOT, '..', 'shared', 'data');

export function sharedPath(...parts: string[]): string {
  const p = join(SHARED_DATA, ...parts);
  if (!existsSync(p)) throw new Error(`shared test data missing: ${p} (set CYTOIMAGENET_SHARED_DATA)`);
  return p;
}

/** The compiled CLI entry, for tests that run the real command in a child process. */
export const CLI = join(REPO_ROOT, 'bin', 'cytoimagenet.js');

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
