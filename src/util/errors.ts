// Errors a user can act on: where (file, line, column) and what to do. The CLI prints them as
// sentences, never as a bare stack trace.

export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: string;
}

export class UserError extends Error {
  readonly location: ErrorLocation;
  readonly hint?: string;

  constructor(message: string, location: ErrorLocation = {}, hint?: string) {
    super(message);
    this.name = 'UserError';
    this.location = location;
    this.hint = hint;
  }

  /** One readable paragraph: "file:line, column X: message. hint". */
  format(): string {
    const where: string[] = [];
    if (this.location.file) {
      where.push(this.location.line !== undefined ? `${this.location.file}:${this.location.line}` : this.location.file);
    } else if (this.location.line !== undefined) {
      where.push(`line ${this.location.line}`);
    }
    if (this.location.column) where.push(`column '${this.location.column}'`);
    const head = where.length ? `${where.join(', ')}: ` : '';
    return `${head}${this.message}${this.hint ? `\n  hint: ${this.hint}` : ''}`;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

const FS_ERRORS: Record<string, { what: string; hint: string }> = {
  EACCES: {
    what: 'permission denied: this user may not read or write here',
    hint: 'check the owner and mode of the path and its folders (ls -ld), or choose a path you may write to',
  },
  EPERM: {
    what: 'operation not permitted here',
    hint: 'check the owner and mode of the path (ls -ld), or choose another path',
  },
  EEXIST: {
    what: 'already exists (a file where a folder is needed, or the reverse)',
    hint: 'remove or rename it, or choose another path',
  },
  ENOSPC: {
    what: 'no space left on the device',
    hint: 'free space there (df -h shows it) or write to another disk; what was being written is not complete',
  },
  EROFS: { what: 'on a read-only file system', hint: 'choose a writable folder' },
  ENOTDIR: {
    what: 'part of this path is a file where a folder was expected',
    hint: 'check each folder of the path, or choose another path',
  },
  EISDIR: { what: 'a folder where a file was expected', hint: 'give the path of a file' },
};

const DUCKDB_IO: [RegExp, string][] = [
  [/Permission denied/i, 'EACCES'],
  [/No space left on device/i, 'ENOSPC'],
  [/File exists/i, 'EEXIST'],
  [/Read-only file system/i, 'EROFS'],
];

/**
 * A raw file-system error (Node's EACCES, EEXIST, ENOSPC, … or DuckDB's "IO Error: … Permission
 * denied") as a sentence naming the path and what to do; null for anything else.
 */
export function fsUserError(e: unknown): UserError | null {
  if (e instanceof UserError || !(e instanceof Error)) return null;
  const err = e as NodeJS.ErrnoException;
  let code = typeof err.code === 'string' ? err.code : undefined;
  let path = typeof err.path === 'string' ? err.path : '';
  if (!code || !FS_ERRORS[code]) {
    if (!/IO Error/.test(err.message)) return null;
    const hit = DUCKDB_IO.find(([re]) => re.test(err.message));
    if (!hit) return null;
    code = hit[1];
    path = /"([^"]+)"/.exec(err.message)?.[1] ?? '';
  }
  const f = FS_ERRORS[code];
  return f ? new UserError(f.what, path ? { file: path } : {}, f.hint) : null;
}

/** The message of anything thrown, without a stack. */
export function messageOf(e: unknown): string {
  if (e instanceof UserError) return e.format();
  const fs = fsUserError(e);
  if (fs) return fs.format();
  if (e instanceof Error) return e.message;
  return String(e);
}
