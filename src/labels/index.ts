// The labels stage's public surface, for the CLI, the demo and the build stage.
export { assignLabels, assignmentsCsv, LABELS_CSV_COLUMNS, LABELS_FILES } from './assign-labels.js';
export type { LabelRow, LabelsManifest, LabelsReport } from './assign-labels.js';
export { parseLabelsOptions } from './options.js';
export type { LabelsOptions, LabelsOptionsInput } from './options.js';
export { assignDirLabels, baseDirLabel, dirLabelKey } from './dir-label.js';
export { splitTokens, normalizeValue } from './tokens.js';
