// The BBBC021 not-same-compound protocol (NSC) and its batch-aware variant (NSCB), on
// per-treatment mean profiles, as in Ljosa et al. 2013 and the CytoImageNet paper.
//
// - Image sets join the MOA table on (compound, concentration); DMSO is the control, never a
//   treatment. The v1 tables give exactly 103 treatments of 38 compounds in 12 MOAs.
// - Per-image features are standardised (default: mean and population SD over the evaluated
//   images), then averaged per treatment.
// - Each treatment takes the MOA of its nearest treatment by cosine distance among those of another
//   compound (NSC) and, for NSCB, also of another batch. A treatment's batch is the week of most of
//   its images (taxol 0.3 µM, the control on every plate, thereby has one batch like the others).
// - A treatment none of whose eligible neighbours shares its MOA cannot be classified correctly by
//   any features; it is reported but not counted (for NSCB: the Cholesterol-lowering and Kinase
//   inhibitor treatments, which sit in one week, leaving the literature's 92).
import { UserError } from '../util/errors.js';
import { BBBC021_CONTROL, type Bbbc021ImageSet } from '../datasets/bbbc021-tables.js';
import { applyScaler, fitScaler } from './scaler.js';
import { selectRows, type Matrix } from './matrix.js';
import { compareNatural } from '../util/stable-order.js';
import { perClass, type ClassAccuracy } from './per-class.js';
import { accuracy, vote, type Accuracy } from './vote.js';
import type { TableRows } from './fusion.js';

export const BBBC021_EXPECTED = { treatments: 103, compounds: 38, moas: 12 } as const;

export type Bbbc021Scaler = 'standard' | 'dmso' | 'none';

export interface Treatment {
  name: string;
  compound: string;
  concentration: number;
  moa: string;
  /** The batch used by NSCB: the week of most of its images (ties: earliest week). */
  week: string;
  /** Every week its images come from. */
  weeks: string[];
  images: number;
}

export interface TreatmentPrediction {
  treatment: string;
  compound: string;
  concentration: number;
  moa: string;
  week: string;
  nsc: string | null;
  nscNeighbour: string | null;
  nscb: string | null;
  nscbNeighbour: string | null;
}

export interface Exclusion {
  treatment: string;
  moa: string;
  reason: string;
}

export interface Bbbc021Result {
  task: 'bbbc021';
  k: number;
  metric: 'cosine';
  scaler: Bbbc021Scaler;
  counts: {
    treatments: number;
    compounds: number;
    moas: number;
    images: number;
    dmsoImages: number;
    ignoredRows: number;
    missingImages: number;
    constantColumns: number;
  };
  nsc: Accuracy;
  nscb: Accuracy;
  excluded: { nsc: Exclusion[]; nscb: Exclusion[] };
  perClass: ClassAccuracy[];
  predictions: TreatmentPrediction[];
  /**
   * Labelled image sets that take part (MOA known, not DMSO; DMSO too with --scaler dmso) but have
   * no features row, in BBBC021_v1_image.csv order; `counts.missingImages` is their number.
   */
  withoutFeatures: string[];
}

function concentrationText(c: number): string {
  return String(c);
}

/** The treatments (non-DMSO, with an MOA) of the given image sets, sorted by compound then dose. */
export function bbbc021Treatments(sets: readonly Bbbc021ImageSet[]): Treatment[] {
  const by = new Map<string, { s: Bbbc021ImageSet; weeks: Map<string, number>; n: number }>();
  for (const s of sets) {
    if (s.moa === null || s.compound === BBBC021_CONTROL) continue;
    const name = `${s.compound}-${concentrationText(s.concentration)}`;
    const t = by.get(name) ?? { s, weeks: new Map<string, number>(), n: 0 };
    t.weeks.set(s.week, (t.weeks.get(s.week) ?? 0) + 1);
    t.n++;
    by.set(name, t);
  }
  const out: Treatment[] = [];
  for (const [name, t] of by) {
    const weeks = [...t.weeks.keys()].sort(compareNatural);
    let week = weeks[0];
    for (const w of weeks) if (t.weeks.get(w)! > t.weeks.get(week)!) week = w;
    out.push({
      name,
      compound: t.s.compound,
      concentration: t.s.concentration,
      moa: t.s.moa!,
      week,
      weeks,
      images: t.n,
    });
  }
  return out.sort((a, b) => compareNatural(a.compound, b.compound) || a.concentration - b.concentration);
}

/** Throws unless the treatments are the v1 benchmark's 103 / 38 / 12. */
export function assertBbbc021Counts(ts: readonly Treatment[], file: string): void {
  const compounds = new Set(ts.map((t) => t.compound)).size;
  const moas = new Set(ts.map((t) => t.moa)).size;
  const want = BBBC021_EXPECTED;
  if (ts.length !== want.treatments || compounds !== want.compounds || moas !== want.moas) {
    throw new UserError(
      `the image and MOA tables give ${ts.length} treatments, ${compounds} compounds and ${moas} MOAs; BBBC021 v1 has ${want.treatments}, ${want.compounds} and ${want.moas}`,
      { file },
      'use the unmodified BBBC021_v1_image.csv and BBBC021_v1_moa.csv',
    );
  }
}

function cosineDistance(a: Float64Array, b: Float64Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  if (aa === 0 || bb === 0) return 1; // no direction: orthogonal to everything
  return 1 - ab / Math.sqrt(aa * bb);
}

/**
 * Evaluate. `allSets` is every image set of the image table (moa null where none), so a key that is
 * not a BBBC021 image set can be told apart from one that is merely unlabelled.
 */
export function evaluateBbbc021(
  allSets: readonly Bbbc021ImageSet[],
  table: TableRows,
  opts: {
    k: number;
    scaler: Bbbc021Scaler;
    metadataFile: string /** false only for synthetic test tables */;
    checkCounts?: boolean;
  },
): Bbbc021Result {
  const { k } = opts;
  const byKey = new Map(allSets.map((s) => [s.key, s]));
  const treatments = bbbc021Treatments(allSets);
  if (opts.checkCounts !== false) assertBbbc021Counts(treatments, opts.metadataFile);
  const tIndex = new Map(treatments.map((t, i) => [t.name, i]));

  const evalRows: number[] = [];
  const evalTreatment: number[] = [];
  const dmsoRows: number[] = [];
  let ignored = 0;
  let matched = 0;
  const seen = new Map<string, number>();
  for (let r = 0; r < table.keys.length; r++) {
    const key = table.keys[r][0];
    const s = byKey.get(key);
    if (!s) {
      throw new UserError(
        `'${key}' is not an image set of BBBC021_v1_image.csv`,
        { file: table.file, line: table.lines[r], column: 'Image_FileName_DAPI' },
        'the key column must hold Image_FileName_DAPI values',
      );
    }
    matched++;
    const prev = seen.get(key);
    if (prev !== undefined)
      throw new UserError(`image set '${key}' appears twice (also on line ${prev})`, {
        file: table.file,
        line: table.lines[r],
        column: 'Image_FileName_DAPI',
      });
    seen.set(key, table.lines[r]);
    if (s.moa === null) ignored++;
    else if (s.compound === BBBC021_CONTROL) dmsoRows.push(r);
    else {
      evalRows.push(r);
      evalTreatment.push(tIndex.get(`${s.compound}-${concentrationText(s.concentration)}`)!);
    }
  }
  if (matched === 0)
    throw new UserError('no row matches a BBBC021 image set', { file: table.file, column: 'Image_FileName_DAPI' });

  // Profiles need every treatment; a treatment with no features at all is an incomplete table.
  const perTreatment = new Array<number>(treatments.length).fill(0);
  for (const t of evalTreatment) perTreatment[t]++;
  const missingT = treatments.filter((_, i) => perTreatment[i] === 0);
  if (missingT.length) {
    throw new UserError(
      `no features for ${missingT.length} of the ${treatments.length} treatments (e.g. ${missingT
        .slice(0, 3)
        .map((t) => t.name)
        .join(', ')})`,
      { file: table.file, column: 'Image_FileName_DAPI' },
      'extract features for every labelled BBBC021 image set',
    );
  }
  // NSCB batches follow the images actually present.
  const present = evalRows.map((r) => byKey.get(table.keys[r][0])!);
  const presentTreatments = bbbc021Treatments(present);

  const X = table.matrix;
  let scaled: Matrix;
  let constantColumns = 0;
  if (opts.scaler === 'none') {
    scaled = selectRows(X, evalRows);
  } else {
    const fitRows = opts.scaler === 'dmso' ? dmsoRows : evalRows;
    if (fitRows.length === 0)
      throw new UserError('--scaler dmso needs DMSO image sets, and the table has none', {
        file: table.file,
        column: 'Image_FileName_DAPI',
      });
    const sc = fitScaler(X, fitRows);
    constantColumns = sc.constant.length;
    scaled = applyScaler(selectRows(X, evalRows), sc);
  }

  // Mean profile per treatment, in float64.
  const d = X.cols;
  const profiles = treatments.map(() => new Float64Array(d));
  for (let i = 0; i < evalRows.length; i++) {
    const p = profiles[evalTreatment[i]];
    for (let j = 0; j < d; j++) p[j] += scaled.data[i * d + j];
  }
  profiles.forEach((p, t) => {
    for (let j = 0; j < d; j++) p[j] /= perTreatment[t];
  });

  const ts = presentTreatments; // same names and order as `treatments`, weeks from present images
  const dist = ts.map((_, a) => ts.map((__, b) => (a === b ? Infinity : cosineDistance(profiles[a], profiles[b]))));
  const predictions: TreatmentPrediction[] = ts.map((t) => ({
    treatment: t.name,
    compound: t.compound,
    concentration: t.concentration,
    moa: t.moa,
    week: t.week,
    nsc: null,
    nscNeighbour: null,
    nscb: null,
    nscbNeighbour: null,
  }));
  const excluded: { nsc: Exclusion[]; nscb: Exclusion[] } = { nsc: [], nscb: [] };
  const tallies: Record<'nsc' | 'nscb', { truth: string[]; pred: string[] }> = {
    nsc: { truth: [], pred: [] },
    nscb: { truth: [], pred: [] },
  };

  for (const mode of ['nsc', 'nscb'] as const) {
    for (let a = 0; a < ts.length; a++) {
      const eligible: number[] = [];
      for (let b = 0; b < ts.length; b++) {
        if (b === a || ts[b].compound === ts[a].compound) continue;
        if (mode === 'nscb' && ts[b].week === ts[a].week) continue;
        eligible.push(b);
      }
      if (!eligible.some((b) => ts[b].moa === ts[a].moa)) {
        excluded[mode].push({
          treatment: ts[a].name,
          moa: ts[a].moa,
          reason:
            mode === 'nsc'
              ? 'no treatment of another compound has this MOA'
              : 'no treatment of another compound in another batch has this MOA',
        });
        continue;
      }
      if (eligible.length < k) {
        excluded[mode].push({ treatment: ts[a].name, moa: ts[a].moa, reason: `fewer than k=${k} eligible neighbours` });
        continue;
      }
      eligible.sort((x, y) => dist[a][x] - dist[a][y] || x - y);
      const nn = eligible.slice(0, k);
      const pred = vote(nn.map((b) => ts[b].moa));
      const p = predictions[a];
      if (mode === 'nsc') {
        p.nsc = pred;
        p.nscNeighbour = ts[nn[0]].name;
      } else {
        p.nscb = pred;
        p.nscbNeighbour = ts[nn[0]].name;
      }
      tallies[mode].truth.push(ts[a].moa);
      tallies[mode].pred.push(pred);
    }
  }
  const acc = (m: 'nsc' | 'nscb'): Accuracy =>
    accuracy(tallies[m].truth.filter((t, i) => t === tallies[m].pred[i]).length, tallies[m].truth.length);
  // A table missing many image sets still evaluates; the gap is reported, not silent.
  const takesPart = (s: Bbbc021ImageSet): boolean =>
    s.moa !== null && (s.compound !== BBBC021_CONTROL || opts.scaler === 'dmso');
  const withoutFeatures = allSets.filter((s) => takesPart(s) && !seen.has(s.key)).map((s) => s.key);
  return {
    task: 'bbbc021',
    k,
    metric: 'cosine',
    scaler: opts.scaler,
    counts: {
      treatments: ts.length,
      compounds: new Set(ts.map((t) => t.compound)).size,
      moas: new Set(ts.map((t) => t.moa)).size,
      images: evalRows.length,
      dmsoImages: dmsoRows.length,
      ignoredRows: ignored,
      missingImages: withoutFeatures.length,
      constantColumns,
    },
    nsc: acc('nsc'),
    nscb: acc('nscb'),
    excluded,
    perClass: [
      ...perClass('nsc', tallies.nsc.truth, tallies.nsc.pred),
      ...perClass('nscb', tallies.nscb.truth, tallies.nscb.pred),
    ],
    predictions,
    withoutFeatures,
  };
}
