// Memory of a build over very large images: `build --workers N` on image sets of SIDE² pixels
// (default 16000², under the pixel limit), three times in the same run:
//   - before: every worker free to decode a large set whole (CYTOIMAGENET_BUILD_LARGE_DECODES=N,
//     CYTOIMAGENET_BUILD_STRIP_PIXELS=Infinity);
//   - one large set decoded whole at a time across the workers (IMAGING.largeDecodes; the default
//     until sets this large were read in bands);
//   - now: the default, large sets read in bands from spill files (src/imaging/spill-rows.ts).
// Prints the peak RSS of the whole process tree (sampled from /proc every 50 ms), the peak of the
// largest single process (a worker: the per-worker peak), the wall time, and the decoded size of
// one set beside them.
//   node dist/bench/build-large-images.js [--side 16000] [--images 4] [--workers 2]
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { catalogFingerprint } from '../src/catalog/fingerprint.js';
import { writeCatalog, writeLabels, type FixtureRow } from '../test/release/fixture.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SIDE = arg('side', 16000);
const IMAGES = arg('images', 4);
const WORKERS = arg('workers', 2);
const CLI = fileURLToPath(new URL('../../bin/cytoimagenet.js', import.meta.url));

/** RSS in bytes of pid and all its descendants, and of the largest one, from /proc. */
async function treeRss(root: number): Promise<{ total: number; largest: number }> {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = await readFile(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(e), Number(f[1]));
      rss.set(Number(e), Number(f[21]) * 4096);
    } catch {
      // exited meanwhile
    }
  }
  let total = 0;
  let largest = 0;
  for (const [pid, r] of rss) {
    let p: number | undefined = pid;
    while (p !== undefined && p > 1 && p !== root) p = parent.get(p);
    if (p === root) {
      total += r;
      largest = Math.max(largest, r);
    }
  }
  return { total, largest };
}

async function run(
  catalog: string,
  labels: string,
  out: string,
  env: NodeJS.ProcessEnv,
): Promise<{ peak: number; largest: number; seconds: number }> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      CLI,
      'build',
      '--catalog',
      catalog,
      '--labels',
      labels,
      '--out',
      out,
      '--workers',
      String(WORKERS),
      '--min-release',
      '1',
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  let peak = 0;
  let largest = 0;
  let done = false;
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  void exited.then(() => (done = true));
  while (!done) {
    const s = await treeRss(child.pid as number);
    peak = Math.max(peak, s.total);
    largest = Math.max(largest, s.largest);
    await new Promise((r) => setTimeout(r, 50));
  }
  if ((await exited) !== 0) throw new Error('build failed');
  return { peak, largest, seconds: (performance.now() - t0) / 1000 };
}

const root = await mkdtemp(join(tmpdir(), 'cytoimagenet-bench-large-'));
try {
  const images = join(root, 'images');
  await mkdir(images);
  // A smooth periodic texture: compresses to a small PNG. sharp writes this one-band input as an
  // RGB PNG, so it decodes to SIDE²×3 bytes.
  const raw = Buffer.allocUnsafe(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) raw[y * SIDE + x] = 20 + ((x * 7 + y * 13) % 200);
  await sharp(raw, { raw: { width: SIDE, height: SIDE, channels: 1 }, limitInputPixels: false })
    .png()
    .toFile(join(images, 'big0.png'));
  const rows: FixtureRow[] = [];
  for (let i = 0; i < IMAGES; i++) {
    if (i > 0) await copyFile(join(images, 'big0.png'), join(images, `big${i}.png`));
    rows.push({ idx: `big-${i}`, label: 'big', category: 'compound', dir_name: 'synth', files: [`big${i}.png`] });
  }
  const catalog = join(root, 'catalog.duckdb');
  await writeCatalog(catalog, rows, images);
  const labels = join(root, 'labels');
  await writeLabels(labels, rows, await catalogFingerprint(catalog), 1000);
  const decoded = SIDE * SIDE * 3;
  const onDisk = (await stat(join(images, 'big0.png'))).size;
  const gb = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GB`;
  console.log(
    `${IMAGES} image sets of ${SIDE}×${SIDE} (8-bit RGB PNG, ${(onDisk / 2 ** 20).toFixed(1)} MB on disk, ` +
      `${gb(decoded)} decoded), build --workers ${WORKERS}; load ${loadavg()[0].toFixed(1)}`,
  );
  const whole = { CYTOIMAGENET_BUILD_STRIP_PIXELS: 'Infinity' };
  const runs: [string, NodeJS.ProcessEnv][] = [
    [
      'every worker decodes a large set whole (before)',
      { ...whole, CYTOIMAGENET_BUILD_LARGE_DECODES: String(WORKERS) },
    ],
    ['one large set decoded whole at a time       ', whole],
    ['one large set at a time, read in bands (now)', {}],
  ];
  for (const [i, [what, env]] of runs.entries()) {
    const r = await run(catalog, labels, join(root, `out${i}`), env);
    console.log(
      `  ${what}: whole build ${gb(r.peak)}, per worker (largest process) ${gb(r.largest)}, ${r.seconds.toFixed(1)} s`,
    );
  }
  console.log(`  decoded size of one set (baseline): ${gb(decoded)}`);
  console.log(`  load average at the end: ${loadavg()[0].toFixed(1)}`);
} finally {
  await rm(root, { recursive: true, force: true });
}
