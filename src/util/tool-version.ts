// The package version, recorded in labels.json, build.json, dataset cards and checkpoints. Read
// from package.json beside dist/ (compiled) or src/ so no stage has to load the CLI.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function toolVersion(): string {
  if (cached) return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(here, up, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'cytoimagenet' && pkg.version) return (cached = pkg.version);
    } catch {
      /* try the next layout */
    }
  }
  return '0.0.0';
}
