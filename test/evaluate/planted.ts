// Planted features with known answers, written as real features tables.
import { writeFile } from 'node:fs/promises';
import { Rng } from '../../src/util/rng.js';
import type { Bbbc021ImageSet } from '../../src/datasets/bbbc021-tables.js';

export function csv(header: string[], rows: (string | number)[][]): string {
  const f = (v: string | number): string =>
    typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v);
  return [header.map(f).join(','), ...rows.map((r) => r.map(f).join(','))].join('\n') + '\n';
}

export function featureHeader(dim: number): string[] {
  return Array.from({ length: dim }, (_, i) => `f${i}`);
}

/**
 * A BBBC021 table where every labelled image's features are `profile(set)` plus small seeded noise
 * (noise per image, so the per-treatment mean is close to the profile).
 */
export async function writeBbbc021Table(
  path: string,
  sets: readonly Bbbc021ImageSet[],
  dim: number,
  profile: (s: Bbbc021ImageSet) => number[],
  noise = 0.01,
  seed = 1,
): Promise<void> {
  const rows = sets.map((s) => {
    const rng = Rng.derive(seed, s.key);
    return [s.key, ...profile(s).map((v) => +(v + noise * (rng.float() - 0.5)).toFixed(6))];
  });
  await writeFile(path, csv(['Image_FileName_DAPI', ...featureHeader(dim)], rows));
}

/** Gaussian-ish clusters: one centre per label, rows = centre + uniform noise. */
export function clusters(
  labels: readonly string[],
  dim: number,
  spread: number,
  seed: number,
  centreOf?: (label: string) => number[],
): number[][] {
  const centres = new Map<string, number[]>();
  const rng = Rng.fromSeed(seed);
  return labels.map((l) => {
    if (!centres.has(l)) centres.set(l, centreOf ? centreOf(l) : Array.from({ length: dim }, () => rng.float() * 10));
    return centres.get(l)!.map((c) => +(c + spread * (rng.float() - 0.5)).toFixed(5));
  });
}
