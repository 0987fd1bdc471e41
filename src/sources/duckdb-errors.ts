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
  const size = /Maximum line size of (\d+) bytes exceeded\. Actual Size:\s*(\d+)/.exec(msg);
  if (size) {
    return new UserError(
      `malformed table line: it is ${Number(size[2]).toLocaleString('en')} bytes long, over the reader's limit of ${Number(size[1]).toLocaleString('en')} bytes per line`,
      { file, line: lineNo },
      'a field this long is rarely a table value: move it out of the table (e.g. into its own file), or check for an unclosed quote',
    );
  }
  return new UserError(`cannot read the table: ${reasonOf(msg)}`, { file, line: lineNo });
}

/**
 * DuckDB's reader message is "CSV Error on Line: N", then "Original Line: <the whole line>", then
 * the reason, then the reader's settings: keep the reason, never just the first line.
 */
function reasonOf(msg: string): string {
  const lines = msg.split('\n').map((l) => l.trim());
  const skip = (l: string): boolean =>
    l === '' || /^(Invalid Input Error: )?CSV Error on Line/.test(l) || l.startsWith('Original Line:');
  const reason = lines.find((l) => !skip(l));
  const head = lines.find((l) => l !== '') ?? msg;
  const r = reason ?? head;
  return r.length > 300 ? `${r.slice(0, 300)}…` : r;
}
