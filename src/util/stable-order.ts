// Orderings that every run, worker count and platform agree on (no locale, no insertion order).

/** Code-point order. */
export function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A key whose code-point order is natural order: each digit run becomes its length (3 digits) then
 * the digits without leading zeros, so "img-2" < "img-10". Compute once per item, then sort.
 */
export function naturalKey(s: string): string {
  return s.replace(/\d+/g, (d) => {
    const t = d.replace(/^0+(?=\d)/, '');
    return `${String(t.length).padStart(3, '0')}${t}`;
  });
}

/** Natural order, ties (e.g. "a01" vs "a1") broken by code points. */
export function compareNatural(a: string, b: string): number {
  return compareCodePoints(naturalKey(a), naturalKey(b)) || compareCodePoints(a, b);
}

/** Items sorted naturally by a string field, computing each key once. */
export function sortNaturalBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  return items
    .map((item) => ({ item, raw: key(item), k: naturalKey(key(item)) }))
    .sort((x, y) => compareCodePoints(x.k, y.k) || compareCodePoints(x.raw, y.raw))
    .map((x) => x.item);
}
