// The evaluate stage's public surface. The datasets' layouts it scores live in src/datasets/
// (re-exported here for callers of evaluate).
export * from '../datasets/index.js';
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
