/**
 * Storage of prepare locks (the `locks` table): which transaction holds which lock key. The
 * encoding of lock keys is core/lock-keys.ts; statements here only compare and store them.
 */
import { DOC_LOCK_PREFIX, DOC_LOCKS_END } from "../../../core/lock-keys";

/** Transactions (other than `own`) holding a lock on any of these lock keys. */
export function blockingTxns(sql: SqlStorage, lockKeys: string[], own?: string): string[] {
  const found = new Set<string>();
  // 100 bound parameters at most per statement: check in slices.
  for (let i = 0; i < lockKeys.length; i += 90) {
    const slice = lockKeys.slice(i, i + 90);
    const rows = sql
      .exec<{ txn_id: string }>(`SELECT DISTINCT txn_id FROM locks WHERE lock_key IN (${slice.map(() => "?").join(",")})`, ...slice)
      .toArray();
    for (const row of rows) if (row.txn_id !== own) found.add(row.txn_id);
  }
  return [...found];
}

/** Transactions holding a lock in [`range.from`, `range.to`) (`resume`: strictly after `from`). */
export function rangeHolders(sql: SqlStorage, range: { from: string; to: string }, resume: boolean): string[] {
  return sql
    .exec<{ txn_id: string }>(
      `SELECT DISTINCT txn_id FROM locks
           WHERE lock_key ${resume ? ">" : ">="} ?1 AND (?2 IS NULL OR lock_key < ?2)`,
      range.from,
      range.to,
    )
    .toArray()
    .map((row) => row.txn_id);
}

/** Transactions holding a lock on any document. */
export function docLockHolders(sql: SqlStorage): string[] {
  return sql
    .exec<{ txn_id: string }>(`SELECT DISTINCT txn_id FROM locks WHERE lock_key >= '${DOC_LOCK_PREFIX}' AND lock_key < '${DOC_LOCKS_END}'`)
    .toArray()
    .map((row) => row.txn_id);
}

/** Transactions holding any lock here. */
export function allLockHolders(sql: SqlStorage): string[] {
  return sql
    .exec<{ txn_id: string }>("SELECT DISTINCT txn_id FROM locks")
    .toArray()
    .map((r) => r.txn_id);
}

export function takeLock(sql: SqlStorage, lockKey: string, txnId: string): void {
  sql.exec("INSERT INTO locks (lock_key, txn_id) VALUES (?, ?)", lockKey, txnId);
}

export function dropLocks(sql: SqlStorage, txnId: string): void {
  sql.exec("DELETE FROM locks WHERE txn_id = ?", txnId);
}
