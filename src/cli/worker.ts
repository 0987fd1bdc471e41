// `cytoimagenet worker`: one machine's share of a distributed build (see docs/build.md "Scaling
// out"). Runs until SIGTERM or SIGINT, which finish the shard in hand first. Its flags are the
// worker's options schema (src/release/options.ts), through src/cli/options.ts.
import type { Command } from 'commander';
import { workerOptionsSchema } from '../release/options.js';
import { startQueueWorker } from '../release/queue-worker.js';
import { addOptions, optionValues } from './options.js';
import { runAction } from './run-action.js';

export function register(program: Command): void {
  addOptions(program.command('worker'), workerOptionsSchema)
    .description('Run jobs of distributed builds (`build --queue`) from a Redis queue until stopped.')
    .action(
      runAction(async (raw: Record<string, unknown>) => {
        const worker = startQueueWorker(optionValues(raw, workerOptionsSchema));
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
