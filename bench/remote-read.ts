// Remote sources: `build --workers 2` on a synthetic BBBC021-like set (3 × 1280×1024 16-bit TIFFs
// per set) read over loopback HTTP, against the same build reading the files from disk, and again
// from a warm --cache; interleaved reps, medians, ratios (goals: HTTP ≤ 1.2× disk, cache hit ≤
// 1.05×). The server is a process of its own serving the files from memory (each read from disk
// once), so what it costs on the shared cores is little more than the socket writes; the client's
// CPU time (this process and its build workers, not the server) is reported beside the wall time.
// Then the requests an OME-Zarr read makes against the chunks it needs plus its metadata, on the
// stores in shared/data/ome-zarr.
//   node dist/bench/remote-read.js [--sets 24] [--reps 3]
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../src/util/rng.js';
import { catalogFingerprint } from '../src/catalog/fingerprint.js';
import { buildRelease } from '../src/release/build-release.js';
import { configureFetch, DEFAULT_FETCH } from '../src/sources/fetch/http.js';
import { forgetOpenedImages } from '../src/sources/ome-zarr.js';
import { decodeImage } from '../src/imaging/index.js';
import { writeCatalog, writeLabels, type FixtureRow } from '../test/release/fixture.js';
import { serveFolder } from '../test/helpers/http-server.js';
import { SHARED_DATA } from '../test/helpers/data.js';

const W = 1280;
const H = 1024;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function channel(path: string, set: number, ch: number): Promise<void> {
  const rng = Rng.derive(0, 'bench-remote', set, ch);
  const px = new Uint16Array(W * H);
  for (let i = 0; i < px.length; i++) px[i] = 400 + rng.int(0, 1200);
  for (let b = 0; b < 40; b++) {
    const cx = rng.int(0, W - 1);
    const cy = rng.int(0, H - 1);
    const r = 8 + rng.int(0, 16);
    for (let y = Math.max(0, cy - r); y < Math.min(H, cy + r); y++)
      for (let x = Math.max(0, cx - r); x < Math.min(W, cx + r); x++) px[y * W + x] += 6000;
  }
  await sharp(px, { raw: { width: W, height: H, channels: 1 } })
    .toColourspace('grey16')
    .tiff({ compression: 'none' })
    .toFile(path);
}

/** CPU seconds of this process and of its children that have exited (the build's workers), or NaN off Linux. */
const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
function clientCpu(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime (fields 14-17; f starts at field 3)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS;
  } catch {
    return Number.NaN;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The file server runs in a process of its own, as a remote one would (not on the build's main thread). */
async function serverProcess(dir: string): Promise<{ url: string; child: ChildProcess; requests(): Promise<number> }> {
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, BENCH_SERVE_DIR: dir } });
  const url = await new Promise<string>((res) => child.once('message', (m) => res(String(m))));
  const requests = (): Promise<number> =>
    new Promise((res) => {
      child.once('message', (m) => res(Number(m)));
      child.send('count');
    });
  return { url, child, requests };
}

async function main(): Promise<void> {
  const nSets = Number(arg('--sets', '24'));
  const reps = Number(arg('--reps', '3'));
  const dir = await mkdtemp(join(tmpdir(), 'cytoimagenet-bench-remote-'));
  const server = await serverProcess(dir);
  try {
    const images = join(dir, 'images');
    await mkdir(images);
    const localRows: FixtureRow[] = [];
    const urlRows: FixtureRow[] = [];
    for (let i = 0; i < nSets; i++) {
      const files: string[] = [];
      for (let ch = 0; ch < 3; ch++) {
        const f = `set${String(i).padStart(4, '0')}_w${ch + 1}.tif`;
        await channel(join(images, f), i, ch);
        files.push(f);
      }
      const label = i % 2 ? 'compound a' : 'compound b';
      localRows.push({ idx: `s-${i}`, label, category: 'compound', dir_name: 'synth', files });
      urlRows.push({
        idx: `s-${i}`,
        label,
        category: 'compound',
        dir_name: 'synth',
        files: files.map((f) => `${server.url}/images/${f}`),
      });
    }
    const inputs = async (name: string, rows: FixtureRow[]) => {
      const d = join(dir, name);
      await mkdir(d);
      const catalog = join(d, 'catalog.duckdb');
      await writeCatalog(catalog, rows, images);
      const labels = join(d, 'labels');
      await writeLabels(labels, rows, await catalogFingerprint(catalog), nSets);
      return { catalog, labels };
    };
    const local = await inputs('local', localRows);
    const remote = await inputs('remote', urlRows);
    const cache = join(dir, 'cache');
    const quiet = { workers: 2, minRelease: 1, progress: false, log: () => undefined };
    let n = 0;
    const cpu = { disk: [] as number[], http: [] as number[], hit: [] as number[] };
    const timed = async (opts: Parameters<typeof buildRelease>[0], cpuInto?: number[]): Promise<number> => {
      const c0 = clientCpu();
      const t0 = performance.now();
      await buildRelease(opts);
      const s = (performance.now() - t0) / 1000;
      // the workers were told to stop: let them exit, so their CPU time is counted
      await new Promise((r) => setTimeout(r, 500));
      cpuInto?.push(clientCpu() - c0);
      await rm(opts.out, { recursive: true });
      return s;
    };
    // warm the page cache and the --cache folder once
    await timed({ ...local, ...quiet, out: join(dir, `out-${n++}`) });
    await timed({ ...remote, ...quiet, out: join(dir, `out-${n++}`), cache });
    configureFetch({ cacheDir: null }, true);
    const disk: number[] = [];
    const http: number[] = [];
    const hit: number[] = [];
    let requests = 0;
    for (let r = 0; r < reps; r++) {
      // interleaved, so load from other users of the machine hits all three alike
      disk.push(await timed({ ...local, ...quiet, out: join(dir, `out-${n++}`) }, cpu.disk));
      const before = await server.requests();
      http.push(await timed({ ...remote, ...quiet, out: join(dir, `out-${n++}`) }, cpu.http));
      requests = (await server.requests()) - before;
      const beforeHit = await server.requests();
      hit.push(await timed({ ...remote, ...quiet, out: join(dir, `out-${n++}`), cache }, cpu.hit));
      if ((await server.requests()) !== beforeHit) throw new Error('a cache-hit build made requests');
      configureFetch({ cacheDir: null }, true);
    }
    const d = median(disk);
    const h = median(http);
    const c = median(hit);
    const cd = median(cpu.disk);
    const ch = median(cpu.http);
    const cc = median(cpu.hit);
    console.log(
      `remote-read bench: ${nSets} BBBC021-like sets (3 × ${W}×${H} 16-bit TIFF), build --workers 2; ${cpus().length} cores, load ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}; ${reps} interleaved reps, medians`,
    );
    console.log(`  disk (baseline)        ${d.toFixed(2)} s   ${(nSets / d).toFixed(2)} sets/s`);
    console.log(
      `  loopback HTTP          ${h.toFixed(2)} s   ${(nSets / h).toFixed(2)} sets/s   ${(h / d).toFixed(2)}× disk (goal ≤ 1.2×), ${requests} ranged requests for ${nSets * 3} files (header block, then the rest)`,
    );
    console.log(
      `  HTTP, --cache hit      ${c.toFixed(2)} s   ${(nSets / c).toFixed(2)} sets/s   ${(c / d).toFixed(2)}× disk (goal ≤ 1.05×), 0 requests`,
    );
    console.log(
      `  client CPU (build + workers, server excluded): disk ${cd.toFixed(2)} s, HTTP ${ch.toFixed(2)} s (${(ch / cd).toFixed(2)}×), cache hit ${cc.toFixed(2)} s (${(cc / cd).toFixed(2)}×)`,
    );
    console.log(
      `  per rep (disk/http/hit s): ${disk.map((x, i) => `${x.toFixed(2)}/${http[i].toFixed(2)}/${hit[i].toFixed(2)}`).join('  ')}`,
    );

    // OME-Zarr: requests made = chunks needed + metadata (.zattrs of the image, .zarray of the level)
    const zarr = await serveFolder(SHARED_DATA);
    try {
      console.log('  OME-Zarr reads over HTTP: requests made vs chunks needed + metadata');
      const cases: Array<[string, string, number]> = [
        ['ome-zarr/human-D03f00.ome.zarr', '#c=1', 1],
        ['ome-zarr/human-D03f00.ome.zarr', '#c=1&level=1', 1],
        ['ome-zarr/fly-POS002.ome.zarr', '#c=0', 1],
        ['ome-zarr/bbbc022-20585.ome.zarr/E/07/1', '', 1],
      ];
      for (const [rel, sel, planes] of cases) {
        forgetOpenedImages();
        zarr.requests.clear();
        const img = await decodeImage(`${zarr.url}/${rel}${sel}`);
        const level = /level=(\d)/.exec(sel)?.[1] ?? '0';
        const meta = JSON.parse(readFileSync(join(SHARED_DATA, rel, level, '.zarray'), 'utf8'));
        const chunks =
          planes *
          Math.ceil(meta.shape.at(-1) / meta.chunks.at(-1)) *
          Math.ceil(meta.shape.at(-2) / meta.chunks.at(-2));
        // .zattrs, level 0's .zarray (the image's shape), and the level read's .zarray when it is another
        const metadata = level === '0' ? 2 : 3;
        const made = zarr.totalRequests();
        console.log(
          `    ${`${rel}${sel}`.padEnd(46)} ${img.width}×${img.height}: ${made} requests = ${chunks} chunks + ${metadata} metadata ${made === chunks + metadata ? '✓' : '✗'}`,
        );
      }
    } finally {
      await zarr.close();
    }
  } finally {
    configureFetch(DEFAULT_FETCH, true);
    server.child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_SERVE_DIR) {
  const s = await serveFolder(process.env.BENCH_SERVE_DIR, { memory: true });
  process.on('message', () => process.send?.(s.totalRequests()));
  process.send?.(s.url);
} else await main();
