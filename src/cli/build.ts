// `cytoimagenet build`: labels → a CytoImageNet release folder (see docs/build.md).
import type { Command } from 'commander';
import { buildRelease } from '../release/build-release.js';
import { buildOptionsSchema } from '../release/options.js';
import { runAction } from './run-action.js';

export function register(program: Command): void {
  program
    .command('build')
    .description('Build a release from a catalog and a labels folder: parallel, resumable, byte-reproducible.')
    .requiredOption('--catalog <file>', 'catalog DuckDB file (from `cytoimagenet ingest`)')
    .requiredOption(
      '--labels <dir>',
      'labels folder (from `cytoimagenet labels`); threshold, cap and presample come from its labels.json',
    )
    .requiredOption('--out <dir>', 'release folder to create, or to resume')
    .option('--workers <n>', 'worker processes (default: the number of cores)')
    .option('--seed <n>', "seed for crops, cap and split (default: the labels' seed)")
    .option('--min-release <n>', 'drop labels left with fewer images', '500')
    .option('--format <format>', 'folders | webdataset (webdataset also writes tar shards)', 'folders')
    .option(
      '--queue <url>',
      'run the jobs on `cytoimagenet worker` machines through this Redis (redis://HOST:PORT, rediss:// for TLS); OUT and the sources must be on storage they all mount',
    )
    .option('--shard-size <n>', 'image sets per queue job (with --queue)', '64')
    .action(
      runAction(async (raw: Record<string, string | undefined>) => {
        const opts = buildOptionsSchema.parse(raw);
        await buildRelease({ ...opts, progress: true });
      }),
    );
}
