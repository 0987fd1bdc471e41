// The data types every imaging function passes around. Pixels stay at their stored bit depth until
// normalisation; nothing here is 8-bit unless the file was.

/** Typed arrays a decoder may return, interleaved by channel (pixel-major). */
export type SampleArray = Uint8Array | Uint16Array | Float32Array;

export type SampleFormat = 'uint' | 'float';

/** Container formats we can read. FLEX is TIFF bytes with PerkinElmer XML. */
export type ImageFormat = 'png' | 'tiff' | 'jpeg' | 'bmp' | 'flex' | 'ome-zarr' | 'other';

/** One decoded page: palette already expanded, channels interleaved. */
export interface DecodedImage {
  width: number;
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (after palette expansion). */
  channels: number;
  /** Whether the last channel is alpha (ignored by toGray). */
  hasAlpha: boolean;
  bitDepth: 8 | 16 | 32;
  sampleFormat: SampleFormat;
  data: SampleArray;
  /**
   * Number of pages (IFDs) in the file; 1 for single-image formats. For a remote TIFF page read by
   * byte ranges, the directories after the page read are counted only where already fetched, so
   * this is a lower bound there (src/imaging/tiff-ranges.ts).
   */
  pages: number;
  /** The page that was decoded (0-based). */
  page: number;
  format: ImageFormat;
  /** Which library produced the pixels ('sharp', 'utif2', 'fast-bmp'). */
  decoder: string;
}

/**
 * A single-channel image. For integer inputs `data` holds integer sums of `divisor` channels
 * (divisor 3 for RGB), so the gray value of pixel i is data[i] / divisor exactly, and percentiles
 * can use a histogram. Float inputs use the same convention with float sums.
 */
export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array | Uint16Array | Uint32Array | Float32Array | Float64Array;
  /** Number of colour channels summed (1, 2 or 3): gray value = data[i] / divisor. */
  divisor: number;
  /** True when data holds integers (histogram percentiles apply). */
  integer: boolean;
  /** Largest possible value of data[i] for integer data (255, 765, 65535, 196605); NaN for float. */
  maxCode: number;
}

/** A normalised image: values in [0, 1], or all 0 when the image is uniform. */
export interface NormalizedImage {
  width: number;
  height: number;
  data: Float64Array;
  /** 0.1th percentile of the gray values (on the gray scale, after the divisor). */
  lo: number;
  /** 99.9th percentile. */
  hi: number;
  /** hi == lo: nothing to normalise (QC verdict "uniform"). */
  uniform: boolean;
}

/** A crop window, bounds inclusive-exclusive like the original's slicing img[y_min:y_max, x_min:x_max]. */
export interface CropWindow {
  x_min: number;
  x_max: number;
  y_min: number;
  y_max: number;
  /** The scale (1/2, 1/4, 1/8 or 1/16) relative to the full image side. */
  scale: number;
  /** Quadrant index 0..3 in row-major order (top-left, top-right, bottom-left, bottom-right). */
  quadrant: number;
}

/** 'ok', 'unreadable', or the kind of the QC rule that failed (src/imaging/qc.ts; a new rule may add one). */
export type QcVerdictKind = 'ok' | 'unreadable' | 'uniform' | 'binary' | 'dim' | (string & {});

export interface QcVerdict {
  verdict: QcVerdictKind;
  /** Why, in words a user can act on ('' when ok). */
  reason: string;
  /** The input file the verdict is about, when one file is to blame. */
  file?: string;
  /** The failed rule's reject reason for a release (e.g. 'binary-mask'); absent when ok or unreadable. */
  reject?: string;
}
