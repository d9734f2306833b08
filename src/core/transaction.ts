/**
 * The operations of a transaction as shards see them: compare-exchange puts and deletes (user
 * items and atomic guards), compare-exchange checks (our extension: a condition without a write)
 * and document puts and deletes, every key already lower-cased and routed. Plain data: it crosses RPC from the Worker to the coordinator and on to the shards.
 */
import { clusterChangeVector, singleNodeChangeVector } from "./change-vector";

/** ClusterWide: RavenDB's cluster transaction (one commit index, TRXN change vectors, guards).
 * SingleNode: a plain batch, optimistic concurrency on document change vectors. */
export type TxMode = "ClusterWide" | "SingleNode";

export interface CmpxchgPutOp {
  kind: "cmpxchg-put";
  shard: number;
  key: string;
  /** The key as the caller wrote it, for results and violations. */
  name: string;
  expectedIndex: number;
  json: string;
  expiresAt: number | null;
  /** An atomic guard added for a document: violations are reported with Type "Document". */
  guardOf?: string;
}

export interface CmpxchgDeleteOp {
  kind: "cmpxchg-delete";
  shard: number;
  key: string;
  name: string;
  /** null: delete whatever is there (a guard of a document deleted without a change vector). */
  expectedIndex: number | null;
  guardOf?: string;
}

/**
 * Our extension `CompareExchangeCHECK` (etcd's compare without a put, DynamoDB's ConditionCheck):
 * the transaction commits only if the item's index is `expectedIndex` (0: it must not exist).
 * Nothing is written and the item keeps its index; the key is locked during prepare like a
 * written key, so no other commit can change it between the check and the decision.
 */
export interface CmpxchgCheckOp {
  kind: "cmpxchg-check";
  shard: number;
  key: string;
  name: string;
  expectedIndex: number;
}

export interface DocPutOp {
  kind: "doc-put";
  shard: number;
  /** Lower-cased id, the storage key. */
  key: string;
  id: string;
  /** The document JSON without the server-computed metadata. */
  json: string;
  collection: string | null;
  /** SingleNode optimistic concurrency: the change vector the document must have, if any. */
  expectedChangeVector: string | null;
}

export interface DocDeleteOp {
  kind: "doc-delete";
  shard: number;
  key: string;
  id: string;
  expectedChangeVector: string | null;
}

export type TxOp = CmpxchgPutOp | CmpxchgDeleteOp | CmpxchgCheckOp | DocPutOp | DocDeleteOp;

/** RavenDB's `ConcurrencyViolations` entry; Actual is -1 for a missing item. */
export interface Violation {
  Type: "CompareExchange" | "Document";
  Id: string;
  Expected: number;
  Actual: number;
  /** The sentence for `Message`: RavenDB's wording for index checks and guard checks. */
  message: string;
  /** SingleNode change-vector conflicts: what was expected and what is stored. */
  expectedChangeVector?: string | null;
  actualChangeVector?: string | null;
}

/** What applying an op produced, for the response. Cmpxchg ops need only the commit index. */
export type OpResult =
  | { kind: "doc-put"; id: string; changeVector: string; lastModified: string; collection: string | null }
  | { kind: "doc-delete"; id: string; deleted: boolean; changeVector: string | null }
  | { kind: "cmpxchg" };

export type TxOutcome = { committed: true; index: number; results: OpResult[] } | { committed: false; violations: Violation[] };

/** The name an op is known by: a document id or a compare-exchange key as the caller wrote it. */
export function opLabel(op: TxOp): string {
  return op.kind === "doc-put" || op.kind === "doc-delete" ? op.id : op.name;
}

/** A transaction as the Worker hands it to its coordinator (or, confined to one shard, to that shard). */
export interface TransactionRequest {
  requestId?: string | undefined;
  mode: TxMode;
  ops: TxOp[];
}

/**
 * A transaction's outcome; or `failed`: "unknown" when a participant could not be reached to learn
 * whether it committed (a retry with the same request id finds out), "aborted" when a participant
 * failed before the decision, or conflicting transactions kept its keys locked past its deadline,
 * so nothing was applied and a retry runs it anew.
 */
export type ExecuteResult = TxOutcome | { failed: "unknown" | "aborted"; txnId: string };

/** A coordinator's decision on a prepared transaction; `at` is the commit's last-modified time. */
export type Decision = { decision: "committed"; index: number; at?: number | undefined } | { decision: "aborted" };

/** What a shard knew of a document an op writes, when it prepared it (the key is locked since). */
export type DocPreview = { id: string; changeVector: string } | null;

/**
 * A participant's vote. "busy": another transaction holds a lock on one of the keys and is still
 * undecided; the shard did not wait (no-wait) and took no lock. `wait` is true when this
 * transaction is older than every holder (wait-die: it may keep its other locks and try again;
 * a younger one must release them first).
 */
export type PrepareVote =
  | { vote: "yes"; counter: number; previews: DocPreview[] }
  | { vote: "no"; violations: Violation[] }
  | { vote: "busy"; wait: boolean };

/** Where a transaction stands in wait-die's order: older (smaller) first, the id breaks ties. */
export interface TxAge {
  born: number;
  txnId: string;
}

export function olderThan(a: TxAge, b: TxAge): boolean {
  return a.born < b.born || (a.born === b.born && a.txnId < b.txnId);
}

/**
 * The result of applying an op with a commit index, from the document it replaces. Shards use it
 * when they apply; the coordinator uses it with the previews of the prepare to answer at the
 * commit point, before phase two — so both always tell the same.
 */
export function opResult(op: TxOp, previous: DocPreview, index: number, mode: TxMode, database: string, lastModified: string): OpResult {
  switch (op.kind) {
    case "cmpxchg-put":
    case "cmpxchg-delete":
    case "cmpxchg-check":
      return { kind: "cmpxchg" };
    case "doc-put": {
      const changeVector =
        mode === "ClusterWide"
          ? clusterChangeVector(database, index)
          : singleNodeChangeVector(database, index, previous?.changeVector ?? null);
      return { kind: "doc-put", id: previous?.id ?? op.id, changeVector, lastModified, collection: op.collection };
    }
    case "doc-delete": {
      const deleted = previous !== null;
      const changeVector = deleted
        ? mode === "ClusterWide"
          ? clusterChangeVector(database, index)
          : singleNodeChangeVector(database, index, null)
        : null;
      return { kind: "doc-delete", id: op.id, deleted, changeVector };
    }
  }
}
