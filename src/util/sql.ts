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
 */
export function trimmedSql(x: string): string {
  return `CASE WHEN starts_with(${x}, ' ') OR ends_with(${x}, ' ') OR strlen(${x}) <> length(${x}) THEN nullif(trim(${x}), '') ELSE nullif(${x}, '') END`;
}
