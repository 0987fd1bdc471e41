// The report's options: one schema for the `report` command's flags and help (src/cli/options.ts)
// and for runReport()'s validation. Below it, the report's fixed sizes: the original's figures
// (9×9 grids of 112×112 tiles, UMAPs of 20 random labels) and the bounds that keep a 1,000-label
// report quick.
import { z } from 'zod';
import { flag, integer, requiredText } from '../util/zod-options.js';

export const reportOptionsSchema = z
  .object({
    release: flag(requiredText('--release needs the release folder'), {
      flag: '--release <dir>',
      help: 'a release folder written by cytoimagenet build',
      required: true,
    }),
    out: flag(requiredText('--out needs a folder'), {
      flag: '--out <dir>',
      help: 'folder for the site (new, empty, or an earlier report)',
      required: true,
    }),
    /** Model for the UMAP features: an .onnx or Keras .h5 file, or random:SEED (default random:<seed>). */
    model: flag(z.string().min(1, '--model needs a file or random:SEED').optional(), {
      flag: '--model <file|random:SEED>',
      help: 'model for the UMAP features: .onnx, Keras .h5, or random:SEED (default random:<seed>)',
    }),
    seed: flag(integer('--seed', { min: 0 }).default(0), {
      flag: '--seed <n>',
      help: 'seed for every sampled image and the UMAP',
    }),
    /** The catalog the release was built from: finds relative source files and each reject's source. */
    catalog: flag(z.string().min(1, '--catalog needs a file').optional(), {
      flag: '--catalog <file>',
      help: "the catalog the release was built from: finds relative source files (thumbnails, UMAP whole images) and each reject's source",
    }),
    /** false leaves the UMAP out (the fastest report; the index then has no UMAP section). */
    umap: flag(z.boolean({ error: '--no-umap takes no value' }).default(true), {
      flag: '--no-umap',
      help: 'leave out the UMAP (no model is run)',
    }),
    /** Progress bar on stderr (default: when stderr is a terminal). */
    progress: flag(z.boolean({ error: '--no-progress takes no value' }).optional(), {
      flag: '--no-progress',
      help: 'no progress bar',
    }),
    /** Labels processed at once (API only; default: the cores, at most 4). */
    concurrency: integer('concurrency', { min: 1 }).optional(),
  })
  .strict();

export type ReportOptionsInput = z.input<typeof reportOptionsSchema>;

export const REPORT = {
  /** Grid side per label page (9×9 = 81 images). */
  gridCols: 9,
  /** Tile side of the label grid, as in the original's class grids. */
  tile: 112,
  /** Side of a source thumbnail (the crop box drawn on it). */
  thumb: 128,
  /** Side of a mosaic tile (one per label). */
  mosaicTile: 64,
  /** Labels in the UMAP figure. */
  umapLabels: 20,
  /** Source image sets sampled per UMAP label; their release images (crops) come with them. */
  umapSourcesPerLabel: 8,
  /**
   * Images are resized to this square for the UMAP features: the paper's 224 costs 3× the
   * inference for a figure that only shows how the labels spread.
   */
  umapImageSize: 128,
  /** onnxruntime threads for the UMAP features (leaves a core to decoding). */
  modelThreads: 2,
} as const;
