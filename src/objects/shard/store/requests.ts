/** Storage of the request log (the `requests` table): a request id's first result, for retries. */
import type { TxMode } from "../../../core/transaction";
import type { ListedRow } from "./outcomes";

/** The logged result (JSON text) of a request id, or null. */
export function loggedResult(sql: SqlStorage, id: string): string | null {
  return sql.exec<{ result: string }>("SELECT result FROM requests WHERE id = ?", id).toArray()[0]?.result ?? null;
}

/**
 * Logs a request id's first result. `transaction`: the result is a one-phase transaction's outcome
 * (the attempt that wrote it, and what the transactions panel shows of it).
 */
export function logRequest(
  sql: SqlStorage,
  id: string,
  result: unknown,
  at: number,
  transaction?: { txnId: string; mode: TxMode; keys: string[] },
): void {
  sql.exec(
    "INSERT INTO requests (id, result, at, txn_id, mode, keys) VALUES (?, ?, ?, ?, ?, ?)",
    id,
    JSON.stringify(result),
    at,
    transaction?.txnId ?? null,
    transaction?.mode ?? null,
    transaction ? JSON.stringify(transaction.keys) : null,
  );
}

/** The most recent one-phase transactions of the request log, newest first, raw (as `recentListed`). */
export function recentLoggedTransactions(sql: SqlStorage, limit: number): ListedRow[] {
  return sql
    .exec<ListedRow>(
      "SELECT txn_id, result AS outcome, at, mode, keys FROM requests WHERE keys IS NOT NULL ORDER BY at DESC LIMIT ?",
      limit,
    )
    .toArray();
}
