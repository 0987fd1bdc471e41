// The report's fixed sizes: the original's figures (9×9 grids of 112×112 tiles, UMAPs of
// 20 random labels) and the bounds that keep a 1,000-label report quick.
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
