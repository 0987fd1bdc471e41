// Every path a stage writes is resolved against its output folder and must stay inside it.
import { resolve, relative, isAbsolute, sep } from 'node:path';
import { UserError } from './errors.js';

export function isInside(root: string, candidate: string): boolean {
  const rel = relative(resolve(root), resolve(candidate));
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/** resolve(root, ...parts), refusing anything that escapes root. */
export function resolveInside(root: string, ...parts: string[]): string {
  const p = resolve(root, ...parts);
  if (!isInside(root, p)) {
    throw new UserError(`refusing to write outside the output folder: ${p}`, { file: root });
  }
  return p;
}
