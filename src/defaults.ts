// The spec's constants, in one place. "The spec" is the design document; "the original" is the
// original CytoImageNet code, where a value comes from it rather than from the spec's text.

/** Label categories, in the spec's order ("Weak Label Assignment"). */
export const CATEGORIES = ['organism', 'cell_type', 'cell_visible', 'phenotype', 'compound', 'gene', 'sirna'] as const;
export type Category = (typeof CATEGORIES)[number];

export const LABELS = {
  /** Minimum label count to be a candidate (the spec; the original's selection loop). */
  threshold: 287,
  /** Images per label (the spec: "~1000 images per class"). */
  cap: 1000,
  /** Pre-sampling target for labels with more rows (the spec's step 4). */
  presample: 10_000,
  /** Random seed of a run when none is given. */
  seed: 0,
} as const;

export const IMAGING = {
  /** Percentiles for normalisation (the spec: "0.1th and 99.9th percentile"). */
  lowPercentile: 0.1,
  highPercentile: 99.9,
  /** Minimum crop side in pixels (the original's get_slicers(H, W, k, 70, 70)). */
  minCropSide: 70,
  /** Crop scales (the original's upsampling). */
  cropScales: [1 / 2, 1 / 4, 1 / 8, 1 / 16] as readonly number[],
  /** Crop QC: keep if lowMean < mean < highMean on 0–255 and p75 != 0 (the original's upsampling). */
  cropMeanLow: 1,
  cropMeanHigh: 254,
  /** Refuse to decode images with more pixels than this (decompression bombs). */
  maxPixels: 268_402_689,
  /**
   * An image set with at least this many pixels (summed over its files) is a large decode: a
   * build's workers hold at most `largeDecodes` of them at once (src/release/worker-pool.ts).
   * Sets this large are also read in bands (stripPixels below), which bounds what one worker holds;
   * a set the strip path cannot stream is decoded whole, at 6–17 bytes a pixel at its peak.
   */
  largeDecodePixels: 40_000_000,
  largeDecodes: 1,
  /**
   * The per-image executor (src/imaging/image-set.ts) reads an image set of at least this many
   * pixels (summed over its local files) a band of rows at a time from spill files on disk, instead
   * of decoding it into memory (docs/imaging.md "Very large images").
   */
  stripPixels: 40_000_000,
  /** Bytes of decoded samples per file in one band of the strip path. */
  stripBytes: 8 * 1024 * 1024,
  /** PNG zlib level (libvips default). */
  pngCompression: 6,
} as const;

export const BUILD = {
  /** Labels released only with at least this many images (the original's third post-pass). */
  minRelease: 500,
  /** Validation fraction (the original's train_test_split test_size=0.1). */
  valFraction: 0.1,
  /** Image sets per queue job in a distributed build (docs/build.md "Scaling out"). */
  shardSize: 64,
  /** Seconds one image set may take on a worker before it is stopped (retried once, then rejected
   * `timeout`). Generous: the largest images allowed take well under a minute. */
  jobTimeoutSeconds: 900,
  /**
   * A build worker whose resident memory passes this many MB finishes the jobs it holds and is
   * replaced by a fresh process. sharp 0.35.5's toUint8Array() never frees libvips's output buffer
   * (about one decoded image set per job), and build workers keep toUint8Array for speed
   * (src/imaging/sharp-output.ts, docs/imaging.md): replacing the process is what bounds a long
   * build's memory. Other processes use toBuffer(), which frees.
   */
  workerRetireMb: 1536,
} as const;

export const TRAIN = {
  /** Adam's learning rate, batch size, input side and epochs: the original's training script. */
  learningRate: 1e-3,
  batchSize: 64,
  size: 224,
  epochs: 24,
  /** Seed of the init, shuffling, rotations and dropout. */
  seed: 0,
  /** Batches loaded ahead of the step. */
  prefetch: 1,
  /** Newest checkpoints kept. */
  keepCheckpoints: 2,
  /** Also checkpoint every this many steps inside an epoch (0: epoch ends only). */
  checkpointEvery: 1000,
} as const;

export const FEATURES = {
  /** Images per onnxruntime call. */
  batchSize: 16,
} as const;

export const EVALUATE = {
  coos7K: 11,
  cyclopsK: 11,
  bbbc021K: 1,
} as const;
