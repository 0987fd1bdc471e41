// Ingest benchmark: a CytoImageNet-shaped standard-schema CSV (default 2.7 M rows, ~40 sources)
// through `ingestSources`, in a child process so its peak RSS is its own. Baseline, same run:
// DuckDB loading the same CSV into a table with no validation or cleaning.
//   node dist/bench/catalog-ingest.js [--rows 2700000] [--seed 1] [--repeat 3] [--dir DIR]
// Goal (docs/catalog.md): ≤ 1.5× the baseline's time in the same run, ≤ 2 GB peak RSS, on the 2-core machine. The machine is shared, so the
// baseline and the ingest alternate, --repeat times, and the medians are compared. With --dir the
// table is kept there and reused by the next run with the same rows and seed.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, writeFileSync } from 'node:fs';
import { writeSyntheticCatalogCsv } from './synthetic-catalog.js';
import { ingestSources } from '../src/catalog/ingest.js';
import { DuckDBInstance } from '@duckdb/node-api';

interface ChildResult {
  seconds: number;
  /** user + system CPU of the whole process (DuckDB's threads included): steadier than wall on a busy machine. */
  cpuSeconds: number;
  maxRssMB: number;
  rows: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function child(mode: string, csv: string, catalog: string): Promise<void> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let rows = 0;
  if (mode === 'ingest') {
    const cfg = join(catalog + '.config.json');
    writeFileSync(cfg, JSON.stringify({ adapter: 'standard', table: csv }));
    const r = await ingestSources([cfg], catalog);
    rows = r.totalRows;
  } else {
    const inst = await DuckDBInstance.create(catalog);
    const conn = await inst.connect();
    await conn.run(`CREATE TABLE t AS SELECT * FROM read_csv('${csv}', header=true, all_varchar=true)`);
    rows = Number((await conn.runAndReadAll('SELECT count(*) AS n FROM t')).getRowObjectsJson()[0].n);
    conn.closeSync();
    inst.closeSync();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const maxRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ seconds, cpuSeconds, maxRssMB, rows } satisfies ChildResult));
}

function runChild(mode: string, csv: string, catalog: string): ChildResult {
  for (const f of [catalog, `${catalog}.wal`]) if (existsSync(f)) execFileSync('rm', ['-f', f]);
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, csv, catalog], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out) as ChildResult;
}

async function main(): Promise<void> {
  const ci = process.argv.indexOf('--child');
  if (ci >= 0) {
    await child(process.argv[ci + 1], process.argv[ci + 2], process.argv[ci + 3]);
    return;
  }
  const rows = Number(arg('rows', '2700000'));
  const seed = Number(arg('seed', '1'));
  const repeat = Math.max(1, Number(arg('repeat', '3')));
  const dir = arg('dir', '') || (await mkdtemp(join(tmpdir(), 'cytoimagenet-bench-')));
  try {
    const csv = join(dir, 'synthetic.csv');
    const stamp = join(dir, 'synthetic.json');
    const want = JSON.stringify({ rows, seed });
    let s: { rows: number; sources: number; bytes: number };
    if (existsSync(csv) && existsSync(stamp) && JSON.parse(await readFile(stamp, 'utf8')).key === want) {
      s = JSON.parse(await readFile(stamp, 'utf8')).summary;
      console.log(
        `synthetic table: ${s.rows} rows, ${s.sources} sources, ${(s.bytes / 1e6).toFixed(0)} MB (reused from ${dir})`,
      );
    } else {
      const g0 = performance.now();
      s = await writeSyntheticCatalogCsv(csv, rows, seed);
      await writeFile(stamp, JSON.stringify({ key: want, summary: s }));
      const genS = (performance.now() - g0) / 1000;
      console.log(
        `synthetic table: ${s.rows} rows, ${s.sources} sources, ${(s.bytes / 1e6).toFixed(0)} MB (written in ${genS.toFixed(1)} s)`,
      );
    }
    const bases: ChildResult[] = [];
    const ings: ChildResult[] = [];
    for (let i = 0; i < repeat; i++) {
      const base = runChild('baseline', csv, join(dir, 'baseline.duckdb'));
      const ing = runChild('ingest', csv, join(dir, 'catalog.duckdb'));
      bases.push(base);
      ings.push(ing);
      console.log(
        `  run ${i + 1}/${repeat}: baseline ${base.seconds.toFixed(2)} s (CPU ${base.cpuSeconds.toFixed(2)} s), ingest ${ing.seconds.toFixed(2)} s (CPU ${ing.cpuSeconds.toFixed(2)} s) = ${(ing.seconds / base.seconds).toFixed(2)}× wall, ${(ing.cpuSeconds / base.cpuSeconds).toFixed(2)}× CPU; ingest peak RSS ${ing.maxRssMB.toFixed(0)} MB; load average ${loadavg()[0].toFixed(1)}`,
      );
    }
    const median = (xs: number[]): number => {
      const v = [...xs].sort((a, b) => a - b);
      return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    };
    const base = { seconds: median(bases.map((b) => b.seconds)), maxRssMB: median(bases.map((b) => b.maxRssMB)) };
    const ing = {
      seconds: median(ings.map((b) => b.seconds)),
      maxRssMB: Math.max(...ings.map((b) => b.maxRssMB)),
      rows: ings[0].rows,
    };
    const ratios = median(ings.map((r, i) => r.seconds / bases[i].seconds));
    const size = (await stat(join(dir, 'catalog.duckdb'))).size;
    console.log(`medians of ${repeat} runs:`);
    console.log(
      `baseline (DuckDB CREATE TABLE AS read_csv, no cleaning): ${base.seconds.toFixed(2)} s, peak RSS ${base.maxRssMB.toFixed(0)} MB`,
    );
    console.log(
      `ingest (standard adapter: validate, clean, check files, store): ${ing.seconds.toFixed(2)} s, peak RSS ${ing.maxRssMB.toFixed(0)} MB (max), ${ing.rows} rows, catalog ${(size / 1e6).toFixed(0)} MB`,
    );
    console.log(
      `ratio ingest/baseline: time ${(ing.seconds / base.seconds).toFixed(2)}× (median of per-run ratios ${ratios.toFixed(2)}×), RSS ${(ing.maxRssMB / base.maxRssMB).toFixed(2)}×`,
    );
    const cpuRatio = median(ings.map((r, i) => r.cpuSeconds / bases[i].cpuSeconds));
    console.log(`ratio ingest/baseline, CPU (median of per-run ratios): ${cpuRatio.toFixed(2)}×`);
    console.log(
      `goal ≤ 1.5× the baseline: ${ratios <= 1.5 ? 'met' : 'NOT met'} (wall); goal ≤ 2048 MB: ${ing.maxRssMB <= 2048 ? 'met' : 'NOT met'}`,
    );
  } finally {
    if (!process.argv.includes('--dir')) await rm(dir, { recursive: true, force: true });
  }
}

await main();
