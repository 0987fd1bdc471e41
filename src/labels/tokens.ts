// A metadata value's tokens are its '|'-separated parts. Matching is by whole token only, so
// 'rab5' never matches 'rab5a' (the original used a regex substring test).

/** Distinct non-empty parts of a '|'-joined value, trimmed, in order of first appearance. */
export function splitTokens(value: string | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  const out: string[] = [];
  for (const part of value.split('|')) {
    const t = part.trim();
    if (t !== '' && !out.includes(t)) out.push(t);
  }
  return out;
}

/** Code-unit order: the same in every locale, so the same catalog always sorts the same way. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A value as its sorted token set ('b|a|a' → 'a|b'); null when it has no token. Strata use this
 * form, so 'a|b' and 'b|a' fall in one stratum and a missing value is a stratum of its own.
 */
export function normalizeValue(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (!value.includes('|')) {
    // One token: most values, so the split, dedupe and sort are skipped.
    const t = value.trim();
    return t === '' ? null : t;
  }
  const tokens = splitTokens(value);
  if (tokens.length === 0) return null;
  return tokens.sort(compareStrings).join('|');
}
