// `cytoimagenet worker`: one machine's share of a distributed build (see docs/build.md "Scaling
// out"). Runs until SIGTERM or SIGINT, which finish the shard in hand first.
import type { Command } from 'commander';
import { workerOptionsSchema } from '../release/options.js';
import { startQueueWorker } from '../release/queue-worker.js';
import { runAction } from './run-action.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('Run jobs of distributed builds (`build --queue`) from a Redis queue until stopped.')
    .requiredOption(
      '--queue <url>',
      'the Redis the builds use (redis://HOST:PORT, redis://:PASSWORD@HOST:PORT, rediss://)',
    )
    .option('--concurrency <n>', 'worker processes on this machine (default: the number of cores)')
    .option(
      '--path-map <from=to>',
      'the shared storage the coordinator sees at FROM is mounted at TO here (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .action(
      runAction(async (raw: Record<string, unknown>) => {
        const opts = workerOptionsSchema.parse(raw);
        const worker = startQueueWorker(opts);
        await new Promise<void>((resolveStop) => {
          let signals = 0;
          const stop = (signal: string): void => {
            if (++signals > 1) process.exit(130); // a second signal: do not wait for the shard
            process.stdout.write(`worker: ${signal}: finishing the shard in hand, then stopping\n`);
            void worker.stop().then(resolveStop);
          };
          process.on('SIGTERM', () => stop('SIGTERM'));
          process.on('SIGINT', () => stop('SIGINT'));
        });
        process.stdout.write('worker: stopped\n');
      }),
    );
}
