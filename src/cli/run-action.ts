// One execution boundary for every command: errors become sentences and an exit code, never a
// bare stack trace. Set CYTOIMAGENET_DEBUG=1 to see the stack as well.
import { z } from 'zod';
import { fsUserError, messageOf, isUserError } from '../util/errors.js';

export function formatZodError(err: z.ZodError, where: string): string {
  const lines = err.issues.map((i) => {
    const path = i.path.length ? i.path.join('.') : '(top level)';
    return `  ${path}: ${i.message}`;
  });
  return `${where}: invalid options\n${lines.join('\n')}`;
}

export function runAction<A extends unknown[]>(
  fn: (...args: A) => Promise<void> | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (e instanceof z.ZodError) {
        process.stderr.write(`cytoimagenet: ${formatZodError(e, 'command line')}\n`);
      } else {
        process.stderr.write(`cytoimagenet: ${messageOf(e)}\n`);
      }
      if (process.env.CYTOIMAGENET_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
      process.exitCode = isUserError(e) || fsUserError(e) || e instanceof z.ZodError ? 1 : 2;
    }
  };
}
