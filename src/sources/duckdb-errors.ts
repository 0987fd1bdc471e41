// DuckDB's reader errors carry a line number in prose; turn them into UserErrors that name the file,
// the line and what was expected.
import { UserError } from '../util/errors.js';

export function csvErrorToUserError(e: unknown, file: string): UserError {
  if (e instanceof UserError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const line = /CSV Error on Line:\s*(\d+)/.exec(msg);
  const lineNo = line ? Number(line[1]) : undefined;
  const cols = /Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)/.exec(msg);
  if (cols) {
    return new UserError(
      `malformed table line: expected ${cols[1]} fields (as in the header), found ${cols[2]}`,
      { file, line: lineNo },
      'quote fields that contain the delimiter, and keep one record per line',
    );
  }
  if (/unterminated quote/i.test(msg)) {
    return new UserError(
      'malformed table line: a quoted field is never closed',
      { file, line: lineNo },
      'close the quote or escape it as ""',
    );
  }
  if (/Invalid unicode|UTF-8/i.test(msg)) {
    return new UserError('the table is not valid UTF-8 text', { file, line: lineNo }, 're-save it as UTF-8');
  }
  const first = msg.split('\n').find((l) => l.trim()) ?? msg;
  return new UserError(`cannot read the table: ${first}`, { file, line: lineNo });
}
