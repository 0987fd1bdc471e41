// The evaluate stage's public surface (the features stage imports the folder adapters from here).
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
export { runBbbc021, runCoos7, runCyclops } from './run.js';
export { evaluateBbbc021, bbbc021Treatments, BBBC021_EXPECTED } from './bbbc021.js';
export type { Bbbc021Result, Bbbc021Scaler, Treatment } from './bbbc021.js';
export { evaluateCoos7 } from './coos7.js';
export type { Coos7Result, Coos7Scaler } from './coos7.js';
export { evaluateCyclops } from './cyclops.js';
export type { CyclopsResult, CyclopsScaler } from './cyclops.js';
export { readFeaturesTable } from './features-table.js';
export type { FeaturesTable, KeySpec } from './features-table.js';
export { exactKnn, bruteForceKnn } from './knn.js';
export type { KnnResult } from './knn.js';
export { fitScaler, applyScaler } from './scaler.js';
export { vote, accuracy } from './vote.js';
export type { Accuracy } from './vote.js';
export { renderTable2, readResults } from './report.js';
