// The per-sample journal: one JSON line per finished job, appended by the main process only (one
// writer, so lines never interleave). Each line is written with a single write() after the job's
// staged files are renamed into place, so a line implies its files. A kill can leave at most one
// partial last line; loading drops it and truncates the file to the last complete line.
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { JobResult } from './types.js';

function isJobResult(v: unknown): v is JobResult {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  if (typeof r.key !== 'string') return false;
  if (r.ok === true) return Array.isArray(r.samples) && typeof r.width === 'number';
  return r.ok === false && typeof r.stage === 'string' && typeof r.reason === 'string';
}

export class Journal {
  private fd: number | null = null;

  constructor(readonly path: string) {}

  /** Completed results by job key; repairs a torn last line. */
  load(): Map<string, JobResult> {
    const done = new Map<string, JobResult>();
    if (!existsSync(this.path)) return done;
    const buf = readFileSync(this.path);
    let start = 0;
    let validEnd = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break; // torn line: no newline yet
      let parsed: unknown;
      try {
        parsed = JSON.parse(buf.subarray(start, nl).toString('utf8'));
      } catch {
        break;
      }
      if (!isJobResult(parsed)) break;
      done.set(parsed.key, parsed);
      start = nl + 1;
      validEnd = start;
    }
    if (validEnd < buf.length) {
      const fd = openSync(this.path, 'r+');
      try {
        ftruncateSync(fd, validEnd);
      } finally {
        closeSync(fd);
      }
    }
    return done;
  }

  append(result: JobResult): void {
    if (this.fd === null) this.fd = openSync(this.path, 'a');
    writeSync(this.fd, `${JSON.stringify(result)}\n`);
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}
