// `cytoimagenet evaluate bbbc021|coos7|cyclops`: the paper's three kNN transfer protocols on any
// features table(s). Thin: each protocol's flags are its options schema (src/evaluate/options.ts),
// which the stage validates; print the summary.
import type { Command } from 'commander';
import { z } from 'zod';
import { runBbbc021, runCoos7, runCyclops } from '../evaluate/run.js';
import { readResults, renderTable2, formatAccuracy } from '../evaluate/report.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { resolveInside } from '../util/safe-path.js';
import { UserError } from '../util/errors.js';
import { validateOptions } from '../util/zod-options.js';
import { bbbc021OptionsSchema, coos7OptionsSchema, cyclopsOptionsSchema } from '../evaluate/options.js';
import { addOptions, optionValues } from './options.js';
import { runAction } from './run-action.js';
import { toolVersion } from '../util/tool-version.js';
import type { Accuracy } from '../evaluate/vote.js';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function progress(enabled: boolean | undefined): ((done: number, total: number) => void) | undefined {
  if (enabled === false || !process.stderr.isTTY) return undefined;
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (now - last < 500 && done < total) return;
    last = now;
    process.stderr.write(`\rkNN: ${done}/${total} queries${done === total ? '\n' : ''}`);
  };
}

/** A kNN protocol's options (COOS-7, CyCLOPS) as runCoos7 / runCyclops take them, with progress and log. */
function knnRun(
  raw: Record<string, unknown>,
  schema: typeof coos7OptionsSchema | typeof cyclopsOptionsSchema,
  command: string,
) {
  const o = validateOptions(schema, optionValues(raw, schema), command);
  return {
    ...o,
    toolVersion: toolVersion(),
    knn: { threads: o.threads, onProgress: progress(o.progress) },
    log: (l: string) => process.stderr.write(`${l}\n`),
  };
}

function line(title: string, a: Accuracy | undefined): void {
  if (a) say(`  ${title.padEnd(8)} ${formatAccuracy(a)}`);
}

export function register(program: Command): void {
  const ev = program
    .command('evaluate')
    .description(
      "kNN transfer evaluation of features tables by the CytoImageNet paper's protocols (BBBC021 NSC/NSCB, COOS-7, CyCLOPS), with 95 % intervals; results.json, per_class.csv and table2.md in --out.",
    );

  addOptions(
    ev
      .command('bbbc021')
      .description(
        'BBBC021 MOA: per-treatment mean profiles, 1-NN cosine excluding the same compound (NSC) and also the same batch (NSCB)',
      ),
    bbbc021OptionsSchema,
  ).action(
    runAction(async (raw: Record<string, unknown>) => {
      const { result, written } = await runBbbc021({
        ...(optionValues(raw, bbbc021OptionsSchema) as { metadata: string; features: string[]; out: string }),
        toolVersion: toolVersion(),
        log: (l) => process.stderr.write(`${l}\n`),
      });
      say(
        `BBBC021: ${result.counts.treatments} treatments, ${result.counts.compounds} compounds, ${result.counts.moas} MOAs, ${result.counts.images} images (${result.counts.ignoredRows} rows without MOA ignored)`,
      );
      if (result.counts.missingImages > 0) {
        const taking = result.counts.images + result.counts.missingImages;
        say(
          `  ${result.counts.missingImages} of the ${taking} labelled image sets have no features (listed under withoutFeatures in results.json)`,
        );
      }
      line('NSC', result.nsc);
      line('NSCB', result.nscb);
      if (result.excluded.nscb.length)
        say(
          `  NSCB leaves out ${result.excluded.nscb.length} treatments no eligible neighbour could classify (see results.json)`,
        );
      say(`wrote ${written.join(', ')}`);
    }),
  );

  const coos7 = ev
    .command('coos7')
    .description(
      'COOS-7: standardise with the training split, 11-NN Euclidean fit on train, accuracy on test1..test4 and per class',
    );
  addOptions(coos7, coos7OptionsSchema).action(
    runAction(async (raw: Record<string, unknown>) => {
      const { result, written } = await runCoos7(knnRun(raw, coos7OptionsSchema, 'evaluate coos7'));
      say(
        `COOS-7: ${Object.entries(result.counts)
          .map(([s, n]) => `${s} ${n}`)
          .join(', ')}; ${result.k}-NN in ${result.knn.seconds.toFixed(1)} s`,
      );
      for (const s of ['test1', 'test2', 'test3', 'test4'] as const) line(s, result[s]);
      say(`wrote ${written.join(', ')}`);
    }),
  );

  const cyclops = ev
    .command('cyclops')
    .description(
      'CyCLOPS: standardise over the whole set, leave-one-out 11-NN Euclidean (DEAD and GHOST dropped, SPINDLEPOLE counted as SPINDLE)',
    );
  addOptions(cyclops, cyclopsOptionsSchema).action(
    runAction(async (raw: Record<string, unknown>) => {
      const { result, written } = await runCyclops(knnRun(raw, cyclopsOptionsSchema, 'evaluate cyclops'));
      say(
        `CyCLOPS: ${result.counts.cells} cells, ${result.counts.classes} classes (${result.counts.droppedRows} DEAD/GHOST rows dropped); leave-one-out ${result.k}-NN in ${result.knn.seconds.toFixed(1)} s`,
      );
      line('LOO', result.loo);
      say(`wrote ${written.join(', ')}`);
    }),
  );

  ev.command('table')
    .description('Gather several evaluation folders into one Table 2 (one column per folder)')
    .argument('<dirs...>', 'folders written by evaluate bbbc021/coos7/cyclops')
    .requiredOption('--out <dir>', 'folder for table2.md')
    .action(
      runAction(async (dirs: string[], raw: Record<string, unknown>) => {
        const o = z.object({ out: z.string().min(1) }).parse(raw);
        const columns = [];
        for (const d of dirs) {
          const results = await readResults(d);
          const entries = Object.values(results);
          if (!entries.length) throw new UserError('no results.json here', { file: d });
          columns.push({ name: [...new Set(entries.map((e) => e!.name))].join(' / '), results });
        }
        const path = resolveInside(o.out, 'table2.md');
        await writeFileAtomic(path, renderTable2(columns));
        say(`wrote ${path}`);
      }),
    );
}
