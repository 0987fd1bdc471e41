// The build's data, from plan to release. A job is one selected catalog row (one source image set);
// its result is what a worker made of it: staged PNGs (the whole image or its crops) or a reject.

export type ReleaseFormat = 'folders' | 'webdataset';

/** Where in the per-image path an input was rejected. */
export type RejectStage = 'read' | 'decode' | 'qc' | 'cap' | 'release';

export interface Job {
  /** Stable id of (label, category, idx); names the staged files. */
  key: string;
  idx: string;
  label: string;
  category: string;
  /** Absolute channel files, in channel order. */
  files: string[];
  /** Images the label has after assignment (drives the number of crops). */
  labelSize: number;
  cap: number;
  seed: number;
  /** Also stage each channel of every released window as a 16-bit PNG (`build --keep-channels`). */
  keepChannels?: boolean;
}

/** One image a worker staged: the whole (merged, normalised) image or one crop of it. */
export interface StagedSample {
  /** 0-based number among this job's samples. */
  j: number;
  crop: boolean;
  scaling: number;
  x_min: number | null;
  x_max: number | null;
  y_min: number | null;
  y_max: number | null;
  /** File name under the staging folder. */
  staged: string;
  /** With --keep-channels: the staged 16-bit PNG of each channel, in merge order. */
  channels?: string[];
}

export interface JobOk {
  key: string;
  ok: true;
  width: number;
  height: number;
  samples: StagedSample[];
  /** Crops planned and crops that failed crop QC (the whole image is kept if all fail). */
  cropsPlanned: number;
  cropsRejected: number;
}

export interface JobRejected {
  key: string;
  ok: false;
  stage: RejectStage;
  reason: string;
  detail: string;
}

export type JobResult = JobOk | JobRejected;

/** One image of the release, after cap, min-release and split. */
export interface ReleaseSample {
  label: string;
  category: string;
  dirLabel: string;
  /** Catalog idx of the source image set. */
  sourceIdx: string;
  /** Unique id in the release: the source idx, with `-crop_<j>` for crops (the original reused the source id for every crop). */
  idx: string;
  filename: string;
  dset: 'train' | 'val';
  sample: StagedSample;
  jobKey: string;
}

export interface RejectRow {
  idx: string;
  label: string;
  category: string;
  stage: RejectStage;
  reason: string;
  detail: string;
}

export interface ReleaseLabel {
  label: string;
  category: string;
  dirLabel: string;
  samples: ReleaseSample[];
}

export interface DroppedLabel {
  label: string;
  category: string;
  images: number;
}
