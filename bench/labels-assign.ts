// Bench: weak-label assignment on a CytoImageNet-shaped catalog.
//   node dist/bench/labels-assign.js [--rows 2700000] [--small 300000] [--seed 1] [--runs 3] [--ingested]
// Prints (1) at --rows the whole `cytoimagenet labels` command (process start, catalog read,
// assignment, files written; goal ≤ 5 s), best of --runs, with its phase split (from the
// command's CYTOIMAGENET_DEBUG=1 lines), and assignLabels inside a process (≤ 2 GB peak RSS),
// and (2) at --small rows, the whole command against the original algorithm's whole run (one
// regex scan of the whole table per label, a hash set of used idx, pandas-style frac sampling
// per group with the +0.03/+0.02 re-draw loop) in the same run, and the ratio (goal ≥ 30×).
// Each measurement runs in a fresh child process so its peak RSS is its own. `--small 0` skips
// the original (about half an hour at 300 k rows); `--rows 0` skips the big catalog. The catalogs
// are one CREATE TABLE over the synthetic CSV; `--ingested` has `ingest` write them instead (its
// cleaning and storage: a larger file, whose fingerprint's cold scan takes longer).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { CATALOG_COLUMNS, CATALOG_TABLE, COLUMN_TYPES, SOURCES_TABLE } from '../src/sources/schema.js';
import { CATEGORIES, LABELS, type Category } from '../src/defaults.js';
import { assignLabels } from '../src/labels/assign-labels.js';
import { ingestSources } from '../src/catalog/ingest.js';
import { Rng } from '../src/util/rng.js';
import { SYNTHETIC_COLUMNS, writeSyntheticCatalogCsv } from './synthetic-catalog.js';

interface Measure {
  seconds: number;
  /** Spawn to exit, seen from the parent: process start, imports and exit included. */
  wholeSeconds?: number;
  /** user + system CPU seconds: on this shared 2-core machine, wall time depends on the neighbours. */
  cpuSeconds: number;
  maxRssMB: number;
  labels: number;
  images: number;
  candidates: number;
  detail?: Record<string, number>;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Synthetic CSV → catalog DuckDB in the standard schema (category columns lower-cased as ingest would). */
export async function buildCatalog(csv: string, path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  try {
    const have = new Set<string>(SYNTHETIC_COLUMNS);
    const lower = new Set<string>([...CATEGORIES, 'microscopy', 'channels']);
    const select = CATALOG_COLUMNS.map((c) => {
      if (c === 'files_status') return `'unchecked' AS files_status`;
      if (!have.has(c)) return `NULL::${COLUMN_TYPES[c]} AS "${c}"`;
      const v = lower.has(c) ? `lower(nullif("${c}", ''))` : `nullif("${c}", '')`;
      return `CAST(${v} AS ${COLUMN_TYPES[c]}) AS "${c}"`;
    });
    await conn.run(
      `CREATE TABLE ${CATALOG_TABLE} AS SELECT ${select.join(', ')} FROM read_csv('${csv}', header = true, all_varchar = true)`,
    );
    await conn.run(
      `CREATE TABLE ${SOURCES_TABLE} AS SELECT dir_name, any_value(database) AS database, any_value(name) AS name, NULL::VARCHAR AS licence,
         NULL::VARCHAR AS citation, NULL::VARCHAR AS images_root, NULL::VARCHAR AS config, 'synthetic' AS adapter FROM ${CATALOG_TABLE} GROUP BY dir_name`,
    );
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

// ---- the original algorithm, the ratio's baseline --------------------------------------------

type Row = Record<string, string | null>;

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** pandas `groupby(keys, dropna=False, sort=False)` then `group.sample(frac)` per group. */
function sampleFrac(rows: Row[], keys: string[], frac: number, rng: Rng): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = keys.map((c) => r[c] ?? '\u0000NaN').join('\u0001');
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  const out: Row[] = [];
  for (const g of groups.values())
    for (const i of rng.sampleIndices(g.length, Math.min(g.length, roundHalfEven(frac * g.length)))) out.push(g[i]);
  return out;
}

/**
 * `select_classes_uniquely` + `save_class`. `usedJson`, when given, is rewritten after
 * every label with the whole used dict, as the original did (step 3e); `M.idx ∉ used` rebuilds
 * its hash set per label, as pandas `isin` does.
 */
export function originalAlgorithm(
  rows: Row[],
  threshold: number,
  cap: number,
  presample: number,
  rng: Rng,
  usedJson?: string,
): { labels: number; images: number; candidates: number; jsonSeconds: number } {
  // Count table: explode each column on '|', value_counts; same label+count in two columns kept once.
  const table: { label: string; col: Category; count: number }[] = [];
  const seen = new Set<string>();
  for (const col of ['compound', 'sirna', 'gene', 'phenotype', 'cell_visible', 'cell_type', 'organism'] as const) {
    const counts = new Map<string, number>();
    for (const r of rows) for (const t of r[col]?.split('|') ?? []) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [label, count] of counts) {
      if (seen.has(`${label}\u0000${count}`)) continue;
      seen.add(`${label}\u0000${count}`);
      table.push({ label, col, count });
    }
  }
  const candidates = table.filter((c) => c.count >= threshold).sort((a, b) => a.count - b.count);
  const usedDict = new Map<string, string>();
  let labels = 0;
  let images = 0;
  let jsonSeconds = 0;
  for (const { label, col } of candidates) {
    const re = new RegExp(label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const used = new Set(usedDict.keys());
    const f: Row[] = rows.filter((r) => r[col] !== null && re.test(r[col]!) && !used.has(r.idx!)); // one full scan
    if (f.length < threshold) continue;
    let g = f;
    if (f.length > cap) {
      let s = ['organism', 'cell_type', 'cell_visible', 'sirna', 'compound', 'phenotype'].filter(
        (k) => col === 'gene' || k !== col,
      );
      let pool = f;
      if (f.length > presample) {
        const d = ['name', 'organism', 'cell_type'].filter((k) => k !== col);
        s = s.filter((k) => !d.includes(k) || k === 'name');
        pool = sampleFrac(f, d, presample / f.length, rng);
      }
      if (col === 'sirna') s = s.filter((k) => k !== 'compound');
      if (col === 'compound') s = s.filter((k) => k !== 'sirna');
      let frac = cap / pool.length;
      g = sampleFrac(pool, s, frac, rng);
      while (g.length < cap && frac < 1) {
        frac = Math.min(1, frac + (g.length < 500 ? 0.03 : 0.02));
        g = sampleFrac(pool, s, frac, rng);
      }
      if (g.length > cap) g = rng.sampleIndices(g.length, cap).map((i) => g[i]);
    }
    for (const r of g) usedDict.set(r.idx!, label);
    labels++;
    images += g.length;
    if (usedJson) {
      const t = performance.now();
      writeFileSync(usedJson, JSON.stringify(Object.fromEntries(usedDict)));
      jsonSeconds += (performance.now() - t) / 1000;
    }
  }
  return { labels, images, candidates: candidates.length, jsonSeconds };
}

async function readRows(catalog: string): Promise<Row[]> {
  const instance = await DuckDBInstance.create(catalog, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  try {
    const cols = ['idx', 'name', ...CATEGORIES];
    const reader = await conn.runAndReadAll(`SELECT ${cols.map((c) => `"${c}"`).join(', ')} FROM ${CATALOG_TABLE}`);
    return reader.getRowObjectsJS() as Row[];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

// ---- child processes ---------------------------------------------------------------------

async function child(mode: string, catalog: string, out: string): Promise<Measure> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let m: Omit<Measure, 'seconds' | 'cpuSeconds' | 'maxRssMB'>;
  if (mode === 'fast') {
    const r = await assignLabels(catalog, out, { seed: 1 });
    m = { labels: r.labels, images: r.images, candidates: r.candidates, detail: r.seconds };
  } else {
    const rows = await readRows(catalog);
    const load = (performance.now() - t0) / 1000;
    mkdirSync(out, { recursive: true });
    const json = mode === 'original' ? join(out, 'used_images.json') : undefined;
    const { jsonSeconds, ...r } = originalAlgorithm(
      rows,
      LABELS.threshold,
      LABELS.cap,
      LABELS.presample,
      Rng.fromSeed(1),
      json,
    );
    const total = (performance.now() - t0) / 1000;
    m = { ...r, detail: { load, scans_and_sampling: total - load - jsonSeconds, used_json_dumps: jsonSeconds } };
  }
  const cpu = process.cpuUsage(c0);
  return {
    ...m,
    seconds: (performance.now() - t0) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

function measure(mode: 'fast' | 'original' | 'original-no-json', catalog: string, out: string): Measure {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, catalog, out], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const wholeSeconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${mode} child failed: ${r.stderr}`);
  return { ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as Measure), wholeSeconds };
}

interface CommandRun {
  /** Spawn to exit. */
  seconds: number;
  /** user + system CPU seconds of the command (all its threads). */
  cpuSeconds: number;
  /** Phase → seconds, from the command's CYTOIMAGENET_DEBUG=1 lines. */
  phases: Record<string, number>;
}

/** The command's debug lines grouped into the phases the issue names. */
function phasesOf(stderr: string, seconds: number): Record<string, number> {
  const lap: Record<string, number> = {};
  for (const m of stderr.matchAll(/^labels: (.+?) (\d+\.\d+) s/gm)) lap[m[1]] = Number(m[2]);
  const sum = (pred: (name: string) => boolean): number =>
    Object.entries(lap)
      .filter(([k]) => pred(k))
      .reduce((s, [, v]) => s + v, 0);
  const start = lap['process start'] ?? 0;
  const load = sum(
    (k) =>
      k.startsWith('checks') ||
      k.startsWith('distinct values') ||
      k.startsWith('dictionaries') ||
      k.includes('parse rows'),
  );
  const select = sum((k) => k === 'postings' || k === 'select' || k === 'folders');
  const write = sum((k) => k.startsWith('summaries') || k.startsWith('files written'));
  return {
    'process start': start,
    'catalog load (DuckDB, and the JS parse beside its writing)': load,
    select,
    write,
    'exit and the rest': Math.max(0, seconds - start - load - select - write),
  };
}

/** Seconds of the ingest bench's baseline child (CREATE TABLE AS read_csv, all VARCHAR) on `csv`. */
function plainLoad(csv: string, path: string): number {
  const bench = fileURLToPath(new URL('./catalog-ingest.js', import.meta.url));
  rmSync(path, { force: true });
  const r = spawnSync(process.execPath, [bench, '--child', 'baseline', csv, path], { encoding: 'utf8' });
  rmSync(path, { force: true });
  if (r.status !== 0) throw new Error(`plain load failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { seconds: number }).seconds;
}

/** The whole `cytoimagenet labels` command as a user runs it: spawn to exit, best of `runs`. */
function measureCommand(catalog: string, out: string, runs: number): CommandRun {
  const cli = fileURLToPath(new URL('../../bin/cytoimagenet.js', import.meta.url));
  let best: CommandRun | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(
      '/usr/bin/env',
      [
        'bash',
        '-c',
        'TIMEFORMAT="%U %S"; time "$@"',
        'time',
        process.execPath,
        cli,
        'labels',
        '--catalog',
        catalog,
        '--out',
        out,
        '--seed',
        '1',
      ],
      { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, CYTOIMAGENET_DEBUG: '1' } },
    );
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`labels command failed: ${r.stderr}`);
    const cpu = /(\d+\.\d+) (\d+\.\d+)\s*$/.exec(r.stderr);
    const run = {
      seconds,
      cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : Number.NaN,
      phases: phasesOf(r.stderr, seconds),
    };
    if (!best || run.seconds < best.seconds) best = run;
  }
  return best as CommandRun;
}

function showCommand(m: CommandRun, runs: number, goal?: number): void {
  const verdict =
    goal === undefined ? '' : m.seconds <= goal ? `  (goal ≤ ${goal} s: met)` : `  (goal ≤ ${goal} s: NOT met)`;
  console.log(
    `  cytoimagenet labels (whole command)  ${m.seconds.toFixed(2).padStart(8)} s  best of ${runs}, CPU ${m.cpuSeconds.toFixed(2)} s${verdict}`,
  );
  for (const [k, v] of Object.entries(m.phases)) console.log(`      ${k.padEnd(40)} ${v.toFixed(2).padStart(6)} s`);
}

function show(name: string, m: Measure): void {
  const detail = m.detail
    ? Object.entries(m.detail)
        .map(([k, v]) => `${k} ${v.toFixed(2)} s`)
        .join(', ')
    : '';
  console.log(
    `  ${name.padEnd(34)} ${m.seconds.toFixed(2).padStart(8)} s  (CPU ${m.cpuSeconds.toFixed(2)} s)   peak RSS ${m.maxRssMB.toFixed(0).padStart(5)} MB   ${m.candidates} candidates → ${m.labels} labels, ${m.images} images  (${detail})`,
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    console.log(JSON.stringify(await child(process.argv[3], process.argv[4], process.argv[5])));
    return;
  }
  const big = arg('--rows', 2_700_000);
  const small = arg('--small', 300_000);
  const seed = arg('--seed', 1);
  const runs = Math.max(1, arg('--runs', 3));
  // The catalogs as `ingest` writes them (its cleaning, its storage) instead of one CREATE TABLE.
  const ingested = process.argv.includes('--ingested');
  const dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-bench-labels-'));
  try {
    const sizes = (
      [
        ['big', big],
        ['small', small],
      ] as const
    ).filter(([, n]) => n > 0);
    for (const [name, rows] of sizes) {
      const t = performance.now();
      await writeSyntheticCatalogCsv(join(dir, `${name}.csv`), rows, seed);
      if (ingested) {
        const config = join(dir, `${name}.json`);
        writeFileSync(config, JSON.stringify({ adapter: 'standard', table: `${name}.csv` }));
        await ingestSources([config], join(dir, `${name}.duckdb`));
      } else await buildCatalog(join(dir, `${name}.csv`), join(dir, `${name}.duckdb`));
      // The big CSV stays for the machine-speed reference below.
      if (name !== 'big') await rm(join(dir, `${name}.csv`));
      console.log(
        `synthetic catalog: ${rows} rows, ${ingested ? 'written by ingest' : 'one CREATE TABLE'} (${((performance.now() - t) / 1000).toFixed(1)} s to generate and load, not measured)`,
      );
    }
    if (big > 0) {
      console.log(
        `\nat ${big} rows (threshold ${LABELS.threshold}, cap ${LABELS.cap}, presample ${LABELS.presample}; goal: the whole command ≤ 5 s, ≤ 2048 MB):`,
      );
      // Before and after the command's runs: DuckDB's plain load of the same CSV, the ingest
      // bench's baseline, which says how fast the machine is in these minutes.
      const plain = [plainLoad(join(dir, 'big.csv'), join(dir, 'plain.duckdb'))];
      const cmd = measureCommand(join(dir, 'big.duckdb'), join(dir, 'out-big-cli'), runs);
      plain.push(plainLoad(join(dir, 'big.csv'), join(dir, 'plain.duckdb')));
      await rm(join(dir, 'big.csv'));
      const fast = measure('fast', join(dir, 'big.duckdb'), join(dir, 'out-big'));
      showCommand(cmd, runs, 5);
      const load = Math.min(...plain);
      console.log(
        `  DuckDB's plain load of the same CSV (the ingest bench's baseline), same run: ${plain.map((x) => x.toFixed(2)).join(' s, ')} s; ` +
          `the command is ${(cmd.seconds / load).toFixed(2)}× its best (the goal as filed, 5 s when that load took 7.3 s: ${(5 / 7.3).toFixed(2)}×)`,
      );
      show('assignLabels (inside a process)', fast);
      console.log(
        `  load average while measuring: ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
      );
    }
    if (small > 0) {
      console.log(
        `\nat ${small} rows, against the original algorithm (goal: whole command ≥ 30× the original's whole run):`,
      );
      const cmd = measureCommand(join(dir, 'small.duckdb'), join(dir, 'out-small-cli'), runs);
      const fast = measure('fast', join(dir, 'small.duckdb'), join(dir, 'out-small'));
      const original = measure('original', join(dir, 'small.duckdb'), join(dir, 'orig'));
      const scansOnly = measure('original-no-json', join(dir, 'small.duckdb'), join(dir, 'orig-no-json'));
      showCommand(cmd, runs);
      show('assignLabels (inside a process)', fast);
      show('original, as coded', original);
      show('original without used-JSON dumps', scansOnly);
      const whole = (m: Measure): number => m.wholeSeconds ?? m.seconds;
      console.log(
        `  original's whole run (process start to exit): ${whole(original).toFixed(2)} s as coded, ${whole(scansOnly).toFixed(2)} s without the JSON dumps`,
      );
      console.log(
        `  ratio, whole command vs the original's whole run: ${(whole(original) / cmd.seconds).toFixed(1)}× as coded, ${(whole(scansOnly) / cmd.seconds).toFixed(1)}× without its JSON dumps`,
      );
      console.log(
        `  ratio, inside the process: ${(original.seconds / fast.seconds).toFixed(1)}× (wall), ${(original.cpuSeconds / fast.cpuSeconds).toFixed(1)}× (CPU) as coded; ${(scansOnly.seconds / fast.seconds).toFixed(1)}× without its JSON dumps`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
