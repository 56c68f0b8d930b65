/**
 * Code-unit order, the same in both dialects (SQL ORDER BY on text would follow the
 * PostgreSQL database's collation): the stores sort listed rows with this in code.
 */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
