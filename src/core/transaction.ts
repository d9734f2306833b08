/**
 * The operations of a transaction as shards see them: compare-exchange puts and deletes (user
 * items and atomic guards) and document puts and deletes, every key already lower-cased and
 * routed. Plain data: it crosses RPC from the Worker to the coordinator and on to the shards.
 */

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

export type TxOp = CmpxchgPutOp | CmpxchgDeleteOp | DocPutOp | DocDeleteOp;

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

export type TxOutcome =
  | { committed: true; index: number; results: OpResult[] }
  | { committed: false; violations: Violation[] };

/** The name an op is known by: a document id or a compare-exchange key as the caller wrote it. */
export function opLabel(op: TxOp): string {
  return op.kind === "doc-put" || op.kind === "doc-delete" ? op.id : op.name;
}
