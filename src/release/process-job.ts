// The per-image path a worker runs for one job, top to bottom:
//   check files → standardise (decode, normalise, merge) → whole-image QC → crops → encode → stage.
// Randomness: Rng.derive(seed, idx, label), so a job's output depends on nothing but the job.
// A bad input becomes a reject with its stage and reason; only a bug throws.
import { accessSync, constants, existsSync, statSync, type Stats } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../util/rng.js';
import { tempNameFor } from '../util/fs-atomic.js';
import { channelFiles, encodePng, processImageSet, type DecodedSet, type ImageSetResult } from '../imaging/index.js';
import { isSpecialEntry, parseEntry } from '../sources/fetch/entry.js';
import type { Job, JobResult, RejectStage, StagedSample } from './types.js';

export function stagedName(key: string, j: number): string {
  return `${key.slice(0, 2)}/${key}-${j}.png`;
}

/** Channel k of sample j (`build --keep-channels`). */
export function stagedChannelName(key: string, j: number, k: number): string {
  return `${key.slice(0, 2)}/${key}-${j}-c${k}.png`;
}

/** Writes without fsync: a kill -9 cannot lose page-cache data, and the journal line comes after. */
async function stage(stagingDir: string, name: string, png: Buffer): Promise<void> {
  const dest = join(stagingDir, name);
  const tmp = tempNameFor(dest);
  try {
    await writeFile(tmp, png);
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

function specialKind(st: Stats): string {
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

function rejected(job: Job, stage: RejectStage, reason: string, detail: string): JobResult {
  return { key: job.key, ok: false, stage, reason, detail };
}

/** The reject reason for a standardisation failure (the imaging library prefixes the error kind). */
function decodeReason(detail: string): string {
  if (/channels of one image must match/.test(detail)) return 'channel-size-mismatch';
  if (/^too-large:/.test(detail)) return 'too-large';
  if (/^not-a-regular-file:/.test(detail)) return 'not-a-regular-file';
  if (/^fetch-failed:/.test(detail)) return 'fetch-failed';
  return 'corrupt-image';
}

/** A job whose pixels are done and whose PNGs are being encoded (by libvips, off the main thread). */
export interface PreparedJob {
  job: Job;
  set: ImageSetResult;
  pngs: Promise<Buffer[]>;
  /** With --keep-channels: per sample, each channel's 16-bit PNG. */
  channelPngs: Promise<Buffer[][]>;
}

/** `decoded`: the job's files already being decoded (see worker.ts), or undefined to decode here. */
export async function processJob(job: Job, stagingDir: string, decoded?: DecodedSet): Promise<JobResult> {
  const p = await prepareJob(job, decoded);
  return 'pngs' in p ? finishJob(p, stagingDir) : p;
}

/** Checks, pixels, QC and crops; the PNG encoding is started, not awaited. A reject is final. */
export async function prepareJob(job: Job, decoded?: DecodedSet): Promise<JobResult | PreparedJob> {
  for (const f of job.files) {
    if (isSpecialEntry(f)) {
      // URLs are checked by reading them; a local OME-Zarr image by its folder
      const p = parseEntry(f);
      if (!p.remote && !existsSync(p.location))
        return rejected(job, 'read', 'missing-file', `${p.location}: file not found`);
      continue;
    }
    try {
      // Synchronous: a stat of a cached inode costs microseconds, a thread-pool round trip more.
      const st = statSync(f);
      // A pipe, socket or device would block or never end a read (see openRegularFile in
      // src/imaging/decode.ts); a folder is just unreadable.
      if (st.isDirectory()) return rejected(job, 'read', 'unreadable-file', `${f}: a folder, not a file`);
      if (!st.isFile())
        return rejected(job, 'read', 'not-a-regular-file', `${f}: ${specialKind(st)}, not an image file`);
      accessSync(f, constants.R_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return rejected(job, 'read', 'missing-file', `${f}: file not found`);
      return rejected(job, 'read', 'unreadable-file', `${f}: ${code ?? (e as Error).message}`);
    }
  }

  // An unexpected failure on one image (a decoder or codec error) rejects that image; only writing
  // into OUT (disk full, permissions) stops the build, since every later image would fail too.
  let set: ImageSetResult;
  try {
    // An OME-Zarr image or OME-TIFF entry stands for all its channels; files decoded ahead under
    // the unexpanded list are then of no use.
    const files = await channelFiles(job.files);
    if (files !== job.files) decoded = undefined;
    set = await processImageSet(
      files,
      {
        labelSize: job.labelSize,
        cap: job.cap,
        rng: Rng.derive(job.seed, job.idx, job.label),
        keepChannels: job.keepChannels,
      },
      decoded,
    );
  } catch (e) {
    return rejected(job, 'decode', 'processing-error', `${job.files.join(' | ')}: ${firstLine(e)}`);
  }
  const detail =
    set.qc.file && !set.qc.reason.includes(set.qc.file) ? `${set.qc.file}: ${set.qc.reason}` : set.qc.reason;
  // A URL that is not there is a missing file, as a local path that is not there (checked above).
  if (set.qc.verdict === 'unreadable' && /^missing: /.test(set.qc.reason))
    return rejected(job, 'read', 'missing-file', `${set.qc.file}: ${set.qc.reason.slice('missing: '.length)}`);
  if (set.qc.verdict === 'unreadable') return rejected(job, 'decode', decodeReason(set.qc.reason), detail);
  // QC is decided by the imaging rules (src/imaging/qc.ts); a failed rule names its reject reason.
  if (set.qc.verdict !== 'ok') return rejected(job, 'qc', set.qc.reject ?? set.qc.verdict, detail);

  const pngs =
    set.whole !== null
      ? Promise.all([encodePng(set.whole, set.width, set.height)])
      : Promise.all(set.crops.map((c) => encodePng(c.output, c.width, c.height)));
  pngs.catch(() => undefined); // awaited in finishJob
  const sizes = set.whole !== null ? [{ width: set.width, height: set.height }] : set.crops;
  const channelPngs = Promise.all(
    (set.channels ?? []).map((planes, j) =>
      Promise.all(planes.map((p) => encodePng(p, sizes[j].width, sizes[j].height))),
    ),
  );
  channelPngs.catch(() => undefined);
  return { job, set, pngs, channelPngs };
}

/** Waits for the PNGs and stages them; throws only when OUT cannot be written (which stops the build). */
export async function finishJob(prepared: PreparedJob, stagingDir: string): Promise<JobResult> {
  const { job, set } = prepared;
  let pngs: Buffer[];
  let channelPngs: Buffer[][];
  try {
    pngs = await prepared.pngs;
    channelPngs = await prepared.channelPngs;
  } catch (e) {
    return rejected(job, 'decode', 'processing-error', `PNG encoding failed: ${firstLine(e)}`);
  }
  // Not recursive: a staging folder that is gone means the build finished or moved on (a queue
  // worker running a shard late), and nothing may be written into OUT then.
  await mkdir(join(stagingDir, job.key.slice(0, 2))).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  const samples: StagedSample[] = [];
  // Channels are staged before their sample's merged PNG, so a staged merged PNG means a whole sample.
  const stageChannels = async (j: number): Promise<string[] | undefined> => {
    if (channelPngs.length === 0) return undefined;
    const names = channelPngs[j].map((_, k) => stagedChannelName(job.key, j, k));
    for (const [k, name] of names.entries()) await stage(stagingDir, name, channelPngs[j][k]);
    return names;
  };
  if (set.whole !== null) {
    const name = stagedName(job.key, 0);
    const channels = await stageChannels(0);
    await stage(stagingDir, name, pngs[0]);
    samples.push({
      j: 0,
      crop: false,
      scaling: 1,
      x_min: null,
      x_max: null,
      y_min: null,
      y_max: null,
      staged: name,
      ...(channels ? { channels } : {}),
    });
  } else {
    for (let j = 0; j < set.crops.length; j++) {
      const c = set.crops[j];
      const name = stagedName(job.key, j);
      const channels = await stageChannels(j);
      await stage(stagingDir, name, pngs[j]);
      const w = c.window;
      samples.push({
        j,
        crop: true,
        scaling: w.scale,
        x_min: w.x_min,
        x_max: w.x_max,
        y_min: w.y_min,
        y_max: w.y_max,
        staged: name,
        ...(channels ? { channels } : {}),
      });
    }
  }
  return {
    key: job.key,
    ok: true,
    width: set.width,
    height: set.height,
    samples,
    cropsPlanned: set.cropsPlanned,
    cropsRejected: set.cropsRejected,
  };
}
