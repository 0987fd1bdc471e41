// OUT/README.md, the dataset card: what is in the release, where it came from (each source's
// licence and citation), and exactly how it was built. No dates, durations, paths or worker
// counts: the card is part of the release and must be byte-identical across identical builds.
import type { SourceInfo } from './read-inputs.js';
import type { ReleaseCounts } from './release-tables.js';
import type { BuildRecord, Generation } from './out-folder.js';
import type { ReleaseStats } from './release-plan.js';
import type { DroppedLabel, ReleaseFormat } from './types.js';
import type { ShardInfo } from './webdataset.js';
import { loadRegistry } from '../sources/dataset-registry.js';

export interface CardInput {
  record: BuildRecord;
  counts: ReleaseCounts;
  stats: ReleaseStats;
  labels: number;
  dropped: DroppedLabel[];
  sources: SourceInfo[];
  catalogName: string;
  labelsName: string;
  format: ReleaseFormat;
  /** `build --keep-channels`: each channel also released as a 16-bit PNG. */
  keepChannels?: boolean;
  shards: ShardInfo[];
  rejects: number;
  /** A release grown by incremental builds: every generation, oldest first (docs/build.md "Growing a release"). */
  generations?: Generation[];
}

const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
const n = (x: number): string => x.toLocaleString('en-US');

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

export function buildCommand(c: CardInput): string {
  const o = c.record.options;
  return `cytoimagenet build --catalog ${c.catalogName} --labels ${c.labelsName} --out OUT --seed ${o.seed} --min-release ${o.minRelease} --format ${c.format}${c.keepChannels ? ' --keep-channels' : ''}`;
}

export function datasetCard(c: CardInput): string {
  const o = c.record.options;
  const used = new Set(c.counts.bySource.map((s) => s.name));
  const sources = c.sources.filter((s) => used.has(s.dir_name));
  const out: string[] = [];
  out.push('# CytoImageNet release', '');
  out.push(
    `${n(c.stats.images)} images (${n(c.stats.crops)} crops, ${n(c.stats.images - c.stats.crops)} whole images) in ${n(c.labels)} labels, ` +
      `from ${n(sources.length)} source dataset(s). Split: ${n(c.counts.train)} train / ${n(c.counts.val)} val.`,
    '',
  );
  out.push('## Layout', '');
  out.push(
    '- `<dir_label>/<dir_label>-<i in binary>.png`: 8-bit grayscale PNGs, one folder per label. `i` runs 0..N−1 in the label, zero-padded to the width of N−1 in binary.',
    '- `metadata.csv`, `metadata.parquet`: one row per image. Columns: ' +
      '`label, category, database, name, dir_name, path, filename, idx, organism, cell_type, cell_visible, phenotype, compound, sirna, gene, microscopy, channels, crop, scaling, x_min, x_max, y_min, y_max, dset, source_files, source_idx`. ' +
      '`path` is the folder relative to this file; `idx` is unique (crops: `<source idx>-crop_<j>`); `source_idx` is the catalog row and `source_files` its channel files.',
    '- `rejects.csv`: every selected input that is not in the release, with the stage and the reason.',
    '- `build.json`: the build fingerprint (catalog, labels, options, tool version).',
  );
  if (c.keepChannels) {
    out.push(
      "- `<dir_label>/channels/<stem>_c<k>.png`: each channel of the image, `k` from 0 in merge order, as a 16-bit grayscale PNG of the same window, normalised to its own 0.1th–99.9th percentiles over that window and scaled to 0–65535. `metadata` adds `channel_names` (the source's channel names) and `channel_files` (these files), both `|`-joined.",
    );
  }
  if (c.generations) {
    out.push(
      "- Grown release: a label that gained images in generation g ≥ 1 holds them as `<dir_label>-g<g>-<i in binary>.png`, `i` numbered over that generation's new images of the label (padded the same way), so no earlier file was renamed; a label first released in generation g has plain names.",
    );
  }
  if (c.format === 'webdataset') {
    out.push(
      `- \`shards/\`: WebDataset tar shards (\`<key>.png\` + \`<key>.json\`), listed with sizes and sha256 in \`shards/index.json\` (${c.shards.length} shards).`,
    );
  }
  out.push('');
  out.push('## Labels per category', '');
  out.push(
    table(
      ['category', 'labels', 'images'],
      c.counts.byCategory.map((r) => [r.name, n(r.labels), n(r.images)]),
    ),
    '',
  );
  out.push('## Images per database', '');
  out.push(
    table(
      ['database', 'labels', 'images'],
      c.counts.byDatabase.map((r) => [r.name, n(r.labels), n(r.images)]),
    ),
    '',
  );
  out.push('## Images per source', '');
  out.push(
    table(
      ['source', 'dataset', 'database', 'labels', 'images'],
      c.counts.bySource.map((r) => [r.name, r.dataset, r.database, n(r.labels), n(r.images)]),
    ),
    '',
  );
  out.push('## Sources: licences and citations', '');
  out.push("Use of each image is governed by its source's licence; cite the sources you use.", '');
  // A source of the shipped registry (docs/sources.md) adds its homepage, and its licence and
  // citation where the catalog has none; other sources' entries are as before.
  const registry = new Map(loadRegistry().map((e) => [e.dir_name, e]));
  for (const s of sources) {
    const e = registry.get(s.dir_name);
    out.push(`### ${s.dir_name}${s.name ? `: ${s.name}` : ''}`, '');
    out.push(`- database: ${s.database ?? 'not recorded'}`);
    out.push(`- licence: ${s.licence ?? e?.licence ?? 'not recorded in the catalog'}`);
    out.push(`- citation: ${s.citation ?? e?.citation ?? 'not recorded in the catalog'}`);
    if (e) out.push(`- homepage: ${e.homepage}`);
    out.push('');
  }
  out.push('## How it was built', '');
  out.push('```sh', buildCommand(c), '```', '');
  out.push(
    table(
      ['setting', 'value'],
      [
        ['seed', String(o.seed)],
        ['min-release (labels with fewer images are dropped)', String(o.minRelease)],
        ['format', c.format],
        ...(c.keepChannels ? [['channels kept (16-bit PNG per channel)', 'yes']] : []),
        ['validation fraction (stratified by label, whole source images)', String(o.valFraction)],
        ['threshold (from labels.json)', String(o.threshold)],
        ['cap per label, applied again after cropping (from labels.json)', String(o.cap)],
        ['presample (from labels.json)', String(o.presample)],
        ['catalog fingerprint', c.record.catalogFingerprint],
        ['labels fingerprint (sha256)', c.record.labelsFingerprint],
        ['build fingerprint', c.record.fingerprint],
        ['tool version', `cytoimagenet ${c.record.toolVersion}`],
      ],
    ),
    '',
  );
  if (c.generations) {
    out.push('## Generations', '');
    out.push(
      'This release grew by incremental builds. Each generation added images from labels extended by `cytoimagenet labels --extend`; earlier files were kept as they were.',
      '',
    );
    out.push(
      table(
        [
          'generation',
          'labels digest (sha256)',
          'catalog fingerprint',
          'images added',
          'new labels',
          'labels grown',
          'tool version',
        ],
        c.generations.map((g) => [
          String(g.generation),
          g.labelsFingerprint,
          g.catalogFingerprint,
          n(g.images ?? 0),
          n(g.newLabels ?? 0),
          n(g.grownLabels ?? 0),
          g.toolVersion,
        ]),
      ),
      '',
    );
  }
  out.push(
    'Per image: each channel file is decoded at full bit depth, normalised to its 0.1th–99.9th percentiles, the channels are averaged, ' +
      'and whole-image QC rejects unreadable, uniform, binary-mask and dim images. Images of at least 140×140 px are replaced by 1–4 crops ' +
      '(by label size), each re-normalised and kept only if 1 < mean < 254 and its 75th percentile ≠ 0; if no crop passes, the whole image is kept. ' +
      'Each label is then capped again, removing crops of images that have several first. Every random choice is seeded: the worker count does not change a byte.',
    '',
  );
  out.push('## Quality control', '');
  out.push(`- crops failing crop QC: ${n(c.stats.cropsFailedQc)}`);
  out.push(`- images removed by the cap: ${n(c.stats.capped)}`);
  out.push(`- rejected inputs (rejects.csv): ${n(c.rejects)}`);
  const reasons = Object.entries(c.stats.rejectsByReason).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [reason, count] of reasons) out.push(`  - ${reason}: ${n(count)}`);
  out.push(`- labels dropped below min-release: ${n(c.dropped.length)}`);
  for (const d of c.dropped) out.push(`  - ${d.label} (${d.category}): ${n(d.images)} images`);
  out.push('');
  return out.join('\n');
}
