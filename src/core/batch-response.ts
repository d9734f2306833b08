/**
 * What a batch answers, in RavenDB's shapes: 201 `{Results, TransactionIndex}` with document
 * results first and compare-exchange results after (checks, our extension, among them in request
 * order), or a 409 conflict envelope.
 */
import { ErrorTypes, RavenError } from "./errors";
import type { OpResult, TxMode, TxOp, Violation } from "./transaction";

export function batchResults(mode: TxMode, ops: TxOp[], userOps: number, index: number, results: OpResult[]) {
  const entries = ops.slice(0, userOps).map((op, i) => {
    const result = results[i];
    switch (op.kind) {
      case "doc-put": {
        const put = result?.kind === "doc-put" ? result : null;
        return {
          Type: "PUT",
          "@id": put?.id ?? op.id,
          "@collection": put?.collection ?? op.collection ?? "@empty",
          "@change-vector": put?.changeVector ?? "",
          "@last-modified": put?.lastModified ?? new Date().toISOString(),
          ...(mode === "ClusterWide" ? { "@flags": "FromClusterTransaction" } : {}),
        };
      }
      case "doc-delete": {
        const del = result?.kind === "doc-delete" ? result : null;
        return { Id: op.id, Type: "DELETE", Deleted: del?.deleted ?? true, ChangeVector: del?.changeVector ?? null };
      }
      case "cmpxchg-put":
        return { Type: "CompareExchangePUT", Key: op.name, Index: index };
      case "cmpxchg-delete":
        return { Type: "CompareExchangeDELETE", Key: op.name, Index: index };
      case "cmpxchg-check":
        // Our extension: the index the item was found at (and still has), not the commit's.
        return { Type: "CompareExchangeCHECK", Key: op.name, Index: op.expectedIndex };
    }
  });
  return mode === "ClusterWide" ? { Results: entries, TransactionIndex: index } : { Results: entries };
}

/** The 409 a failed batch answers: RavenDB's cluster-transaction or optimistic-concurrency shape. */
export function conflictError(mode: TxMode, violations: Violation[]): RavenError {
  if (mode === "ClusterWide") {
    return new RavenError(
      409,
      ErrorTypes.clusterTxConcurrency,
      `Failed to execute cluster transaction due to the following issues: ${violations.map((v) => v.message).join("\n")}`,
      { ConcurrencyViolations: violations.map(({ Type, Id, Expected, Actual }) => ({ Type, Id, Expected, Actual })) },
    );
  }
  const first = violations[0]!;
  return new RavenError(409, ErrorTypes.concurrency, first.message, {
    Id: first.Id,
    ExpectedChangeVector: first.expectedChangeVector ?? null,
    ActualChangeVector: first.actualChangeVector ?? null,
  });
}
