/**
 * The decision steps of a shard's writes (etcd's request → apply → storage: these are the
 * request layer). Each reads, compares and writes inside the caller's one `transactionSync`,
 * with no `await` in between, and returns a value, or the transactions whose locks must be
 * settled before it can run (the caller settles them and runs the step again on fresh state).
 * The statements are the store's (store/*.ts); applying a transaction's ops is apply.ts.
 */
import { lockKey, itemLockKey } from "../../core/lock-keys";
import { opLabel, type Decision, type OpResult, type PrepareVote, type TxMode, type TxOp, type TxOutcome } from "../../core/transaction";
import type { Failpoints } from "../failpoints";
import { eventsOf, type ChangeEvent } from "../shard-watch";
import { applyOps, findViolations, previewsOf } from "./apply";
import type { IndexCounter } from "./counter";
import { deleteItem, readItem, writeItem } from "./store/items";
import { blockingTxns, dropLocks, takeLock } from "./store/locks";
import { readOutcome, recordOutcome } from "./store/outcomes";
import { deletePrepared, insertPrepared, outcomeOrPrepared, readPrepared } from "./store/prepared";
import { loggedResult, logRequest } from "./store/requests";
import type { DeleteCommand, Lead, PutCommand, WriteResult } from "./types";

/** A value from a synchronous step, or the transactions that must be settled before it can run. */
export type Step<T> = { done: T } | { blocked: string[] };

/** What a step works on: the shard's storage, its index counter, its database's name. */
export interface Ledger {
  readonly sql: SqlStorage;
  readonly counter: IndexCounter;
  database(): string;
}

/** A single-key write's result; `replayed`: the request id's logged first result. */
export interface Applied {
  value: WriteResult;
  replayed: boolean;
  now: number;
}

/**
 * The compare-and-write of `put`. RavenDB's outcomes: success → the new index and value;
 * mismatch on an existing item → its current index and value; a non-zero expected index on a
 * missing item → index 0, no value.
 */
export function putStep(ledger: Ledger, cmd: PutCommand): Step<Applied> {
  return applyWrite(ledger, cmd.key, cmd.requestId, (now) => {
    const current = readItem(ledger.sql, cmd.key, now);
    if (current ? current.idx !== cmd.expectedIndex : cmd.expectedIndex !== 0) {
      return current ? { index: current.idx, json: current.value, successful: false } : { index: 0, json: null, successful: false };
    }
    const index = ledger.counter.next();
    writeItem(ledger.sql, cmd.key, index, cmd.json, cmd.expiresAt);
    return { index, json: cmd.json, successful: true };
  });
}

/** The compare-and-delete of `remove`. */
export function removeStep(ledger: Ledger, cmd: DeleteCommand): Step<Applied> {
  return applyWrite(ledger, cmd.key, cmd.requestId, (now) => {
    const current = readItem(ledger.sql, cmd.key, now);
    if (current && current.idx !== cmd.expectedIndex) {
      return { index: current.idx, json: current.value, successful: false };
    }
    // An expired row is already gone as far as anyone can see; remove it for good either way.
    const index = ledger.counter.next();
    deleteItem(ledger.sql, cmd.key, index);
    return { index, json: current ? current.value : null, successful: true };
  });
}

/**
 * One single-key write in one storage transaction, replaying the first result for a known
 * request id; blocked while a prepared transaction holds the key.
 */
function applyWrite(ledger: Ledger, key: string, requestId: string | undefined, write: (now: number) => WriteResult): Step<Applied> {
  const now = Date.now();
  if (requestId) {
    const seen = loggedResult(ledger.sql, requestId);
    if (seen !== null) return { done: { value: JSON.parse(seen) as WriteResult, replayed: true, now } };
  }
  const blocked = blockingTxns(ledger.sql, [itemLockKey(key)]);
  if (blocked.length) return { blocked };
  const value = write(now);
  if (requestId) logRequest(ledger.sql, requestId, value, now);
  return { done: { value, replayed: false, now } };
}

/**
 * A one-phase transaction: check and apply every op with one index, or record the conflict.
 * `requestKey` (the request log's id of its request id) replays the first outcome to a retry.
 * `applied`: this run wrote the ops (not a known outcome, not a replay).
 */
export function onePhaseStep(
  ledger: Ledger,
  txnId: string,
  mode: TxMode,
  ops: TxOp[],
  minIndex: number,
  requestKey: string | null,
): Step<{ outcome: TxOutcome; applied: boolean }> {
  const known = readOutcome(ledger.sql, txnId);
  if (known) return { done: { outcome: known, applied: false } };
  if (requestKey) {
    const seen = loggedResult(ledger.sql, requestKey);
    if (seen !== null) return { done: { outcome: JSON.parse(seen) as TxOutcome, applied: false } };
  }
  const blocked = blockingTxns(ledger.sql, ops.map(lockKey), txnId);
  if (blocked.length) return { blocked };
  const now = Date.now();
  const violations = findViolations(ledger.sql, ops, now);
  let result: TxOutcome;
  let applied = false;
  if (violations.length) {
    result = { committed: false, violations };
  } else {
    const index = Math.max(ledger.counter.value + 1, minIndex);
    ledger.counter.raise(index);
    result = { committed: true, index, results: applyOps(ledger.sql, ops, index, mode, ledger.database(), now) };
    applied = true;
  }
  const listed = { mode, keys: ops.map(opLabel) };
  // One row: with a request id the request log holds the outcome, for retries and for `fence`
  // (the shard's `fence` reads it there); without one, the outcomes table does.
  if (requestKey) logRequest(ledger.sql, requestKey, result, now, { txnId, ...listed });
  else recordOutcome(ledger.sql, txnId, result, now, listed);
  return { done: { outcome: result, applied } };
}

/**
 * Phase one: check the ops and lock their keys durably, or vote no with the violations. A
 * finished transaction (late or duplicate prepare) never locks again; a prepared one votes yes
 * again (nothing can have changed under its locks).
 */
export function prepareStep(
  ledger: Ledger,
  txnId: string,
  mode: TxMode,
  ops: TxOp[],
  lead: Lead,
  failpoints: Failpoints,
): Step<PrepareVote> {
  const seen = outcomeOrPrepared(ledger.sql, txnId);
  const known = seen.outcome === null ? null : (JSON.parse(seen.outcome) as TxOutcome);
  // Already finished (a late or duplicate prepare): never lock again.
  if (known)
    return { done: known.committed ? { vote: "yes", counter: ledger.counter.value, previews: [] } : { vote: "no", violations: [] } };
  const exists = seen.prepared === 1;
  // Locked since it was checked: nothing can have changed under the lock.
  if (exists) return { done: { vote: "yes", counter: ledger.counter.value, previews: previewsOf(ledger.sql, ops) } };
  const blocked = blockingTxns(ledger.sql, ops.map(lockKey), txnId);
  if (blocked.length) return { blocked };
  const violations = findViolations(ledger.sql, ops, Date.now());
  if (violations.length) return { done: { vote: "no", violations } };
  insertPrepared(ledger.sql, txnId, mode, ops, Date.now(), lead);
  for (const op of ops) takeLock(ledger.sql, lockKey(op), txnId);
  failpoints.hit("shard.prepare.inside");
  return { done: { vote: "yes", counter: ledger.counter.value, previews: previewsOf(ledger.sql, ops) } };
}

/**
 * Applies a decision to a prepared transaction, once, inside the caller's storage transaction;
 * returns its outcome (null: a commit for a transaction never prepared here). The change events
 * go to `events`.
 */
export function finishStep(ledger: Ledger, txnId: string, decision: Decision, events: ChangeEvent[]): TxOutcome | null {
  // A prepared row and an outcome never coexist (finishing swaps one for the other).
  const prepared = readPrepared(ledger.sql, txnId);
  if (!prepared) {
    const known = readOutcome(ledger.sql, txnId);
    if (known) return known;
  }
  const now = Date.now();
  let outcome: TxOutcome;
  if (decision.decision === "committed") {
    // A commit for a transaction never prepared here is a bug upstream: refuse, change nothing.
    if (!prepared) return null;
    ledger.counter.raise(decision.index);
    const ops = JSON.parse(prepared.ops) as TxOp[];
    const at = decision.at ?? now;
    const results: OpResult[] = applyOps(ledger.sql, ops, decision.index, prepared.mode as TxMode, ledger.database(), at);
    outcome = { committed: true, index: decision.index, results };
    events.push(...eventsOf(ops, decision.index));
  } else {
    outcome = { committed: false, violations: [] };
  }
  dropLocks(ledger.sql, txnId);
  deletePrepared(ledger.sql, txnId);
  recordOutcome(ledger.sql, txnId, outcome, now);
  return outcome;
}

/** Drops the locks of an undecided transaction's attempt; never touches a decided one. */
export function releaseStep(ledger: Ledger, txnId: string): void {
  if (readOutcome(ledger.sql, txnId)) return;
  dropLocks(ledger.sql, txnId);
  deletePrepared(ledger.sql, txnId);
}
