// The evaluation datasets' layouts (COOS-7 and CyCLOPS folders, BBBC021's tables): which image
// files make up each cell or image set, and its label. Both features (to extract from them) and
// evaluate (to score them) read them here; this stage imports only util.
export { listCoos7, COOS7_SPLITS } from './coos7-folders.js';
export type { Coos7Cell, Coos7Split } from './coos7-folders.js';
export { listCyclops, cyclopsLabel, CYCLOPS_DROPPED, CYCLOPS_MERGED } from './cyclops-folders.js';
export type { CyclopsCell } from './cyclops-folders.js';
export {
  loadBbbc021ImageSets,
  treatmentKey,
  BBBC021_CONTROL,
  BBBC021_IMAGE_TABLE,
  BBBC021_MOA_TABLE,
} from './bbbc021-tables.js';
export type { Bbbc021ImageSet } from './bbbc021-tables.js';
