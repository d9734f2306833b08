/**
 * Storage of the change history of resumable watches (the `history` table; its floors are rows
 * of `counters`). One row per change of an item, written by the item statements themselves
 * (items.ts, sweeps.ts) in the storage transaction of the change; read by change streams; pruned
 * by the alarm. Synchronous statements, no decisions.
 */
import type { Retention } from "../../../core/watch-history";

export type ChangeKind = "Put" | "Delete" | "Expire";

export interface HistoryRow extends Record<string, SqlStorageValue> {
  seq: number;
  key: string;
  idx: number;
  kind: ChangeKind;
  /** The stored body of a Put, null otherwise. */
  value: string | null;
}

/**
 * What a stream reads: one key or a prefix; up to seq `until`, only changes with an index above
 * `minIndex` (a fromIndex replay), after it every change.
 */
export interface HistoryFilter {
  key?: string | undefined;
  prefix?: string | undefined;
  minIndex: number | null;
  until: number | null;
}

/** The one extra statement of a change. */
export function recordChange(sql: SqlStorage, kind: ChangeKind, key: string, index: number, value: string | null): void {
  const size = key.length + (value?.length ?? 0);
  sql.exec("INSERT INTO history (key, idx, kind, size, value, at) VALUES (?, ?, ?, ?, ?, ?)", key, index, kind, size, value, Date.now());
}

/**
 * What the shard still knows: changes with seq > `seq`, and every change with index > `index`;
 * `head` is the last seq handed out.
 */
export function historyBounds(sql: SqlStorage): { seq: number; index: number; head: number } {
  const row = sql
    .exec<{ seq: number; idx: number; head: number | null }>(
      `SELECT (SELECT value FROM counters WHERE name = 'history-floor-seq') AS seq,
              (SELECT value FROM counters WHERE name = 'history-floor-index') AS idx,
              (SELECT MAX(seq) FROM history) AS head`,
    )
    .one();
  return { seq: row.seq, index: row.idx, head: Math.max(row.head ?? 0, row.seq) };
}

/** Matching changes after seq `after`, in commit order, at most `limit`. */
export function readHistory(sql: SqlStorage, after: number, filter: HistoryFilter, limit: number): HistoryRow[] {
  return sql
    .exec<HistoryRow>(
      `SELECT seq, key, idx, kind, value FROM history
        WHERE seq > ?1 AND (?2 IS NULL OR key = ?2) AND (?3 IS NULL OR substr(key, 1, length(?3)) = ?3)
          AND (?4 IS NULL OR idx > ?4 OR seq > ?5)
        ORDER BY seq LIMIT ?6`,
      after,
      filter.key ?? null,
      filter.prefix ?? null,
      filter.minIndex,
      filter.until ?? 0,
      limit,
    )
    .toArray();
}

/**
 * Drops the oldest changes beyond the retention (count, size, age), at most `batch` of them, and
 * raises the floors; true if more are due.
 */
export function pruneHistory(sql: SqlStorage, retention: Retention, now: number, batch: number): boolean {
  const oldest = sql.exec<{ seq: number }>("SELECT seq FROM history ORDER BY seq LIMIT 1").toArray()[0]?.seq;
  if (oldest === undefined) return false;
  // The newest row beyond the count limit: it and every older one go.
  const overCount =
    sql.exec<{ seq: number }>("SELECT seq FROM history ORDER BY seq DESC LIMIT 1 OFFSET ?", retention.count).toArray()[0]?.seq ?? 0;
  // The newest row whose change, with every newer one, passes the size bound.
  const overSize =
    sql
      .exec<{ seq: number }>(
        `SELECT seq FROM (SELECT seq, SUM(size) OVER (ORDER BY seq DESC) AS total FROM history)
          WHERE total > ? ORDER BY seq DESC LIMIT 1`,
        retention.maxBytes,
      )
      .toArray()[0]?.seq ?? 0;
  let tooOld = 0;
  if (retention.maxAgeMs !== null) {
    // The rows before the first one young enough, oldest first (times follow seq).
    const young = sql
      .exec<{ seq: number }>("SELECT seq FROM history WHERE at > ? ORDER BY seq LIMIT 1", now - retention.maxAgeMs)
      .toArray()[0]?.seq;
    tooOld = young === undefined ? Number.MAX_SAFE_INTEGER : young - 1;
  }
  const due = Math.max(overCount, overSize, tooOld);
  if (due < oldest) return false;
  const upTo = Math.min(due, oldest + batch - 1);
  const { last, idx } = sql
    .exec<{ last: number; idx: number }>("SELECT MAX(seq) AS last, MAX(idx) AS idx FROM history WHERE seq <= ?", upTo)
    .one();
  sql.exec("DELETE FROM history WHERE seq <= ?", upTo);
  raiseFloors(sql, last, idx);
  return sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM history WHERE seq <= ?", due).one().n > 0;
}

/** Forgets the whole history (the database was deleted): every cursor into it is now compacted. */
export function clearHistory(sql: SqlStorage): void {
  const { head } = historyBounds(sql);
  const index = sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = 'index'").one().value;
  sql.exec("DELETE FROM history");
  raiseFloors(sql, head, index);
}

function raiseFloors(sql: SqlStorage, seq: number, index: number): void {
  sql.exec("UPDATE counters SET value = MAX(value, ?) WHERE name = 'history-floor-seq'", seq);
  sql.exec("UPDATE counters SET value = MAX(value, ?) WHERE name = 'history-floor-index'", index);
}
