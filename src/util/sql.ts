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
  return `CASE WHEN ${paddedSql(x, ascii)} THEN nullif(trim(${x}), '') ELSE nullif(${x}, '') END`;
}

/**
 * True where DuckDB's trim may change x: it starts or ends with ' ', or (unless the values are
 * known to be `ascii`) holds other characters, among which non-ASCII spaces. With `x = ''` added,
 * exactly where trimmedSql(x) differs from x.
 */
export function paddedSql(x: string, ascii = false): string {
  return `starts_with(${x}, ' ') OR ends_with(${x}, ' ')${ascii ? '' : ` OR strlen(${x}) <> length(${x})`}`;
}
