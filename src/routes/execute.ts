/**
 * Running a parsed batch: a single-node batch confined to one shard commits there directly; any
 * other batch goes through the database's coordinator (the log leader). Maps the outcome to
 * RavenDB's answer.
 */
import { batchResults, conflictError } from "../core/batch-response";
import type { ParsedBatch } from "../core/bulk-docs";
import { ErrorTypes, RavenError } from "../core/errors";
import type { OpResult } from "../core/transaction";
import type { ExecuteResult } from "../objects/coordinator";
import { shardStub } from "./shards";

export async function executeBatch(
  env: Env,
  database: string,
  batch: ParsedBatch,
  requestId: string | undefined,
): Promise<{ index: number; results: OpResult[]; body: ReturnType<typeof batchResults> }> {
  const shards = new Set(batch.ops.map((op) => op.shard));
  let result: ExecuteResult;
  if (batch.mode === "SingleNode" && shards.size === 1) {
    result = await shardStub(env, database, batch.ops[0]!.shard).commitOnePhase(
      crypto.randomUUID(),
      batch.mode,
      batch.ops,
      0,
    );
  } else {
    result = await env.COORDINATOR.getByName(database.toLowerCase()).execute({
      requestId,
      mode: batch.mode,
      ops: batch.ops,
    });
  }
  if ("failed" in result) {
    throw new RavenError(
      503,
      ErrorTypes.timeout,
      result.failed === "unknown"
        ? `A shard did not answer, so the outcome of transaction ${result.txnId} is not known yet; retry with the same raft-request-id to learn it.`
        : `A shard failed before the transaction was decided; nothing was applied. Retry the request.`,
    );
  }
  if (!result.committed) throw conflictError(batch.mode, result.violations);
  return {
    index: result.index,
    results: result.results,
    body: batchResults(batch.mode, batch.ops, batch.userOps, result.index, result.results),
  };
}
