// Quoting for the few places where SQL text is assembled from names and paths (the one sqlString).

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A quoted SQL identifier (column names such as "Characteristics [Organism]"). */
export function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/**
 * nullif(trim(x), '') at a fraction of its cost: DuckDB's trim strips only ' ' and non-ASCII
 * spaces, so a value that neither starts nor ends with ' ' and is all ASCII is returned as it is
 * instead of being copied (trim on every cell of a multi-million-row table costs seconds).
 * `ascii`: the values are known to be ASCII (sources/table-reader.ts), so counting characters,
 * most of this expression's cost, is skipped.
 */
export function trimmedSql(x: string, ascii = false): string {
  const padded = `starts_with(${x}, ' ') OR ends_with(${x}, ' ')${ascii ? '' : ` OR strlen(${x}) <> length(${x})`}`;
  return `CASE WHEN ${padded} THEN nullif(trim(${x}), '') ELSE nullif(${x}, '') END`;
}
