/** Storage of finished transactions (the `outcomes` table): late or duplicate messages stay no-ops. */
import type { TxMode, TxOutcome } from "../../../core/transaction";

export function readOutcome(sql: SqlStorage, txnId: string): TxOutcome | null {
  const row = sql.exec<{ outcome: string }>("SELECT outcome FROM outcomes WHERE txn_id = ?", txnId).toArray()[0];
  return row ? (JSON.parse(row.outcome) as TxOutcome) : null;
}

/** `listed`: a one-phase transaction, shown in the transactions panel. */
export function recordOutcome(
  sql: SqlStorage,
  txnId: string,
  outcome: TxOutcome,
  now: number,
  listed?: { mode: TxMode; keys: string[] },
): void {
  sql.exec(
    "INSERT INTO outcomes (txn_id, outcome, at, mode, keys) VALUES (?, ?, ?, ?, ?)",
    txnId,
    JSON.stringify(outcome),
    now,
    listed?.mode ?? null,
    listed ? JSON.stringify(listed.keys) : null,
  );
}

/** A one-phase transaction as the transactions panel lists it, raw (here and in the request log). */
export interface ListedRow extends Record<string, SqlStorageValue> {
  txn_id: string;
  outcome: string;
  at: number;
  mode: string;
  keys: string;
}

/** The most recent listed (one-phase) outcomes, newest first, raw. */
export function recentListed(sql: SqlStorage, limit: number): ListedRow[] {
  return sql
    .exec<ListedRow>("SELECT txn_id, outcome, at, mode, keys FROM outcomes WHERE keys IS NOT NULL ORDER BY at DESC LIMIT ?", limit)
    .toArray();
}
