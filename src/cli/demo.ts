// `cytoimagenet demo --out DIR`: the main job on a built-in synthetic corpus, every stage in order,
// with no server and no download. Each stage writes the same files its own command would. Its
// flags are the demo's options schema (src/sources/demo-options.ts), through src/cli/options.ts.
import type { Command } from 'commander';
import { resolve, join, relative } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { addOptions, optionValues } from './options.js';
import { runAction } from './run-action.js';
import { writeDemoCorpus, writeDemoCoos7 } from '../sources/demo-corpus.js';
import { demoOptionsSchema, type DemoOptionsInput } from '../sources/demo-options.js';
import { ingestSources } from '../catalog/ingest.js';
import { describeCatalog } from '../catalog/describe.js';
import { assignLabels } from '../labels/assign-labels.js';
import { buildRelease } from '../release/build-release.js';
import { runFeatures } from '../features/run-features.js';
import { runCoos7 } from '../evaluate/run.js';
import { runReport } from '../report/run-report.js';
import { EVALUATE } from '../defaults.js';
import { toolVersion } from '../util/tool-version.js';
import { validateOptions } from '../util/zod-options.js';

/** Sizes for a corpus of a few hundred images: the spec's rules, scaled down (the spec: 287/1000/10000/500). */
export const DEMO_OPTIONS = { threshold: 40, cap: 80, presample: 400, minRelease: 50 } as const;

export interface DemoResult {
  out: string;
  catalog: string;
  labels: string;
  release: string;
  card: string;
  /** The report's index.html. */
  report: string;
}

export async function runDemo(
  input: DemoOptionsInput,
  log: (line: string) => void = (l) => console.log(l),
): Promise<DemoResult> {
  const opts = validateOptions(demoOptionsSchema, input, 'demo');
  const out = resolve(opts.out);
  await mkdir(out, { recursive: true });
  const t0 = Date.now();
  const step = (name: string) => log(`\n== ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const show = (p: string) => relative(process.cwd(), p) || '.';

  step('sources: writing the synthetic corpus');
  const corpus = await writeDemoCorpus({ dir: join(out, 'sources'), seed: opts.seed });
  for (const [name, n] of Object.entries(corpus.counts)) log(`  ${name}: ${n} image sets`);

  step('catalog: ingest');
  const catalog = join(out, 'catalog.duckdb');
  const ingest = await ingestSources(corpus.configs, catalog);
  log(`  ${ingest.totalRows} rows in ${show(catalog)}`);
  await describeCatalog(catalog, join(out, 'describe'));
  log(`  per-category summary and charts in ${show(join(out, 'describe'))}`);

  step('labels: weak-label assignment');
  const labelsDir = join(out, 'labels');
  const labels = await assignLabels(catalog, labelsDir, {
    seed: opts.seed,
    threshold: DEMO_OPTIONS.threshold,
    cap: DEMO_OPTIONS.cap,
    presample: DEMO_OPTIONS.presample,
  });
  log(
    `  ${labels.labels} labels, ${labels.images} images assigned (threshold ${DEMO_OPTIONS.threshold}, cap ${DEMO_OPTIONS.cap})`,
  );
  for (const c of labels.perCategory) log(`    ${c.category}: ${c.labels} labels`);

  step('build: the release');
  const releaseDir = join(out, 'release');
  const build = await buildRelease({
    catalog,
    labels: labelsDir,
    out: releaseDir,
    seed: opts.seed,
    minRelease: DEMO_OPTIONS.minRelease,
    workers: opts.workers ?? Math.min(2, availableParallelism()),
    progress: opts.progress,
    log,
  });

  step('features → evaluate: the COOS-7 transfer protocol on a small synthetic COOS-7 layout');
  const coos7 = await writeDemoCoos7(join(out, 'sources', 'demo_coos7'), opts.seed);
  const featuresFile = join(out, 'features', 'coos7-random.parquet');
  const feats = await runFeatures({
    model: `random:${opts.seed}`,
    method: 'concat-norm',
    out: featuresFile,
    input: { coos7 },
    progress: false,
    log,
  });
  log(
    `  ${feats.sets} cells → ${feats.featureDim}-d features (EfficientNetB0, seeded random weights) in ${show(featuresFile)}`,
  );
  const evalDir = join(out, 'evaluate');
  const { result } = await runCoos7({
    features: [featuresFile],
    out: evalDir,
    k: EVALUATE.coos7K,
    scaler: 'standard',
    name: 'Random',
    toolVersion: toolVersion(),
    log,
  });
  if (result.test1) {
    const a = result.test1;
    log(
      `  11-NN accuracy on test1: ${(a.accuracy * 100).toFixed(1)} % ± ${(a.ci95 * 100).toFixed(1)} (${a.correct}/${a.total}); Table 2 in ${show(join(evalDir, 'table2.md'))}`,
    );
  }

  step('report: the release as a static site (charts, mosaic, UMAP, a page per label)');
  const site = await runReport({
    release: releaseDir,
    out: join(out, 'report'),
    catalog,
    seed: opts.seed,
    progress: opts.progress,
    log,
  });
  log(`  ${site.labels} label pages; open ${site.index}`);

  step('done');
  log(`  release:      ${show(releaseDir)}  (${build.images} images in ${build.labels} labels)`);
  log(`  dataset card: ${show(build.card)}`);
  log(`  metadata:     ${show(build.metadataCsv)}`);
  log(`  evaluation:   ${show(join(evalDir, 'results.json'))}`);
  log(`  report:       ${site.index}`);
  return { out, catalog, labels: labelsDir, release: releaseDir, card: build.card, report: site.index };
}

export function register(program: Command): void {
  addOptions(program.command('demo'), demoOptionsSchema)
    .description(
      'write a small synthetic multi-source corpus and run every stage on it (ingest → describe → labels → build → features → evaluate → report)',
    )
    .action(
      runAction(async (raw: Record<string, unknown>) => {
        await runDemo(optionValues(raw, demoOptionsSchema));
      }),
    );
}
