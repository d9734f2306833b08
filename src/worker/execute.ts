/**
 * Running a parsed batch (through the transactions' one entry point, src/transactions.ts) and
 * mapping its outcome to RavenDB's answer.
 */
import { batchResults, conflictError } from "../core/batch-response";
import type { ParsedBatch } from "../core/bulk-docs";
import { ErrorTypes, RavenError } from "../core/errors";
import type { OpResult } from "../core/transaction";
import { runTransaction } from "../transactions";

export async function executeBatch(
  env: Env,
  database: string,
  batch: ParsedBatch,
  requestId: string | undefined,
): Promise<{ index: number; results: OpResult[]; body: ReturnType<typeof batchResults> }> {
  const result = await runTransaction(env, database, { requestId, mode: batch.mode, ops: batch.ops });
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
