// The hot loops of standardisation. Each channel is normalised through a lookup table (integer
// data) straight into one float64 accumulator; a final pass takes the mean, quantises to the
// output depth and counts zeros for the dim test. Loops are kept monomorphic (one array type per
// loop) because V8 slows down several-fold on loops that see several typed-array kinds.
import { accumulateNormalized, normalizationLut } from './normalize.js';
import { roundHalfUp, type OutputBitDepth } from './encode.js';
import type { GrayImage } from './types.js';

export interface MergedPixels {
  merged: Float64Array;
  output: Uint8Array | Uint16Array;
  /** Pixels where the merged value is exactly 0. */
  zeros: number;
}

function useLut(g: GrayImage): boolean {
  return g.integer && Number.isFinite(g.maxCode) && g.maxCode + 1 <= Math.max(4 * g.data.length, 65536);
}

function setFromLut8(acc: Float64Array, lut: Float64Array, d: Uint8Array): void {
  for (let i = 0; i < d.length; i++) acc[i] = lut[d[i]];
}
function setFromLut16(acc: Float64Array, lut: Float64Array, d: Uint16Array): void {
  for (let i = 0; i < d.length; i++) acc[i] = lut[d[i]];
}
function addFromLut8(acc: Float64Array, lut: Float64Array, d: Uint8Array): void {
  for (let i = 0; i < d.length; i++) acc[i] += lut[d[i]];
}
function addFromLut16(acc: Float64Array, lut: Float64Array, d: Uint16Array): void {
  for (let i = 0; i < d.length; i++) acc[i] += lut[d[i]];
}

function finish8(acc: Float64Array, k: number, out: Uint8Array): number {
  let zeros = 0;
  for (let i = 0; i < acc.length; i++) {
    const v = acc[i] / k;
    acc[i] = v;
    out[i] = roundHalfUp(v * 255);
    zeros += v === 0 ? 1 : 0;
  }
  return zeros;
}
function finish16(acc: Float64Array, k: number, out: Uint16Array): number {
  let zeros = 0;
  for (let i = 0; i < acc.length; i++) {
    const v = acc[i] / k;
    acc[i] = v;
    out[i] = roundHalfUp(v * 65535);
    zeros += v === 0 ? 1 : 0;
  }
  return zeros;
}

/** Add one channel's normalised values into acc (first = overwrite instead of add). */
export function addNormalized(acc: Float64Array, g: GrayImage, lo: number, hi: number, first: boolean): void {
  if (!(hi > lo)) {
    if (first) acc.fill(0);
    return; // uniform: contributes zeros
  }
  if (useLut(g)) {
    const lut = normalizationLut(g.maxCode, g.divisor, lo, hi);
    const d = g.data;
    if (d instanceof Uint8Array) (first ? setFromLut8 : addFromLut8)(acc, lut, d);
    else if (d instanceof Uint16Array) (first ? setFromLut16 : addFromLut16)(acc, lut, d);
    else if (first) for (let i = 0; i < d.length; i++) acc[i] = lut[d[i]];
    else for (let i = 0; i < d.length; i++) acc[i] += lut[d[i]];
    return;
  }
  if (first) acc.fill(0);
  accumulateNormalized(g, lo, hi, acc);
}

/**
 * Mean of the normalised channels ((0 + n0) + n1 + …) / k, as numpy's mean and mergeChannels
 * compute it, quantised; bit for bit the same as the step-by-step path.
 */
export function mergeNormalizedChannels(
  grays: readonly GrayImage[],
  bounds: ReadonlyArray<{ lo: number; hi: number }>,
  bitDepth: OutputBitDepth,
): MergedPixels {
  const k = grays.length;
  const n = grays[0].data.length;
  const merged = new Float64Array(n);
  for (let c = 0; c < k; c++) addNormalized(merged, grays[c], bounds[c].lo, bounds[c].hi, c === 0);
  if (bitDepth === 8) {
    const output = new Uint8Array(n);
    return { merged, output, zeros: finish8(merged, k, output) };
  }
  const output = new Uint16Array(n);
  return { merged, output, zeros: finish16(merged, k, output) };
}

const lutScratch: Float64Array[] = [];

/**
 * Output pixels and zero count in ONE read of each channel, without materialising the float
 * merge (computeMerged gives it on demand, bit-identical). Specialised for 1–3 channels of one
 * integer type and 8-bit output — the microscopy case; null when the layout is not covered.
 */
export function fusedOutput8(
  grays: readonly GrayImage[],
  bounds: ReadonlyArray<{ lo: number; hi: number }>,
): { output: Uint8Array; zeros: number } | null {
  const k = grays.length;
  if (k < 1 || k > 3 || !grays.every(useLut)) return null;
  const all16 = grays.every((g) => g.data instanceof Uint16Array);
  const all8 = grays.every((g) => g.data instanceof Uint8Array);
  if (!all16 && !all8) return null;
  const luts = grays.map((g, c) => {
    // Reuse per-slot tables across images: fresh 512 KiB arrays per image cost GC time.
    let lut = lutScratch[c];
    if (!lut || lut.length !== g.maxCode + 1) lut = lutScratch[c] = new Float64Array(g.maxCode + 1);
    if (bounds[c].hi > bounds[c].lo) return normalizationLut(g.maxCode, g.divisor, bounds[c].lo, bounds[c].hi, lut);
    return lut.fill(0);
  });
  const n = grays[0].data.length;
  const output = new Uint8Array(n);
  const out = output;
  let zeros: number;
  if (all16) {
    const d = grays.map((g) => g.data as Uint16Array);
    zeros =
      k === 1
        ? fuse16x1(d[0], luts[0], out)
        : k === 2
          ? fuse16x2(d[0], d[1], luts[0], luts[1], out)
          : fuse16x3(d[0], d[1], d[2], luts[0], luts[1], luts[2], out);
  } else {
    const d = grays.map((g) => g.data as Uint8Array);
    zeros =
      k === 1
        ? fuse8x1(d[0], luts[0], out)
        : k === 2
          ? fuse8x2(d[0], d[1], luts[0], luts[1], out)
          : fuse8x3(d[0], d[1], d[2], luts[0], luts[1], luts[2], out);
  }
  return { output, zeros };
}

// One loop per (type, channel count) so that each stays monomorphic. The sums are formed in the
// same order as addNormalized + finish (((l0 + l1) + l2) / k), so the results are identical.
// Type feedback for roundHalfUp's rare round-down branch, so the first such pixel does not
// deoptimise a hot loop (V8 records feedback only after a few calls, hence the repetition).
for (let i = 0; i < 200; i++) {
  roundHalfUp(0.49999999999999994);
  roundHalfUp(0.25);
}

function fuse16x1(a: Uint16Array, la: Float64Array, out: Uint8Array): number {
  let z = 0;
  for (let i = 0; i < a.length; i++) {
    const v = la[a[i]];
    out[i] = roundHalfUp(v * 255);
    z += v === 0 ? 1 : 0;
  }
  return z;
}
function fuse16x2(a: Uint16Array, b: Uint16Array, la: Float64Array, lb: Float64Array, out: Uint8Array): number {
  let z = 0;
  for (let i = 0; i < a.length; i++) {
    // (s / 2)·255 and s·127.5 are the same real number rounded once: identical, no division
    const s = la[a[i]] + lb[b[i]];
    out[i] = roundHalfUp(s * 127.5);
    z += s === 0 ? 1 : 0;
  }
  return z;
}
function fuse16x3(
  a: Uint16Array,
  b: Uint16Array,
  c: Uint16Array,
  la: Float64Array,
  lb: Float64Array,
  lc: Float64Array,
  out: Uint8Array,
): number {
  let z = 0;
  for (let i = 0; i < a.length; i++) {
    const s = la[a[i]] + lb[b[i]] + lc[c[i]];
    // s·85 is within a few ulps of (s / 3)·255, so floor(s·85 + 0.5) is Math.round((s / 3)·255)
    // unless the value lies within a hair of a tie; those pixels take the exact route. (A
    // division per pixel was the costliest step of this loop.)
    const y = s * 85 + 0.5;
    let r = y | 0;
    if (Math.abs(y - r - 0.5) > 0.4999999) r = exactThird255(s);
    out[i] = r;
    z += s === 0 ? 1 : 0;
  }
  return z;
}
function fuse8x1(a: Uint8Array, la: Float64Array, out: Uint8Array): number {
  let z = 0;
  for (let i = 0; i < a.length; i++) {
    const v = la[a[i]];
    out[i] = roundHalfUp(v * 255);
    z += v === 0 ? 1 : 0;
  }
  return z;
}
function fuse8x2(a: Uint8Array, b: Uint8Array, la: Float64Array, lb: Float64Array, out: Uint8Array): number {
  let z = 0;
  for (let i = 0; i < a.length; i++) {
    // (s / 2)·255 and s·127.5 are the same real number rounded once: identical, no division
    const s = la[a[i]] + lb[b[i]];
    out[i] = roundHalfUp(s * 127.5);
    z += s === 0 ? 1 : 0;
  }
  return z;
}
function fuse8x3(
  a: Uint8Array,
  b: Uint8Array,
  c: Uint8Array,
  la: Float64Array,
  lb: Float64Array,
  lc: Float64Array,
  out: Uint8Array,
): number {
  let z = 0;
  for (let i = 0; i < a.length; i++) {
    const s = la[a[i]] + lb[b[i]] + lc[c[i]];
    // s·85 is within a few ulps of (s / 3)·255, so floor(s·85 + 0.5) is Math.round((s / 3)·255)
    // unless the value lies within a hair of a tie; those pixels take the exact route. (A
    // division per pixel was the costliest step of this loop.)
    const y = s * 85 + 0.5;
    let r = y | 0;
    if (Math.abs(y - r - 0.5) > 0.4999999) r = exactThird255(s);
    out[i] = r;
    z += s === 0 ? 1 : 0;
  }
  return z;
}

function exactThird255(s: number): number {
  return roundHalfUp((s / 3) * 255);
}

// Run every loop on a tiny input with a tie and a non-tie, so the optimising compiler has type
// feedback for both routes (without it the first near-tie pixel deoptimises the loop; V8 records
// feedback only after a few calls, hence the repetition).
{
  const l1 = Float64Array.from([0, 1 / 170, 0.3]);
  const l0 = new Float64Array(3);
  const i16 = Uint16Array.from([0, 1, 2]);
  const i8 = Uint8Array.from([0, 1, 2]);
  const o = new Uint8Array(3);
  for (let k = 0; k < 300; k++) {
    fuse16x3(i16, i16, i16, l1, l0, l0, o);
    fuse8x3(i8, i8, i8, l1, l0, l0, o);
    fuse16x2(i16, i16, l1, l0, o);
    fuse8x2(i8, i8, l1, l0, o);
    fuse16x1(i16, l1, o);
    fuse8x1(i8, l1, o);
  }
}

/** The float merge (mean of normalised channels), in the kernels' arithmetic. */
export function computeMerged(
  grays: readonly GrayImage[],
  bounds: ReadonlyArray<{ lo: number; hi: number }>,
): Float64Array {
  const k = grays.length;
  const merged = new Float64Array(grays[0].data.length);
  for (let c = 0; c < k; c++) addNormalized(merged, grays[c], bounds[c].lo, bounds[c].hi, c === 0);
  if (k > 1) for (let i = 0; i < merged.length; i++) merged[i] /= k;
  return merged;
}
