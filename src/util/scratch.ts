// Scratch files and folders a command makes outside its final outputs (the labels stage's row
// CSV and DuckDB spill folder, ingest's temp folder). Their names carry the writer's pid, so:
//   - on exit, including Ctrl-C and SIGTERM, the process removes the ones it registered;
//   - on the next run, leftovers of a process that no longer exists (a kill -9) are removed.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const live = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const onSignal = (signal: NodeJS.Signals): void => {
  removeAll();
  // The conventional status of a process ended by a signal (128 + its number).
  process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
};

function removeAll(): void {
  for (const p of live) rmSync(p, { recursive: true, force: true });
  live.clear();
}

/** Removes `path` when the process exits or is interrupted; call the result once it is gone. */
export function registerScratch(path: string): () => void {
  if (live.size === 0) {
    process.on('exit', removeAll);
    // Only while scratch exists: a library caller's own signal handling is left alone otherwise.
    for (const s of SIGNALS) if (process.listenerCount(s) === 0) process.on(s, onSignal);
  }
  live.add(path);
  return () => {
    live.delete(path);
    if (live.size === 0) {
      process.off('exit', removeAll);
      for (const s of SIGNALS) process.off(s, onSignal);
    }
  };
}

/** True when a process with this pid exists (EPERM: it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes entries of `dir` whose name matches `pattern` (its first matching group: the writer's pid) and whose
 * writer is gone. Returns how many were removed. A missing folder has none.
 */
export function removeStaleScratch(dir: string, pattern: RegExp): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    const m = pattern.exec(name);
    const pid = m?.slice(1).find((g) => g !== undefined);
    if (pid === undefined || pidAlive(Number(pid))) continue;
    try {
      if (statSync(join(dir, name)).isFile() || statSync(join(dir, name)).isDirectory()) {
        rmSync(join(dir, name), { recursive: true, force: true });
        n++;
      }
    } catch {
      // removed by someone else meanwhile
    }
  }
  return n;
}
