// BBBC021 v1 from its own tables: BBBC021_v1_image.csv (one row per image set: DAPI, Tubulin and
// Actin files of one field) joined to BBBC021_v1_moa.csv on (compound, concentration).
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { UserError } from '../util/errors.js';

export const BBBC021_IMAGE_TABLE = 'BBBC021_v1_image.csv';
export const BBBC021_MOA_TABLE = 'BBBC021_v1_moa.csv';
/** The negative control: its images may fit a scaler but are never evaluated. */
export const BBBC021_CONTROL = 'DMSO';

export interface Bbbc021ImageSet {
  /** Image_FileName_DAPI: the image set's key in a features table. */
  key: string;
  /** [DAPI, Tubulin, Actin], each `<Image_Metadata_Plate_DAPI>/<Image_FileName_<channel>>`. */
  files: [string, string, string];
  compound: string;
  concentration: number;
  /** Mechanism of action, or null when the (compound, concentration) has none. */
  moa: string | null;
  plate: string;
  /** The plate's batch, e.g. "Week4". */
  week: string;
}

type Row = Record<string, string>;

function readTable(path: string, required: readonly string[]): Row[] {
  if (!existsSync(path))
    throw new UserError(
      'BBBC021 table not found',
      { file: path },
      'point --metadata at the folder holding BBBC021_v1_image.csv and BBBC021_v1_moa.csv',
    );
  const rows = parse(readFileSync(path), { columns: true, skip_empty_lines: true, bom: true }) as Row[];
  const have = rows.length ? Object.keys(rows[0]) : [];
  for (const c of required) {
    if (!have.includes(c)) throw new UserError('required column missing', { file: path, column: c });
  }
  return rows;
}

function number(v: string, file: string, line: number, column: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new UserError(`not a number: '${v}'`, { file, line, column });
  return x;
}

/** (compound, concentration) as one map key; concentrations compare as numbers ("3" = "3.000000"). */
export function treatmentKey(compound: string, concentration: number): string {
  return `${compound}\u0000${concentration}`;
}

/**
 * The image sets of BBBC021 with their MOA. By default only the labelled ones (an MOA exists for
 * the compound and concentration; DMSO controls included, since a DMSO scaler needs them);
 * `all: true` returns every image set, with moa null where there is none.
 */
export function loadBbbc021ImageSets(metadataDir: string, opts: { all?: boolean } = {}): Bbbc021ImageSet[] {
  const dir = resolve(metadataDir);
  const imagePath = join(dir, BBBC021_IMAGE_TABLE);
  const moaPath = join(dir, BBBC021_MOA_TABLE);
  const moaRows = readTable(moaPath, ['compound', 'concentration', 'moa']);
  const moaOf = new Map<string, string>();
  moaRows.forEach((r, i) => {
    const moa = r.moa.trim();
    if (moa) moaOf.set(treatmentKey(r.compound, number(r.concentration, moaPath, i + 2, 'concentration')), moa);
  });
  const cols = [
    'Image_FileName_DAPI',
    'Image_FileName_Tubulin',
    'Image_FileName_Actin',
    'Image_PathName_DAPI',
    'Image_Metadata_Plate_DAPI',
    'Image_Metadata_Compound',
    'Image_Metadata_Concentration',
  ];
  const rows = readTable(imagePath, cols);
  const out: Bbbc021ImageSet[] = [];
  const seen = new Map<string, number>();
  rows.forEach((r, i) => {
    const line = i + 2;
    const concentration = number(r.Image_Metadata_Concentration, imagePath, line, 'Image_Metadata_Concentration');
    const compound = r.Image_Metadata_Compound;
    const moa = moaOf.get(treatmentKey(compound, concentration)) ?? null;
    if (moa === null && !opts.all) return;
    const key = r.Image_FileName_DAPI;
    const prev = seen.get(key);
    if (prev !== undefined)
      throw new UserError(`image set '${key}' appears twice (also on line ${prev})`, {
        file: imagePath,
        line,
        column: 'Image_FileName_DAPI',
      });
    seen.set(key, line);
    const plate = r.Image_Metadata_Plate_DAPI;
    // The batch is the plate's week: "Week4_27481" -> "Week4" (the path "Week4/Week4_27481" agrees).
    const week = /^(Week\d+)_/i.exec(plate)?.[1] ?? r.Image_PathName_DAPI.split('/')[0];
    if (!week)
      throw new UserError(`cannot tell the week (batch) of plate '${plate}'`, {
        file: imagePath,
        line,
        column: 'Image_Metadata_Plate_DAPI',
      });
    out.push({
      key,
      files: [
        `${plate}/${r.Image_FileName_DAPI}`,
        `${plate}/${r.Image_FileName_Tubulin}`,
        `${plate}/${r.Image_FileName_Actin}`,
      ],
      compound,
      concentration,
      moa,
      plate,
      week,
    });
  });
  return out;
}
