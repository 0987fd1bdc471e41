// Bytes per value of each TIFF field type: TIFF 6.0's 1–13 (BYTE … IFD) and BigTIFF's 16–18
// (LONG8, SLONG8, IFD8). The one table for tiff-structure.ts (local files) and tiff-ranges.ts
// (remote ones, classic or BigTIFF). A type missing here has no known size: tiff-ranges.ts then
// reads the whole file, tiff-structure.ts leaves the entry to the decoder.
export const TIFF_TYPE_SIZE: Readonly<Record<number, number>> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
  17: 8,
  18: 8,
};
