/** Storage of the shard's index counter (the `counters` row 'index'). */

export function readIndex(sql: SqlStorage): number {
  return sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = 'index'").one().value;
}

export function writeIndex(sql: SqlStorage, value: number): void {
  sql.exec("UPDATE counters SET value = ? WHERE name = 'index'", value);
}
