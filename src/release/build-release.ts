// buildRelease: catalog + labels → a CytoImageNet release folder. The order of work:
//   1. read and check every input (before anything is written);
//   2. check OUT (fresh, resumable with the same fingerprint, or refused);
//   3. run the jobs not yet in the journal through a distributor: the local worker pool, or a
//      queue that `cytoimagenet worker` machines take shards from (resume is per sample);
//   4. plan the release from all results (cap, min-release, names, split) — pure;
//   5. move staged images to their names, write tables, the format's files (release-writer.ts) and
//      the card, drop the work folder.
// Every step is idempotent, so a build killed at any moment and run again gives the same bytes.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { BUILD, LABELS } from '../defaults.js';
import { toolVersion } from '../util/tool-version.js';
import { UserError } from '../util/errors.js';
import { isInside, resolveInside } from '../util/safe-path.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { dirLabelKey, extendDirLabels, resolveDirLabels } from '../labels/dir-label.js';
import { Journal } from './journal.js';
import { validateOptions } from '../util/zod-options.js';
import { buildOptionsSchema, type BuildOptionsInput, type ValidBuildOptions } from './options.js';
import {
  BASE_DIR,
  generationOf,
  loadBase,
  planGrowth,
  releaseTotals,
  snapshotBase,
  type ReleaseBase,
} from './grow-release.js';
import {
  BUILD_JSON,
  inspectOut,
  readBuildRecord,
  makeBuildRecord,
  removeTempFiles,
  takeLock,
  TRASH_DIR,
  WORK_DIR,
  writeBuildRecord,
} from './out-folder.js';
import { makeProgress } from './progress.js';
import { sqlString } from '../util/sql.js';
import { readInputs, type BuildInputs } from './read-inputs.js';
import { CHANNELS_DIR, channelFileName } from './binary-name.js';
import { planRelease, type ReleasePlan } from './release-plan.js';
import { ReleaseTables, writeRejects } from './release-tables.js';
import { datasetCard } from './dataset-card.js';
import { DEFAULT_SAMPLES_PER_SHARD, SHARDS_DIR, type ShardInfo } from './webdataset.js';
import { releaseWriter } from './release-writer.js';
import { type Distributor, LocalDistributor } from './distributor.js';
import { QueueDistributor } from './queue-distributor.js';
import type { ShardTiming } from './queue-link.js';
import type { DroppedLabel, Job, JobResult } from './types.js';
import { configureFetch } from '../sources/fetch/http.js';
import { setS3Endpoint } from '../sources/fetch/entry.js';
import { remoteReadSettings } from '../sources/fetch/remote-settings.js';

export interface BuildOptions extends BuildOptionsInput {
  /** Show a progress bar / progress lines (default true). */
  progress?: boolean;
  /** Where lines of feedback go (default: stdout). */
  log?: (line: string) => void;
  /** WebDataset samples per shard (default 5000). */
  samplesPerShard?: number;
  /** With `queue`: each queue shard's timeline as it is recorded (bench/build-distributed.ts). */
  onQueueShard?: (t: ShardTiming) => void;
}

export interface BuildSummary {
  out: string;
  /** The dataset card. */
  card: string;
  metadataCsv: string;
  metadataParquet: string;
  rejectsCsv: string;
  /** Source image sets planned, run in this call, and found done in the journal. */
  jobs: number;
  jobsRun: number;
  jobsResumed: number;
  images: number;
  crops: number;
  labels: number;
  labelsDropped: DroppedLabel[];
  rejects: number;
  rejectsByReason: Record<string, number>;
  cropsFailedQc: number;
  capped: number;
  shards: ShardInfo[];
  seconds: number;
  /** True when OUT already held this exact release and nothing was done. */
  alreadyComplete: boolean;
  /** The generation this build made (0: a whole release; docs/build.md "Growing a release"), and its images. */
  generation?: number;
  imagesAdded?: number;
}

/** Test hook: CYTOIMAGENET_BUILD_CRASH_AT=<point>:<n> makes the process SIGKILL itself there. */
function crashPoint(point: string, count: number): void {
  const at = process.env.CYTOIMAGENET_BUILD_CRASH_AT;
  if (!at) return;
  const [p, n] = at.split(':');
  if (p === point && count >= Number(n ?? 0)) process.kill(process.pid, 'SIGKILL');
}

function jobKey(label: string, category: string, idx: string): string {
  return createHash('sha256').update(`${label}\u0000${category}\u0000${idx}`).digest('hex').slice(0, 24);
}

function chooseDirLabels(inputs: BuildInputs): Map<string, string> {
  const keys = [...inputs.labelSizes.keys()].map((k) => {
    const [label, category] = k.split('\u0000');
    return { label, category };
  });
  return resolveDirLabels(keys, inputs.dirLabelsFromLabels);
}

function parseSeed(s: number | string | undefined): number {
  if (typeof s === 'number' && Number.isSafeInteger(s) && s >= 0) return s;
  if (typeof s === 'string' && /^\d+$/.test(s)) return Number(s);
  return LABELS.seed;
}

// The user's own CYTOIMAGENET_CACHE, as the process started (a build's --cache is exported to the
// environment for its workers, and must not leak into the next build of the same process).
const CACHE_FROM_ENV = process.env.CYTOIMAGENET_CACHE;

function configureRemoteReads(opts: ValidBuildOptions): void {
  if (opts.s3Endpoint) {
    setS3Endpoint(opts.s3Endpoint);
    process.env.CYTOIMAGENET_S3_ENDPOINT = opts.s3Endpoint;
  }
  configureFetch(
    {
      cacheDir: opts.cache ? resolve(opts.cache) : CACHE_FROM_ENV ? resolve(CACHE_FROM_ENV) : null,
      ...(opts.cacheMaxMb ? { cacheMaxBytes: opts.cacheMaxMb * 1024 * 1024 } : {}),
    },
    true,
  );
}

export async function buildRelease(options: BuildOptions): Promise<BuildSummary> {
  const t0 = Date.now();
  const opts = validateOptions(
    buildOptionsSchema,
    {
      catalog: options.catalog,
      labels: options.labels,
      out: options.out,
      workers: options.workers,
      seed: options.seed,
      minRelease: options.minRelease,
      format: options.format,
      queue: options.queue,
      shardSize: options.shardSize,
      jobTimeout: options.jobTimeout,
      cache: options.cache,
      cacheMaxMb: options.cacheMaxMb,
      s3Endpoint: options.s3Endpoint,
      keepChannels: options.keepChannels,
    },
    'build',
  );
  // Before the workers start: they inherit the fetch settings through the environment.
  configureRemoteReads(opts);
  // Local workers start loading now, while the inputs are read and checked.
  let distributor: Distributor | null = opts.queue ? null : new LocalDistributor(opts.workers);
  try {
    return await build(options, opts, t0, (queueSetup) => {
      distributor ??= new QueueDistributor({ url: opts.queue as string, shardSize: opts.shardSize, ...queueSetup });
      return distributor;
    });
  } finally {
    await distributor?.close();
  }
}

/** What a queue distributor needs from the build; see queue-distributor.ts. */
type QueueSetup = Omit<ConstructorParameters<typeof QueueDistributor>[0], 'url' | 'shardSize'>;

/** The file queue workers read to check that they see this output folder (OUT/.build/shared-check). */
const SHARED_CHECK = 'shared-check';

async function build(
  options: BuildOptions,
  opts: ValidBuildOptions,
  t0: number,
  distributorFor: (queueSetup: QueueSetup) => Distributor,
): Promise<BuildSummary> {
  const {
    progress = true,
    log = (l: string) => process.stdout.write(`${l}\n`),
    samplesPerShard = DEFAULT_SAMPLES_PER_SHARD,
  } = options;
  const out = resolve(opts.out);

  // 1. Inputs, all checked before anything is written.
  const inputs = await readInputs(opts.catalog, opts.labels);
  if (isInside(out, inputs.labelsDir) || isInside(inputs.labelsDir, out) || isInside(out, inputs.catalogPath)) {
    throw new UserError('--out must be a folder of its own, apart from the catalog and the labels folder', {
      file: out,
    });
  }
  const lj = inputs.labelsJson;
  // The cap bounds every label's image count, so a cap below --min-release can only drop every
  // label: refuse now, before hours of decoding end in an empty release.
  if (lj.cap < opts.minRelease) {
    throw new UserError(
      `the labels' cap (${lj.cap} images per label) is below --min-release ${opts.minRelease}, so every label would be dropped and the release would be empty`,
      { file: join(inputs.labelsDir, 'labels.json') },
      `pass --min-release ${lj.cap} or lower, or re-run \`cytoimagenet labels\` with --cap ${opts.minRelease} or higher`,
    );
  }
  const seed = opts.seed ?? parseSeed(lj.seed);
  const record = makeBuildRecord({
    catalogFingerprint: inputs.catalogFingerprint,
    labelsFingerprint: inputs.labelsFingerprint,
    toolVersion: toolVersion(),
    options: {
      seed,
      minRelease: opts.minRelease,
      format: opts.format,
      valFraction: BUILD.valFraction,
      threshold: lj.threshold,
      cap: lj.cap,
      presample: lj.presample,
      ...(opts.keepChannels ? { keepChannels: true as const } : {}),
    },
  });
  const jobs: Job[] = [];
  const problems = new Map<string, string>();
  for (const r of inputs.rows) {
    const key = jobKey(r.label, r.category, r.idx);
    jobs.push({
      key,
      idx: r.idx,
      label: r.label,
      category: r.category,
      files: r.files ?? [],
      labelSize: inputs.labelSizes.get(dirLabelKey(r.label, r.category)) ?? 0,
      cap: lj.cap,
      seed,
      ...(opts.keepChannels ? { keepChannels: true } : {}),
    });
    if (r.problem) problems.set(key, r.problem);
  }
  if (jobs.length === 0) {
    throw new UserError(
      'the labels folder selects no images',
      { file: inputs.labelsDir },
      'check labels.csv (selected) and assignments.csv',
    );
  }

  // 2. The output folder.
  const state = inspectOut(out, record, lj.parent?.digest);
  const paths: ReleasePaths = {
    out,
    card: join(out, 'README.md'),
    metadataCsv: join(out, 'metadata.csv'),
    metadataParquet: join(out, 'metadata.parquet'),
    rejectsCsv: join(out, 'rejects.csv'),
  };
  if (state === 'complete') {
    const summary = await summaryOfComplete(out, paths, jobs.length, t0, opts.format === 'webdataset');
    if (summary.missing === 0 && summary.summary) {
      log(`build: ${out} already holds this release (build ${record.fingerprint}); nothing to do.`);
      printWhere(log, paths);
      return summary.summary;
    }
    if (readBuildRecord(out)?.generations)
      throw new UserError(
        `${summary.missing} file(s) of this grown release are missing, and a grown release cannot be rebuilt in place`,
        { file: out },
        'restore them from a copy of the release, or rebuild it whole in a new folder',
      );
    // Files lost after the build finished: rebuild; every step rewrites the same bytes.
    log(`build: ${summary.missing} file(s) of this release are missing; rebuilding them`);
  }
  mkdirSync(out, { recursive: true });
  // build.json first: a folder holding anything of ours always says which build it belongs to.
  if (state !== 'extend' && !existsSync(join(out, BUILD_JSON))) await writeBuildRecord(out, record);
  const release = takeLock(out);
  const workDir = join(out, WORK_DIR);
  // An incremental build: the release as it was is copied into the work folder before build.json
  // names the new generation, so a resumed build always starts from the same base.
  let base: ReleaseBase | null = null;
  if (state === 'extend') {
    snapshotBase(out, workDir);
    base = await loadBase(workDir);
    const generation = { generation: base.generations.length, ...generationOf(record) };
    await writeBuildRecord(out, { ...record, generations: [...base.generations, generation] });
  } else if (existsSync(join(workDir, BASE_DIR))) base = await loadBase(workDir);
  const growth = base ? planGrowth(jobs, base) : null;
  const active = growth ? growth.jobs : jobs;
  const generation = base ? base.generations.length : 0;
  const dirLabels = base
    ? extendDirLabels(
        new Map([...base.released].map(([k, v]) => [k, v.dirLabel])),
        [...inputs.labelSizes.keys()]
          .filter((k) => !base?.released.has(k))
          .map((k) => ({ label: k.split('\u0000')[0], category: k.split('\u0000')[1] })),
        inputs.dirLabelsFromLabels,
      )
    : chooseDirLabels(inputs);
  crashPoint('start', 1);
  const stagingDir = join(workDir, 'staged');
  mkdirSync(stagingDir, { recursive: true });
  const journal = new Journal(join(workDir, 'journal.jsonl'));
  // The queue's shards name this build and this folder; workers check the marker to know they
  // see the same folder (a machine without the shared mount fails the shard, naming itself).
  const buildId = createHash('sha256').update(`${record.fingerprint}\u0000${out}`).digest('hex').slice(0, 16);
  if (opts.queue) await writeFileAtomic(join(workDir, SHARED_CHECK), buildId);
  const distributor = distributorFor({
    buildId,
    marker: { path: join(workDir, SHARED_CHECK), content: buildId },
    log,
    onShard: options.onQueueShard,
  });
  try {
    // 3. Jobs not yet journalled.
    const done = journal.load();
    // A source that was unreachable is tried again when the build resumes (the server may be back).
    for (const [key, r] of done) if (!r.ok && r.reason === 'fetch-failed') done.delete(key);
    const resumed = done.size;
    const activeKeys = new Set(active.map((j) => j.key));
    for (const [key, problem] of problems) {
      if (!done.has(key) && activeKeys.has(key)) {
        const r: JobResult = {
          key,
          ok: false,
          stage: 'read',
          reason: problem.includes('images_root') ? 'no-image-root' : 'no-source-files',
          detail: problem,
        };
        journal.append(r);
        done.set(key, r);
      }
    }
    let ran = 0;
    const runJobs = async (todo: Job[]): Promise<void> => {
      if (todo.length === 0) return;
      if (opts.queue && progress) log(`build: ${todo.length} image sets to ${distributor.where}`);
      const bar = makeProgress(active.length, active.length - todo.length, progress, log);
      try {
        await distributor.run(todo, {
          stagingDir,
          jobTimeoutMs: opts.jobTimeout * 1000,
          remote: remoteReadSettings(),
          onFetched: (b) => bar.fetched(b),
          onResult: (r, host) => {
            journal.append(r);
            done.set(r.key, r);
            ran++;
            bar.tick(!r.ok, opts.queue ? host : undefined);
            crashPoint('job', ran);
          },
        });
      } finally {
        bar.stop();
      }
    };
    if (base && progress)
      log(
        `build: growing ${out} (generation ${generation}): ${active.length} new image sets, ${growth?.grown.size} labels grown, ${growth?.whole.size} labels built whole`,
      );
    if (resumed > 0) log(`build: resuming ${out}: ${resumed} of ${active.length} image sets already done`);
    await runJobs(active.filter((j) => !done.has(j.key)));

    // 4. The release plan; staged images a crash (or a user) removed are made again.
    const planOptions = {
      cap: lj.cap,
      minRelease: opts.minRelease,
      seed,
      valFraction: BUILD.valFraction,
      grow: base ? { generation, released: base.released } : undefined,
    };
    let plan = planRelease(active, done, dirLabels, planOptions);
    for (let attempt = 0; ; attempt++) {
      const missing = await missingSamples(plan, out, stagingDir);
      if (missing.size === 0) break;
      if (attempt >= 2)
        throw new Error(
          `staged images keep disappearing (${missing.size} jobs); is another process cleaning ${workDir}?`,
        );
      for (const k of missing) done.delete(k);
      await runJobs(active.filter((j) => missing.has(j.key)));
      plan = planRelease(active, done, dirLabels, planOptions);
    }

    // 5. Files into place, then the tables, shards and card.
    if (progress)
      log(
        `build: placing ${plan.stats.images} images in ${plan.labels.length} label folders, then metadata, rejects${opts.format === 'webdataset' ? ', shards' : ''} and the card`,
      );
    removeTempFiles(out);
    // Every name is checked before the first folder is made: a name the file system refuses
    // must stop the build here, not after some folders were filled.
    for (const l of plan.labels) {
      const longest = l.samples.reduce((m, s) => Math.max(m, Buffer.byteLength(s.filename)), 0);
      if (Buffer.byteLength(l.dirLabel) > 255 || longest > 255)
        throw new Error(`release names for label ${JSON.stringify(l.label)} exceed 255 bytes (${l.dirLabel})`);
    }
    let moved = 0;
    for (const l of plan.labels) {
      const dir = resolveInside(out, l.dirLabel);
      mkdirSync(dir, { recursive: true });
      for (const s of l.samples) {
        const staged = join(stagingDir, s.sample.staged);
        // Channels first: a sample whose merged PNG is in place has all its files in place.
        s.sample.channels?.forEach((c, k) => {
          const stagedChannel = join(stagingDir, c);
          if (existsSync(stagedChannel)) {
            mkdirSync(join(dir, CHANNELS_DIR), { recursive: true });
            renameSync(stagedChannel, resolveInside(dir, join(CHANNELS_DIR, channelFileName(s.filename, k))));
          }
        });
        if (existsSync(staged)) {
          renameSync(staged, resolveInside(dir, s.filename)); // sync: a rename costs microseconds, a thread-pool round trip more
          crashPoint('move', ++moved);
        }
      }
    }
    const writer = releaseWriter(
      opts.format,
      out,
      plan.labels,
      seed,
      samplesPerShard,
      base ? { generation, base: base.shards } : undefined,
    );
    const tables = await ReleaseTables.open(
      inputs.catalogPath,
      workDir,
      plan.labels,
      writer.shardOf,
      base?.metadataParquet,
      opts.keepChannels,
    );
    const totals = base && growth ? releaseTotals(plan, base, growth, generation, record) : null;
    let shards: ShardInfo[] = [];
    try {
      await tables.writeMetadata(out);
      crashPoint('tables', 1);
      await writeRejects(out, totals ? totals.rejects : plan.rejects);
      shards = await writer.write(tables);
      if (writer.format === 'webdataset') crashPoint('shards', 1);
      const counts = await tables.counts();
      const card = datasetCard({
        record,
        counts,
        stats: totals ? totals.stats : plan.stats,
        labels: totals ? totals.labels : plan.labels.length,
        dropped: totals ? totals.dropped : plan.dropped,
        sources: inputs.sources,
        catalogName: basename(inputs.catalogPath),
        labelsName: basename(inputs.labelsDir),
        format: opts.format,
        keepChannels: opts.keepChannels,
        shards,
        rejects: totals ? totals.rejects.length : plan.rejects.length,
        generations: totals?.generations,
      });
      await writeFileAtomic(paths.card, card);
      crashPoint('card', 1);
      if (totals) await writeBuildRecord(out, { ...record, generations: totals.generations });
    } finally {
      tables.close();
    }
    journal.close();
    release();
    // The work folder goes last, renamed first so a kill during deletion leaves no half state.
    rmSync(join(out, TRASH_DIR), { recursive: true, force: true });
    renameSync(workDir, join(out, TRASH_DIR));
    rmSync(join(out, TRASH_DIR), { recursive: true, force: true });

    const summary: BuildSummary = {
      ...paths,
      jobs: jobs.length,
      jobsRun: ran,
      jobsResumed: resumed,
      images: (totals?.stats ?? plan.stats).images,
      crops: (totals?.stats ?? plan.stats).crops,
      labels: totals ? totals.labels : plan.labels.length,
      labelsDropped: totals ? totals.dropped : plan.dropped,
      rejects: (totals?.rejects ?? plan.rejects).length,
      rejectsByReason: (totals?.stats ?? plan.stats).rejectsByReason,
      cropsFailedQc: (totals?.stats ?? plan.stats).cropsFailedQc,
      capped: (totals?.stats ?? plan.stats).capped,
      generation,
      imagesAdded: plan.stats.images,
      shards,
      seconds: (Date.now() - t0) / 1000,
      alreadyComplete: false,
    };
    printSummary(log, summary);
    return summary;
  } catch (e) {
    journal.close();
    release();
    throw e;
  }
}

/** Jobs with a kept sample that is neither staged nor at its final name. */
async function missingSamples(plan: ReleasePlan, out: string, stagingDir: string): Promise<Set<string>> {
  const missing = new Set<string>();
  for (const l of plan.labels) {
    for (const s of l.samples) {
      if (missing.has(s.jobKey)) continue;
      const lost = (staged: string, final: string): boolean =>
        !existsSync(join(stagingDir, staged)) && !(existsSync(final) && statSync(final).size > 0);
      if (
        lost(s.sample.staged, join(out, l.dirLabel, s.filename)) ||
        (s.sample.channels ?? []).some((c, k) =>
          lost(c, join(out, l.dirLabel, CHANNELS_DIR, channelFileName(s.filename, k))),
        )
      )
        missing.add(s.jobKey);
    }
  }
  return missing;
}

/** The column names of a CSV file, from its first line (the file may be large). */
function headerOf(csv: string): string[] {
  const fd = openSync(csv, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split('\n', 1)[0].split(',');
  } finally {
    closeSync(fd);
  }
}

interface ReleasePaths {
  out: string;
  card: string;
  metadataCsv: string;
  metadataParquet: string;
  rejectsCsv: string;
}

/** The summary of a finished release, and how many of its files are missing. */
async function summaryOfComplete(
  out: string,
  paths: ReleasePaths,
  jobs: number,
  t0: number,
  shards: boolean,
): Promise<{ summary: BuildSummary | null; missing: number }> {
  const instance = await DuckDBInstance.create(':memory:', { temp_directory: '' });
  const conn = await instance.connect();
  try {
    const [m] = (
      await conn.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, (count(*) FILTER (crop))::INTEGER AS crops, count(DISTINCT path)::INTEGER AS labels FROM read_csv(${sqlString(paths.metadataCsv)}, header = true)`,
      )
    ).getRowObjectsJson();
    const channels = headerOf(paths.metadataCsv).includes('channel_files');
    const files = (
      await conn.runAndReadAll(
        `SELECT path, filename${channels ? ', channel_files' : ''} FROM read_csv(${sqlString(paths.metadataCsv)}, header = true, all_varchar = true)`,
      )
    ).getRowObjectsJson();
    let missing = [paths.metadataParquet, paths.rejectsCsv].filter((p) => !existsSync(p)).length;
    for (const f of files) {
      if (!existsSync(join(out, String(f.path), String(f.filename)))) missing++;
      if (channels && f.channel_files)
        for (const c of String(f.channel_files).split('|')) if (!existsSync(join(out, c))) missing++;
    }
    if (shards) {
      const index = join(out, SHARDS_DIR, 'index.json');
      if (!existsSync(index)) missing++;
      else
        for (const sh of (JSON.parse(readFileSync(index, 'utf8')) as { shards: { file: string }[] }).shards)
          if (!existsSync(join(out, SHARDS_DIR, sh.file))) missing++;
    }
    const rej = (
      await conn.runAndReadAll(
        `SELECT reason, count(*)::INTEGER AS n FROM read_csv(${sqlString(paths.rejectsCsv)}, header = true, all_varchar = true) GROUP BY reason ORDER BY reason`,
      )
    ).getRowObjectsJson();
    const rejectsByReason = Object.fromEntries(rej.map((r) => [String(r.reason), Number(r.n)]));
    const summary: BuildSummary = {
      ...paths,
      out,
      jobs,
      jobsRun: 0,
      jobsResumed: jobs,
      images: Number(m.n),
      crops: Number(m.crops),
      labels: Number(m.labels),
      labelsDropped: [],
      rejects: Object.values(rejectsByReason).reduce((a, b) => a + b, 0),
      rejectsByReason,
      cropsFailedQc: 0,
      capped: 0,
      shards: [],
      seconds: (Date.now() - t0) / 1000,
      alreadyComplete: true,
    };
    return { summary, missing };
  } catch {
    // metadata.csv or rejects.csv unreadable: rebuild.
    return { summary: null, missing: 1 };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

function printWhere(log: (l: string) => void, paths: { out: string; card: string }): void {
  log(`release:      ${paths.out}`);
  log(`dataset card: ${paths.card}`);
}

function printSummary(log: (l: string) => void, s: BuildSummary): void {
  const reasons = Object.entries(s.rejectsByReason)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  log(
    `build: done in ${s.seconds.toFixed(1)} s (${s.jobsRun} image sets processed now, ${s.jobsResumed} resumed from the journal)`,
  );
  log(`  images:  ${s.images} in ${s.labels} labels (${s.crops} crops, ${s.images - s.crops} whole images)`);
  if (s.generation) log(`  generation ${s.generation}: ${s.imagesAdded} images added; no earlier file was touched`);
  log(`  crops failing QC: ${s.cropsFailedQc}; removed by the cap: ${s.capped}`);
  log(`  rejects: ${s.rejects}${reasons ? ` (${reasons})` : ''}`);
  log(
    `  labels dropped (< min-release): ${s.labelsDropped.length}${
      s.labelsDropped.length
        ? ` (${s.labelsDropped
            .slice(0, 10)
            .map((d) => `${d.label} ${d.images}`)
            .join(', ')}${s.labelsDropped.length > 10 ? ', …' : ''})`
        : ''
    }`,
  );
  if (s.shards.length) log(`  webdataset: ${s.shards.length} shards in ${join(s.out, SHARDS_DIR)}`);
  printWhere(log, s);
}
