// `cytoimagenet standardize FILE... --out PNG [--page N]`: merge the channel files of one image
// set into one percentile-normalised gray PNG. Anything that cannot be standardised exits
// non-zero with the file and the reason, and writes nothing.
import type { Command } from 'commander';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { runAction } from './run-action.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { IMAGING } from '../defaults.js';
import { integer } from '../util/zod-options.js';
import { standardizeImageSet, encodePng } from '../imaging/index.js';

const Options = z.object({
  out: z.string().min(1, '--out is required'),
  page: integer('--page', { min: 0 }).default(0),
  bitDepth: z
    .enum(['8', '16'])
    .default('8')
    .transform((v) => (v === '16' ? 16 : 8) as 8 | 16),
  compression: integer('--compression', { min: 0, max: 9 }).default(IMAGING.pngCompression),
  maxPixels: integer('--max-pixels', { min: 1 }).default(IMAGING.maxPixels),
});

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return resolve(a) === resolve(b);
  }
}

export function register(program: Command): void {
  program
    .command('standardize')
    .description('Merge the channel files of one image set into one percentile-normalised 8-bit gray PNG.')
    .argument(
      '<files...>',
      'channel files of one image (PNG, TIFF, FLEX, JPEG, BMP, DIB), http(s):// or s3:// URLs, or an OME-Zarr image (…/x.ome.zarr, with #c= #z= #t= #level= selectors); see docs/imaging.md',
    )
    .requiredOption('--out <png>', 'output PNG (written atomically; never one of the inputs)')
    .option('--page <n>', 'page of multi-page TIFF/FLEX files, counted from 0', '0')
    .option('--bit-depth <8|16>', 'output bit depth', '8')
    .option('--compression <0-9>', 'PNG zlib level (lower is faster)', String(IMAGING.pngCompression))
    .option('--max-pixels <n>', 'refuse inputs with more pixels than this', String(IMAGING.maxPixels))
    .action(
      runAction(async (files: string[], raw: Record<string, unknown>) => {
        const opts = Options.parse(raw);
        const out = resolve(opts.out);
        const clash = files.find((f) => sameFile(f, out));
        if (clash)
          throw new UserError(
            'refusing to overwrite an input image with the output',
            { file: clash },
            'choose another --out',
          );
        const set = await standardizeImageSet(files, {
          page: opts.page,
          maxPixels: opts.maxPixels,
          bitDepth: opts.bitDepth,
        });
        if (set.qc.verdict === 'unreadable' || set.qc.verdict === 'uniform' || !set.output) {
          throw new UserError(`cannot standardise: ${set.qc.reason}`, { file: set.qc.file ?? files[0] });
        }
        if (set.qc.verdict !== 'ok') process.stderr.write(`cytoimagenet: warning: ${set.qc.reason}\n`);
        const png = await encodePng(set.output, set.width, set.height, { compression: opts.compression });
        await writeFileAtomic(out, png);
        const bounds = set.channels.map((c) => `${c.lo}..${c.hi}`).join(', ');
        process.stdout.write(
          `wrote ${out} (${set.width}×${set.height}, ${opts.bitDepth}-bit, ${set.channels.length} channel${set.channels.length === 1 ? '' : 's'}, lo..hi ${bounds}, qc ${set.qc.verdict})\n`,
        );
      }),
    );
}
