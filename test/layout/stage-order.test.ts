// The stages import only downwards: a stage may import its own folder and any stage on a lower
// level, never one on its own level or above. The order (README "Developing"):
//   util, defaults → sources → catalog → labels → imaging → release → model → datasets →
//   features | train → evaluate | report → cli
// A new folder under src/ must be given a level here before anything can import it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const LEVELS: Record<string, number> = {
  util: 0,
  defaults: 0,
  sources: 1,
  catalog: 2,
  labels: 3,
  imaging: 4,
  release: 5,
  model: 6,
  datasets: 7,
  features: 8,
  train: 8,
  evaluate: 9,
  report: 9,
  cli: 10,
};

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The stage of a file under src/: its top folder, or its name for a file directly in src/ (defaults.ts). */
function stageOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length === 1 ? parts[0].replace(/\.[cm]?[jt]s$/, '') : parts[0];
}

/** Relative module specifiers of static imports, re-exports and dynamic imports (comments stripped). */
function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of code.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.[^'"]*)\1/gm)) out.push(m[2]);
  return out;
}

test('src/ stages import only downwards (no cycles, nothing sideways)', () => {
  const files = tsFiles(SRC);
  assert.ok(files.length > 50, `found the sources under ${SRC}`);
  const unknown = new Set<string>();
  const violations: string[] = [];
  let edges = 0;
  for (const file of files) {
    const from = stageOf(file);
    if (!(from in LEVELS)) unknown.add(from);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      const to = stageOf(target);
      edges++;
      if (to === from) continue;
      if (!(to in LEVELS)) unknown.add(to);
      else if (LEVELS[to] >= LEVELS[from])
        violations.push(`${relative(SRC, file)} imports ${spec} (${from} may not import ${to})`);
    }
  }
  assert.ok(edges > 100, 'the import scan found the imports');
  assert.deepEqual([...unknown], [], 'every folder under src/ has a level in test/layout/stage-order.test.ts');
  assert.deepEqual(violations, []);
});

test('the import scan sees every form of import', () => {
  const text = [
    "import { a } from '../catalog/x.js';",
    "import type { B } from './b.js';",
    "export { c } from '../model/c.js';",
    "export * from '../sources/d.js';",
    "const e = await import('../train/e.js');",
    "import '../imaging/side-effect.js';",
    "// import { z } from '../cli/z.js';",
    "import sharp from 'sharp';",
  ].join('\n');
  assert.deepEqual(importsOf(text), [
    '../catalog/x.js',
    './b.js',
    '../model/c.js',
    '../sources/d.js',
    '../train/e.js',
    '../imaging/side-effect.js',
  ]);
});
