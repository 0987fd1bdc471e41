// The input forms of `cytoimagenet features`, each → image sets with the key columns that
// `cytoimagenet evaluate` joins on (docs/features.md).
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'csv-parse';
import { UserError } from '../util/errors.js';
import { listCoos7, listCyclops, loadBbbc021ImageSets } from '../datasets/index.js';
import { isRemote } from '../sources/fetch/entry.js';
import { expandEntries, mayExpand } from '../imaging/index.js';

export interface ImageSetJob {
  /** Key values, in the order of `InputSource.keyColumns`. */
  key: string[];
  /** Channel files (absolute), in channel order. */
  files: string[];
}

export interface InputSource {
  kind: 'release' | 'bbbc021' | 'coos7' | 'cyclops' | 'files';
  keyColumns: string[];
  /** Number of image sets when known up front (for the progress bar). */
  total?: number;
  sets: AsyncIterable<ImageSetJob>;
}

async function* fromArray(items: readonly ImageSetJob[]): AsyncIterable<ImageSetJob> {
  for (const i of items) yield i;
}

export const RELEASE_KEYS = ['label', 'dset', 'path', 'filename'];

/** A release folder: its metadata.csv (path = folder relative to the release, filename = PNG). */
export async function releaseInput(dir: string): Promise<InputSource> {
  const root = resolve(dir);
  const meta = join(root, 'metadata.csv');
  if (!existsSync(meta))
    throw new UserError(
      'metadata.csv not found in the release folder',
      { file: meta },
      'point --release at the folder written by cytoimagenet build',
    );
  // Count rows first (cheap) so the progress bar has a total; rows are streamed, never all held.
  let total = 0;
  for await (const chunk of createReadStream(meta) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) total++;
  }
  async function* sets(): AsyncIterable<ImageSetJob> {
    const parser = createReadStream(meta).pipe(parse({ columns: true, bom: true, skip_empty_lines: true }));
    let line = 1;
    for await (const row of parser as AsyncIterable<Record<string, string>>) {
      line++;
      for (const c of ['path', 'filename']) {
        if (row[c] === undefined) throw new UserError('required column missing', { file: meta, column: c });
      }
      if (!row.path && !row.filename) throw new UserError('empty path and filename', { file: meta, line });
      yield {
        key: RELEASE_KEYS.map((c) => row[c] ?? ''),
        files: [resolve(root, row.path, row.filename)],
      };
    }
  }
  return { kind: 'release', keyColumns: RELEASE_KEYS, total: Math.max(0, total - 1), sets: sets() };
}

/** BBBC021: the image table (+ MOA table) and the folder holding <plate>/<file>. */
export async function bbbc021Input(metadataDir: string, imagesDir: string): Promise<InputSource> {
  const sets = loadBbbc021ImageSets(metadataDir);
  const root = resolve(imagesDir);
  if (!existsSync(root)) throw new UserError('BBBC021 image folder not found', { file: root });
  const jobs = sets.map((s) => ({ key: [s.key], files: s.files.map((f) => resolve(root, f)) }));
  return { kind: 'bbbc021', keyColumns: ['Image_FileName_DAPI'], total: jobs.length, sets: fromArray(jobs) };
}

/** COOS-7: split/label/<id>_protein.tif + <id>_nucleus.tif. */
export async function coos7Input(dir: string): Promise<InputSource> {
  const cells = await listCoos7(dir);
  const jobs = cells.map((c) => ({ key: [c.split, c.label], files: [...c.files] }));
  return { kind: 'coos7', keyColumns: ['split', 'label'], total: jobs.length, sets: fromArray(jobs) };
}

/** CyCLOPS: label/<id>_gfp.tif + <id>_rfp.tif. */
export async function cyclopsInput(dir: string): Promise<InputSource> {
  const cells = await listCyclops(dir);
  const jobs = cells.map((c) => ({ key: [c.label], files: [...c.files] }));
  return { kind: 'cyclops', keyColumns: ['label'], total: jobs.length, sets: fromArray(jobs) };
}

/**
 * A list file: one image set per line, channel files separated by '|', relative paths resolved
 * against the list's folder. Blank lines and lines starting with '#' are skipped. Key = the line.
 */
export async function filesInput(list: string): Promise<InputSource> {
  const path = resolve(list);
  if (!existsSync(path)) throw new UserError('list file not found', { file: path });
  const base = dirname(path);
  const jobs: ImageSetJob[] = [];
  const lines = (await readFile(path, 'utf8')).split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const files = line.split('|').map((f) => f.trim());
    if (files.some((f) => !f))
      throw new UserError(
        `empty channel file name in '${line}'`,
        { file: path, line: i + 1 },
        "separate channel files with a single '|'",
      );
    // URLs are read where they are (src/sources/fetch); paths are relative to the list
    jobs.push({ key: [line], files: files.map((f) => (isRemote(f) ? f : resolve(base, f))) });
  });
  if (!jobs.length) throw new UserError('the list has no image sets', { file: path });
  // An OME-Zarr image or OME-TIFF entry stands for its channels (concat counts them)
  for (const job of jobs) if (mayExpand(job.files)) job.files = await expandEntries(job.files);
  return { kind: 'files', keyColumns: ['key'], total: jobs.length, sets: fromArray(jobs) };
}
