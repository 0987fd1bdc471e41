// When no label reaches the threshold, say why instead of writing an empty labels folder: the
// largest labels and their counts, and the threshold that would keep at least one. A label with
// count ≥ threshold is always kept at its visit when it is visited first, so the largest count is
// exactly the highest threshold that gives labels.
import { CATEGORIES } from '../defaults.js';
import { UserError } from '../util/errors.js';
import type { LabelsOptions } from './options.js';
import type { LabelKey } from './postings.js';
import { compareStrings } from './tokens.js';

/** Largest labels first; ties as in visit order (category in the spec's order, then token). */
function largest(labels: readonly LabelKey[], n: number): LabelKey[] {
  return [...labels]
    .sort(
      (x, y) =>
        y.count - x.count ||
        CATEGORIES.indexOf(x.category) - CATEGORIES.indexOf(y.category) ||
        compareStrings(x.token, y.token),
    )
    .slice(0, n);
}

export function nothingSelectedError(labels: readonly LabelKey[], options: LabelsOptions, catalog: string): UserError {
  if (labels.length === 0)
    return new UserError(
      `no label: the catalog has no values in the categories ${options.categories.join(', ')}`,
      { file: catalog },
      'check the catalog (cytoimagenet describe) and the --category option',
    );
  const top = largest(labels, 5);
  const best = top[0].count;
  return new UserError(
    `no label has ${options.threshold} or more images (--threshold); the largest are ${top
      .map((l) => `${l.token} (${l.category}) ${l.count}`)
      .join(', ')}`,
    { file: catalog },
    `--threshold ${best} or lower gives at least one label; no labels folder was written`,
  );
}
