// Fusion (the paper's "Cyto+ImageNet" column): several features tables for the same images, joined
// on their key columns and concatenated column-wise. Standardisation is per column, so scaling the
// concatenation equals scaling each table and then concatenating.
import { UserError } from '../util/errors.js';
import { concatColumns, selectRows, type Matrix } from './matrix.js';

/** The rows of one table after the task has filtered them. */
export interface TableRows {
  file: string;
  /** Key values per row, in keyColumns order. */
  keys: string[][];
  /** keys[r] names the row at this line of the file (for messages). */
  lines: number[];
  matrix: Matrix;
}

const SEP = '\u0000';

/**
 * Join tables on keyColumns. When every table's keys are unique the join is by key (row order may
 * differ); otherwise (e.g. COOS-7's split,label) the tables must list the same keys in the same
 * order and are joined row by row. Every row must be in every table.
 */
export function fuseTables(tables: readonly TableRows[], keyColumns: readonly string[]): TableRows {
  if (tables.length === 0) throw new RangeError('fuseTables: no tables');
  if (tables.length === 1) return tables[0];
  const first = tables[0];
  const tupleOf = (t: TableRows, r: number): string => t.keys[r].join(SEP);
  const unique = tables.every((t) => new Set(t.keys.map((_, r) => tupleOf(t, r))).size === t.keys.length);
  const parts: Matrix[] = [first.matrix];
  for (const t of tables.slice(1)) {
    if (unique) {
      const rowOf = new Map<string, number>();
      t.keys.forEach((_, r) => rowOf.set(tupleOf(t, r), r));
      const order: number[] = [];
      for (let r = 0; r < first.keys.length; r++) {
        const at = rowOf.get(tupleOf(first, r));
        if (at === undefined) {
          throw new UserError(
            `the row '${first.keys[r].join(', ')}' of ${first.file} (line ${first.lines[r]}) is missing here`,
            { file: t.file, column: keyColumns.join(',') },
            'fused tables must hold features for the same images',
          );
        }
        order.push(at);
      }
      if (t.keys.length !== first.keys.length) {
        const want = new Set(first.keys.map((_, r) => tupleOf(first, r)));
        const extra = t.keys.findIndex((_, r) => !want.has(tupleOf(t, r)));
        throw new UserError(
          `the row '${t.keys[extra].join(', ')}' is not in ${first.file}`,
          { file: t.file, line: t.lines[extra], column: keyColumns.join(',') },
          'fused tables must hold features for the same images',
        );
      }
      parts.push(selectRows(t.matrix, order));
    } else {
      if (t.keys.length !== first.keys.length) {
        throw new UserError(
          `${t.keys.length} rows, but ${first.file} has ${first.keys.length}`,
          { file: t.file },
          'keys are not unique, so fused tables must list the same images in the same order',
        );
      }
      for (let r = 0; r < t.keys.length; r++) {
        for (let c = 0; c < keyColumns.length; c++) {
          if (t.keys[r][c] !== first.keys[r][c]) {
            throw new UserError(
              `'${t.keys[r][c]}' where ${first.file} (line ${first.lines[r]}) has '${first.keys[r][c]}'`,
              { file: t.file, line: t.lines[r], column: keyColumns[c] },
              'keys are not unique, so fused tables must list the same images in the same order (add an id column to join by key)',
            );
          }
        }
      }
      parts.push(t.matrix);
    }
  }
  return {
    file: tables.map((t) => t.file).join(' + '),
    keys: first.keys,
    lines: first.lines,
    matrix: concatColumns(parts),
  };
}
