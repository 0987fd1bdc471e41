// Quoting for the few places where SQL text is assembled from names and paths.

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A quoted SQL identifier (column names such as "Characteristics [Organism]"). */
export function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** NULL when empty, else a trimmed string literal. */
export function sqlStringOrNull(s: string | null | undefined): string {
  return s === null || s === undefined || s === '' ? 'NULL' : sqlString(s);
}

/** Expression that turns an empty or blank VARCHAR into NULL. */
export function nullIfBlank(expr: string): string {
  return `nullif(trim(${expr}), '')`;
}
