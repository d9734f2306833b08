/**
 * The alarm's statements: expired items and old request-log and outcome entries, deleted in
 * bounded batches, and the earliest instant any of them (or a prepare lock) needs the alarm.
 */
import { ITEM_LOCK_PREFIX } from "../../../core/lock-keys";
import { recordChange } from "./history";

/**
 * Deletes up to `batch` items expired at `now`, earliest first; returns them, each with the index
 * its expiry gets from `nextIndex` (an expiry is a change of its own, after the item's Put).
 * Locked items wait for their transaction's decision before anything removes them.
 */
export function sweepExpiredItems(sql: SqlStorage, now: number, batch: number, nextIndex: () => number): { key: string; idx: number }[] {
  const removed = sql
    .exec<{ key: string }>(
      `DELETE FROM items WHERE key IN (
             SELECT key FROM items WHERE expires_at <= ?1
               AND NOT EXISTS (SELECT 1 FROM locks WHERE lock_key = '${ITEM_LOCK_PREFIX}' || items.key)
             ORDER BY expires_at LIMIT ?2)
           RETURNING key`,
      now,
      batch,
    )
    .toArray();
  return removed.map(({ key }) => {
    const idx = nextIndex();
    recordChange(sql, "Expire", key, idx, null);
    return { key, idx };
  });
}

/** Deletes up to `batch` request-log entries logged at or before `before`; true if the batch was full. */
export function sweepRequests(sql: SqlStorage, before: number, batch: number): boolean {
  return (
    sql.exec("DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE at <= ?1 ORDER BY at LIMIT ?2)", before, batch).rowsWritten >=
    batch
  );
}

/** Deletes up to `batch` outcomes recorded at or before `before`; true if the batch was full. */
export function sweepOutcomes(sql: SqlStorage, before: number, batch: number): boolean {
  return (
    sql.exec("DELETE FROM outcomes WHERE txn_id IN (SELECT txn_id FROM outcomes WHERE at <= ?1 ORDER BY at LIMIT ?2)", before, batch)
      .rowsWritten >= batch
  );
}

/**
 * The oldest prepare, the earliest expiry, the oldest request-log entry, the oldest outcome and
 * the oldest change of the watch history.
 */
export function oldestEntries(sql: SqlStorage): {
  lock: number | null;
  expiry: number | null;
  request: number | null;
  outcome: number | null;
  history: number | null;
} {
  return sql
    .exec<{ lock: number | null; expiry: number | null; request: number | null; outcome: number | null; history: number | null }>(
      `SELECT (SELECT MIN(at) FROM prepared) AS lock,
                (SELECT MIN(expires_at) FROM items WHERE expires_at IS NOT NULL) AS expiry,
                (SELECT MIN(at) FROM requests) AS request,
                (SELECT MIN(at) FROM outcomes) AS outcome,
                (SELECT at FROM history ORDER BY seq LIMIT 1) AS history`,
    )
    .one();
}
