/** Storage of prepared transactions (the `prepared` table): the ops a prepare vote promised to apply. */
import type { TxMode, TxOp } from "../../../core/transaction";

export function insertPrepared(
  sql: SqlStorage,
  txnId: string,
  mode: TxMode,
  ops: TxOp[],
  at: number,
  lead: { coordinator: number; born: number },
): void {
  sql.exec(
    "INSERT INTO prepared (txn_id, mode, ops, at, coordinator, born) VALUES (?, ?, ?, ?, ?, ?)",
    txnId,
    mode,
    JSON.stringify(ops),
    at,
    lead.coordinator,
    lead.born,
  );
}

/** The mode and ops (JSON text) of a prepared transaction, or null. */
export function readPrepared(sql: SqlStorage, txnId: string): { mode: string; ops: string } | null {
  return sql.exec<{ mode: string; ops: string }>("SELECT mode, ops FROM prepared WHERE txn_id = ?", txnId).toArray()[0] ?? null;
}

export function deletePrepared(sql: SqlStorage, txnId: string): void {
  sql.exec("DELETE FROM prepared WHERE txn_id = ?", txnId);
}

/** The coordinator leading a prepared transaction (undefined: not prepared here). */
export function coordinatorOf(sql: SqlStorage, txnId: string): number | undefined {
  return sql.exec<{ coordinator: number }>("SELECT coordinator FROM prepared WHERE txn_id = ?", txnId).toArray()[0]?.coordinator;
}

/** When a prepared transaction was born (undefined: not prepared here). */
export function bornOf(sql: SqlStorage, txnId: string): number | undefined {
  return sql.exec<{ born: number }>("SELECT born FROM prepared WHERE txn_id = ?", txnId).toArray()[0]?.born;
}

/** Transactions prepared at or before `before`. */
export function preparedBefore(sql: SqlStorage, before: number): string[] {
  return sql
    .exec<{ txn_id: string }>("SELECT txn_id FROM prepared WHERE at <= ?", before)
    .toArray()
    .map((row) => row.txn_id);
}

/** In one statement: the recorded outcome (JSON text) of a transaction, and whether it is prepared here. */
export function outcomeOrPrepared(sql: SqlStorage, txnId: string): { outcome: string | null; prepared: number } {
  return sql
    .exec<{ outcome: string | null; prepared: number }>(
      "SELECT (SELECT outcome FROM outcomes WHERE txn_id = ?1) AS outcome, EXISTS (SELECT 1 FROM prepared WHERE txn_id = ?1) AS prepared",
      txnId,
    )
    .one();
}
