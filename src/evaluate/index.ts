// The evaluate stage's public surface (the features stage imports the folder adapters from here).
export { listCoos7, COOS7_SPLITS } from './coos7-folders.js';
export type { Coos7Cell, Coos7Split } from './coos7-folders.js';
export { listCyclops, cyclopsLabel, CYCLOPS_DROPPED, CYCLOPS_MERGED } from './cyclops-folders.js';
export type { CyclopsCell } from './cyclops-folders.js';
export { loadBbbc021ImageSets, treatmentKey, BBBC021_CONTROL, BBBC021_IMAGE_TABLE, BBBC021_MOA_TABLE } from './bbbc021-tables.js';
export type { Bbbc021ImageSet } from './bbbc021-tables.js';
