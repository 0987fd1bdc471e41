// The output folder's identity and state. OUT/build.json records the build fingerprint (catalog +
// labels + every option that changes the bytes); a re-run with the same fingerprint resumes, any
// other is refused before work starts. OUT/.build holds the journal and staged images while a
// build is unfinished, and a lock so two builds never share one folder.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import type { ReleaseFormat } from './types.js';

export const BUILD_JSON = 'build.json';
export const WORK_DIR = '.build';
/** Where a finished build's work folder goes before it is deleted (a rename is atomic, rm -r is not). */
export const TRASH_DIR = '.build.trash';

/** One build of a release that has grown (docs/build.md "Growing a release"); generation 0 is the first. */
export interface Generation {
  generation: number;
  labelsFingerprint: string;
  catalogFingerprint: string;
  toolVersion: string;
  /** Filled when the generation's build finishes: images and labels it added, labels it grew. */
  images?: number;
  crops?: number;
  newLabels?: number;
  grownLabels?: number;
  cropsFailedQc?: number;
  capped?: number;
}

export interface BuildRecord {
  fingerprint: string;
  catalogFingerprint: string;
  labelsFingerprint: string;
  toolVersion: string;
  options: {
    seed: number;
    minRelease: number;
    format: ReleaseFormat;
    valFraction: number;
    threshold: number;
    cap: number;
    presample: number;
    /** Present (true) only for `--keep-channels`, so releases without it keep their fingerprint. */
    keepChannels?: true;
  };
  /** Only in a release grown by incremental builds: every generation, oldest first. */
  generations?: Generation[];
}

export function makeBuildRecord(parts: Omit<BuildRecord, 'fingerprint'>): BuildRecord {
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify({
        c: parts.catalogFingerprint,
        l: parts.labelsFingerprint,
        v: parts.toolVersion,
        o: parts.options,
      }),
    )
    .digest('hex')
    .slice(0, 32);
  return { fingerprint, ...parts };
}

export type OutState = 'fresh' | 'resume' | 'complete' | 'extend';

/** The record in OUT/build.json, or null when there is none. */
export function readBuildRecord(out: string): BuildRecord | null {
  const recPath = join(out, BUILD_JSON);
  if (!existsSync(recPath)) return null;
  try {
    return JSON.parse(readFileSync(recPath, 'utf8')) as BuildRecord;
  } catch {
    throw new UserError('build.json in the output folder is unreadable', { file: recPath }, 'choose another --out');
  }
}

/**
 * Checks OUT against the record; creates it when absent. Throws a UserError on any mismatch.
 * `labelsParent`: the digest of the labels folder the build's labels extend (labels.json
 * `parent`); when it is the labels OUT was built from and every option is the same, OUT grows
 * ('extend': an incremental build).
 */
export function inspectOut(out: string, record: BuildRecord, labelsParent?: string): OutState {
  if (existsSync(out) && !statSync(out).isDirectory()) {
    throw new UserError(
      '--out is a file, not a folder',
      { file: out },
      'choose a folder name (it is created if absent)',
    );
  }
  if (!existsSync(out)) return 'fresh';
  // Our own leftovers from a build killed in its first moments do not make the folder foreign.
  const entries = readdirSync(out).filter((e) => e !== TRASH_DIR && !(e.startsWith('.') && e.endsWith('.tmp')));
  if (entries.length === 0) return 'fresh';
  const recPath = join(out, BUILD_JSON);
  if (!existsSync(recPath)) {
    throw new UserError(
      'the output folder is not empty and holds no cytoimagenet release',
      { file: out },
      'choose an empty or new folder for --out; nothing was written',
    );
  }
  const old = readBuildRecord(out) as BuildRecord;
  if (old.fingerprint !== record.fingerprint && labelsParent !== undefined) {
    const optionDiffs = optionKeys(record, old)
      .map((k) => [k, (record.options as Record<string, unknown>)[k]] as const)
      .filter(([k, v]) => (old.options as Record<string, unknown> | undefined)?.[k] !== v)
      .map(
        ([k, v]) => `${k} ${JSON.stringify((old.options as Record<string, unknown>)[k])} (now ${JSON.stringify(v)})`,
      );
    if (labelsParent !== old.labelsFingerprint)
      throw new UserError(
        `these labels extend labels ${labelsParent.slice(0, 12)}…, but the release in the output folder was built from labels ${old.labelsFingerprint.slice(0, 12)}…`,
        { file: out },
        'extend the labels folder this release was built from (`cytoimagenet labels --extend THAT_FOLDER`); nothing was written',
      );
    if (optionDiffs.length)
      throw new UserError(
        `an incremental build keeps the release's options, but ${optionDiffs.join(', ')}`,
        { file: out },
        'build with the options the release was built with; nothing was written',
      );
    if (existsSync(join(out, WORK_DIR, 'journal.jsonl')) || !existsSync(join(out, 'README.md')))
      throw new UserError(
        'the release in the output folder is unfinished',
        { file: out },
        'finish it first with the command that started it, then grow it',
      );
    return 'extend';
  }
  if (old.fingerprint !== record.fingerprint) {
    const diffs: string[] = [];
    if (old.catalogFingerprint !== record.catalogFingerprint) diffs.push('another catalog');
    if (old.labelsFingerprint !== record.labelsFingerprint) diffs.push('another labels folder');
    if (old.toolVersion !== record.toolVersion) diffs.push(`tool version ${old.toolVersion}`);
    for (const k of optionKeys(record, old)) {
      const v = (record.options as Record<string, unknown>)[k];
      const was = (old.options as Record<string, unknown> | undefined)?.[k];
      if (was !== v) diffs.push(`${k} ${JSON.stringify(was)} (now ${JSON.stringify(v)})`);
    }
    throw new UserError(
      `the output folder holds a different release (built from ${diffs.join(', ') || 'other inputs'})`,
      { file: out },
      'choose another --out, or delete that folder to rebuild it; nothing was written',
    );
  }
  rmSync(join(out, TRASH_DIR), { recursive: true, force: true });
  return existsSync(join(out, WORK_DIR)) || !existsSync(join(out, 'README.md')) ? 'resume' : 'complete';
}

/** Every option either record names (keepChannels is absent when off). */
function optionKeys(a: BuildRecord, b: BuildRecord): string[] {
  return [...new Set([...Object.keys(a.options), ...Object.keys(b.options ?? {})])];
}

export async function writeBuildRecord(out: string, record: BuildRecord): Promise<void> {
  await writeFileAtomic(join(out, BUILD_JSON), `${JSON.stringify(record, null, 2)}\n`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes OUT/.build/lock; a lock left by a killed build (dead pid) is taken over. */
export function takeLock(out: string): () => void {
  const dir = join(resolve(out), WORK_DIR);
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => rmSync(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(lock, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new UserError(
          `another build (process ${pid}) is writing this output folder`,
          { file: out },
          'wait for it to finish, or stop it first',
        );
      }
      rmSync(lock, { force: true });
    }
  }
  throw new UserError('cannot lock the output folder', { file: out });
}

/** Removes temporary files a killed build left (".<name>.<pid>.<hex>.tmp") directly in `dir`. */
export function removeTempFiles(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') && name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
  }
}
