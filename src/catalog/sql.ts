// Quoting for the few places where SQL text is assembled from names and paths.

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A quoted SQL identifier (column names such as "Characteristics [Organism]"). */
export function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
