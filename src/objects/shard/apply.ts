/**
 * The apply layer of a transaction's ops (etcd's request → apply → storage): checking expected
 * indexes and change vectors against the current state, and writing every op with one index.
 * Synchronous, through the store's statements only: callers run these inside one
 * `transactionSync`, so a check and the write it guards cannot be split.
 */
import { opResult, type DocPreview, type OpResult, type TxMode, type TxOp, type Violation } from "../../core/transaction";
import { deleteDoc, readDoc, writeDoc } from "./store/documents";
import { deleteItem, readItem, writeItem } from "./store/items";

/** Every expected index and change vector of the ops, checked against the current state. */
export function findViolations(sql: SqlStorage, ops: TxOp[], now: number): Violation[] {
  const violations: Violation[] = [];
  for (const op of ops) {
    switch (op.kind) {
      case "cmpxchg-put":
      case "cmpxchg-delete":
      case "cmpxchg-check": {
        const current = readItem(sql, op.key, now);
        const actual = current ? current.idx : -1;
        // A check (our extension) holds when the index is exactly the expected one (0: absent).
        const ok =
          op.kind === "cmpxchg-check"
            ? (current ? current.idx : 0) === op.expectedIndex
            : op.kind === "cmpxchg-put"
              ? current
                ? op.expectedIndex === current.idx
                : op.expectedIndex === 0
              : current
                ? op.expectedIndex === null || op.expectedIndex === current.idx
                : op.expectedIndex === null || op.expectedIndex === 0;
        if (ok) break;
        const expected = op.expectedIndex ?? 0;
        const verb = op.kind === "cmpxchg-put" ? "putting" : op.kind === "cmpxchg-delete" ? "deleting" : "checking";
        const check = `Concurrency check failed for ${verb} the key '${op.name}'. Requested index: ${expected}, actual index: ${actual}`;
        const guardOf = op.kind === "cmpxchg-check" ? undefined : op.guardOf;
        violations.push({
          Type: guardOf === undefined ? "CompareExchange" : "Document",
          Id: op.name,
          Expected: expected,
          Actual: actual,
          message:
            guardOf === undefined
              ? check
              : `Guard compare exchange value '${op.name}' index does not match the transaction index's ${expected} change vector on ${guardOf}\n${check}`,
        });
        break;
      }
      case "doc-put":
      case "doc-delete": {
        if (op.expectedChangeVector === null) break;
        const current = readDoc(sql, op.key);
        const actual = current?.change_vector ?? null;
        // An empty expected change vector means "must not exist yet", as in RavenDB.
        const ok = op.expectedChangeVector === "" ? current === null : actual === op.expectedChangeVector;
        if (ok) break;
        violations.push({
          Type: "Document",
          Id: op.id,
          Expected: 0,
          Actual: current ? 0 : -1,
          message:
            op.kind === "doc-put"
              ? `Document ${op.id} has change vector ${actual ?? "(none: it does not exist)"}, but Put was called with ${op.expectedChangeVector === "" ? "an empty change vector (create only)" : `change vector ${op.expectedChangeVector}`}. Optimistic concurrency violation, transaction will be aborted.`
              : `Document ${op.id} has change vector ${actual ?? "(none: it does not exist)"}, but Delete was called with change vector ${op.expectedChangeVector}. Optimistic concurrency violation, transaction will be aborted.`,
          expectedChangeVector: op.expectedChangeVector,
          actualChangeVector: actual,
        });
        break;
      }
    }
  }
  return violations;
}

/** What the shard holds of the documents the ops write: the previews of a prepare. */
export function previewsOf(sql: SqlStorage, ops: TxOp[]): DocPreview[] {
  return ops.map((op) => {
    if (op.kind !== "doc-put" && op.kind !== "doc-delete") return null;
    const row = readDoc(sql, op.key);
    return row ? { id: row.id, changeVector: row.change_vector } : null;
  });
}

/**
 * Writes every op with one index. The caller has checked them and holds the transaction.
 * `now` is the commit's time: a document's @last-modified, the same the coordinator answered.
 */
export function applyOps(sql: SqlStorage, ops: TxOp[], index: number, mode: TxMode, database: string, now: number): OpResult[] {
  const lastModified = new Date(now).toISOString();
  return ops.map((op): OpResult => {
    switch (op.kind) {
      case "cmpxchg-put":
        writeItem(sql, op.key, index, op.json, op.expiresAt);
        return opResult(op, null, index, mode, database, lastModified);
      case "cmpxchg-delete":
        deleteItem(sql, op.key, index);
        return opResult(op, null, index, mode, database, lastModified);
      case "cmpxchg-check":
        // Checked at prepare (and locked since): nothing to write, the item keeps its index.
        return opResult(op, null, index, mode, database, lastModified);
      case "doc-put": {
        const previous = readDoc(sql, op.key);
        const result = opResult(
          op,
          previous && { id: previous.id, changeVector: previous.change_vector },
          index,
          mode,
          database,
          lastModified,
        );
        if (result.kind !== "doc-put") throw new Error("unreachable");
        writeDoc(sql, {
          key: op.key,
          id: result.id,
          collection: op.collection,
          body: op.json,
          changeVector: result.changeVector,
          lastModified,
          fromCluster: mode === "ClusterWide",
        });
        return result;
      }
      case "doc-delete": {
        const previous = readDoc(sql, op.key);
        deleteDoc(sql, op.key);
        return opResult(op, previous && { id: previous.id, changeVector: previous.change_vector }, index, mode, database, lastModified);
      }
    }
  });
}
