// Whether text is all ASCII: where it is, lower-casing and trimming need no Unicode tables, so the
// catalog's cleaning and checks take their cheap forms (catalog/ingest.ts).
const ASCII = /^[\x00-\x7f]*$/;

export function isAsciiText(s: string): boolean {
  return ASCII.test(s);
}
