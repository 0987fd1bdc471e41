// A release of the demo corpus for the report tests, built like `cytoimagenet demo` does but with
// a cap of 100 images per label, so labels have the 81 images a label page shows.
import { join } from 'node:path';
import { writeDemoCorpus } from '../../src/sources/demo-corpus.js';
import { ingestSources } from '../../src/catalog/ingest.js';
import { assignLabels } from '../../src/labels/assign-labels.js';
import { buildRelease } from '../../src/release/build-release.js';

export interface DemoRelease {
  catalog: string;
  release: string;
}

export async function makeDemoRelease(dir: string): Promise<DemoRelease> {
  const corpus = await writeDemoCorpus({ dir: join(dir, 'sources'), seed: 0 });
  const catalog = join(dir, 'catalog.duckdb');
  await ingestSources(corpus.configs, catalog);
  const labels = join(dir, 'labels');
  await assignLabels(catalog, labels, { seed: 0, threshold: 40, cap: 100, presample: 400 });
  const release = join(dir, 'release');
  await buildRelease({
    catalog,
    labels,
    out: release,
    seed: 0,
    minRelease: 50,
    workers: 2,
    progress: false,
    log: () => undefined,
  });
  return { catalog, release };
}
