/** Whole-shard statements: statistics, and deleting a database's data. */
import { clearHistory } from "./history";

/** Live items (unexpired at `now`), documents and identities. */
export function counts(sql: SqlStorage, now: number): { items: number; documents: number; identities: number } {
  return sql
    .exec<{ items: number; documents: number; identities: number }>(
      `SELECT (SELECT COUNT(*) FROM items WHERE expires_at IS NULL OR expires_at > ?) AS items,
                    (SELECT COUNT(*) FROM docs) AS documents,
                    (SELECT COUNT(*) FROM identities) AS identities`,
      now,
    )
    .one();
}

/**
 * Whether the shard holds anything a key's routing finds: items (expired ones too, until swept),
 * documents, identities, or transactions in flight.
 */
export function holdsAnything(sql: SqlStorage): boolean {
  const row = sql
    .exec<{ held: number }>(
      `SELECT EXISTS (SELECT 1 FROM items) OR EXISTS (SELECT 1 FROM docs) OR EXISTS (SELECT 1 FROM identities)
              OR EXISTS (SELECT 1 FROM prepared) OR EXISTS (SELECT 1 FROM locks) AS held`,
    )
    .one();
  return row.held === 1;
}

/** Deletes every row of the database's data. The `counters` table stays (see ShardObject.destroy). */
export function deleteAll(sql: SqlStorage): void {
  for (const table of ["items", "docs", "prepared", "locks", "outcomes", "requests", "identities"]) sql.exec(`DELETE FROM ${table}`);
  clearHistory(sql);
}
