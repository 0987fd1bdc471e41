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

/** The message of anything thrown, without a stack. */
export function messageOf(e: unknown): string {
  if (e instanceof UserError) return e.format();
  if (e instanceof Error) return e.message;
  return String(e);
}
