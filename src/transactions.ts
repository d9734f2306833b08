/**
 * The one entry point of a transaction (a `bulk_docs` batch, the edge client's transactions):
 * decides where it runs, and nothing else decides it again.
 *
 *  - Confined to one shard (a document with its atomic guard, co-located keys, a single-node
 *    batch): straight to that shard, which dedupes by request id and checks and applies every op
 *    in one storage transaction. A coordinator would add a durable record, a decision and two
 *    hops without adding safety: one storage transaction is already all or nothing.
 *  - Several shards: the coordinator the request id hashes to runs two-phase commit.
 */
import type { ExecuteResult, TransactionRequest, TxOutcome } from "./core/transaction";
import { allCoordinators, allShards, coordinatorFor, shardStub } from "./stubs";

export async function runTransaction(env: Env, database: string, request: TransactionRequest): Promise<ExecuteResult> {
  const shards = new Set(request.ops.map((op) => op.shard));
  if (shards.size !== 1) return coordinatorFor(env, database, request.requestId).stub.execute(request);
  const shard = request.ops[0]!.shard;
  // A fresh id per attempt: a fenced attempt stays aborted, a retry (same request id) runs anew.
  const txnId = crypto.randomUUID();
  let outcome: TxOutcome;
  try {
    outcome = await shardStub(env, database, shard).commitOnePhase(txnId, request.mode, request.ops, 0, request.requestId);
  } catch {
    // The reply was lost: the shard may or may not have committed. Fencing tells us, and makes
    // sure a delayed delivery of this attempt can no longer commit it.
    try {
      outcome = await shardStub(env, database, shard).fence(txnId, request.requestId);
    } catch {
      return { failed: "unknown", txnId };
    }
  }
  return !outcome.committed && outcome.violations.length === 0 ? { failed: "aborted", txnId } : outcome;
}

/**
 * The transactions panel: the newest `limit` transactions of every coordinator's log and of every
 * shard's one-phase transactions, merged newest first. `Seq` numbers the merged page (newest
 * highest); `Log` says where the transaction ran.
 */
export async function recentTransactions(env: Env, database: string, limit: number) {
  const [logs, shards] = await Promise.all([
    Promise.all(allCoordinators(env, database).map((stub) => stub.recent(limit))),
    Promise.all(allShards(env, database).map((stub) => stub.recentOnePhase(limit))),
  ]);
  const rows = [
    ...logs.flatMap((log, k) =>
      log.map((t) => ({
        at: t.createdAt,
        Log: `coordinator-${k}`,
        TransactionId: t.txnId,
        Mode: t.mode,
        State: t.state,
        Done: t.done,
        Index: t.index,
        Keys: t.keys,
        CreatedAt: new Date(t.createdAt).toISOString(),
        DecidedAt: t.decidedAt === null ? null : new Date(t.decidedAt).toISOString(),
      })),
    ),
    ...shards.flatMap((entries, n) =>
      entries.map((t) => ({
        at: t.at,
        Log: `shard-${n}`,
        TransactionId: t.txnId,
        Mode: t.mode,
        State: t.committed ? "committed" : "aborted",
        Done: true,
        Index: t.index,
        Keys: t.keys,
        CreatedAt: new Date(t.at).toISOString(),
        DecidedAt: new Date(t.at).toISOString(),
      })),
    ),
  ];
  // Newest first; equal instants keep log order (a log lists its own newest first).
  const page = rows
    .map((row, i) => ({ row, i }))
    .sort((a, b) => b.row.at - a.row.at || a.i - b.i)
    .slice(0, limit);
  return page.map(({ row: { at: _at, ...rest } }, i) => ({ Seq: page.length - i, ...rest }));
}
