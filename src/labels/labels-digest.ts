// The digest of a labels folder: sha256 over its three contract files (labels.json, labels.csv,
// assignments.csv), each preceded by its name. The build records it as the release's
// labelsFingerprint, and `labels --extend` records the parent's in labels.json, so an
// incremental build can tell that an extended folder grows exactly the labels a release was
// built from (docs/build.md "Growing a release").
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DIGESTED_FILES = ['labels.json', 'labels.csv', 'assignments.csv'] as const;

export function labelsDigest(dir: string): string {
  const h = createHash('sha256');
  for (const f of DIGESTED_FILES) {
    h.update(f)
      .update('\u0000')
      .update(readFileSync(join(dir, f)))
      .update('\u0000');
  }
  return h.digest('hex');
}
