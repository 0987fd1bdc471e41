// Which columns stratify a label's draws (the spec's "Resulting strata by category").
import type { Category } from '../defaults.js';
import type { KeyColumn } from './label-table.js';

/** Pre-sampling keys ("dataset, organism and cell type"), before the label's own category is dropped. */
export const PRESAMPLE_KEYS = ['name', 'organism', 'cell_type'] as const satisfies readonly KeyColumn[];
/** Final sampling keys, before drops. */
export const SAMPLE_KEYS = [
  'organism',
  'cell_type',
  'cell_visible',
  'sirna',
  'compound',
  'phenotype',
] as const satisfies readonly KeyColumn[];

export function presampleKeys(category: Category): KeyColumn[] {
  return PRESAMPLE_KEYS.filter((k) => k !== category);
}

export function sampleKeys(category: Category, presampled: boolean): KeyColumn[] {
  let keys: KeyColumn[] = SAMPLE_KEYS.filter((k) => category === 'gene' || k !== category);
  if (category === 'sirna') keys = keys.filter((k) => k !== 'compound');
  if (category === 'compound') keys = keys.filter((k) => k !== 'sirna');
  if (presampled) {
    // Diversity over organism / cell type was already enforced by the pre-sample; keep name only there.
    const used: KeyColumn[] = presampleKeys(category).filter((k) => k !== 'name');
    keys = keys.filter((k) => !used.includes(k));
  }
  return keys;
}
