// Runs every benchmark in turn, each in its own process (each prints its figure and the baseline
// it measured in the same run). `npm run bench`, or `npm run bench -- imaging build` for some.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// Children of other benches and shared generators are not benchmarks of their own.
const helpers = new Set(['run-all.js', 'build-codec-floor.js', 'synthetic-catalog.js', 'bbbc021-like.js']);
const all = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !helpers.has(f))
  .sort();
const wanted = process.argv.slice(2);
const chosen = wanted.length ? all.filter((f) => wanted.some((w) => f.startsWith(w))) : all;
let failed = 0;
for (const f of chosen) {
  console.log(`\n=== ${f.replace(/\.js$/, '')}`);
  const r = spawnSync(process.execPath, [join(here, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
