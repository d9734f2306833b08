/**
 * Storage of compare-exchange items (the `items` table). Synchronous statements, no decisions.
 * Every change is also recorded in the watch history (history.ts), in the same transaction.
 */
import { recordChange } from "./history";

export interface ItemRow extends Record<string, SqlStorageValue> {
  key: string;
  idx: number;
  value: string;
}

/** The live (unexpired at `now`) item of a lower-cased key, or null. */
export function readItem(sql: SqlStorage, key: string, now: number): ItemRow | null {
  return (
    sql
      .exec<ItemRow>("SELECT key, idx, value FROM items WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)", key, now)
      .toArray()[0] ?? null
  );
}

/** Creates or replaces a compare-exchange item. */
export function writeItem(sql: SqlStorage, key: string, index: number, json: string, expiresAt: number | null): void {
  recordChange(sql, "Put", key, index, json);
  sql.exec(
    `INSERT INTO items (key, idx, value, expires_at) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (key) DO UPDATE SET idx = ?2, value = ?3, expires_at = ?4`,
    key,
    index,
    json,
    expiresAt,
  );
}

/**
 * Removes an item, expired or not; `index` is the delete's. A row removed is a change (even an
 * expired one the alarm had not swept yet: a watcher saw its Put and must see it go).
 */
export function deleteItem(sql: SqlStorage, key: string, index: number): void {
  if (sql.exec("DELETE FROM items WHERE key = ? RETURNING key", key).toArray().length) recordChange(sql, "Delete", key, index, null);
}

/** When the stored row of a key expires (null: never, or no row), expired or not. */
export function itemExpiresAt(sql: SqlStorage, key: string): number | null {
  return sql.exec<{ e: number | null }>("SELECT expires_at AS e FROM items WHERE key = ?", key).toArray()[0]?.e ?? null;
}

/**
 * Keys and value sizes of live items in [`from`, `upper`) (`resume`: strictly after `from`), in
 * key order, at most `limit` (-1: all).
 */
export function listLiveKeys(
  sql: SqlStorage,
  from: string,
  upper: string | null,
  resume: boolean,
  now: number,
  limit: number,
): { key: string; bytes: number }[] {
  return sql
    .exec<{ key: string; bytes: number }>(
      `SELECT key, length(value) AS bytes FROM items
           WHERE key ${resume ? ">" : ">="} ?1 AND (?2 IS NULL OR key < ?2)
             AND (expires_at IS NULL OR expires_at > ?3)
           ORDER BY key LIMIT ?4`,
      from,
      upper,
      now,
      limit,
    )
    .toArray();
}
