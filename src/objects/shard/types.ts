/** The values ShardObject's RPC methods take and return (plain data: they cross RPC). */
import type { PrepareVote, TxMode, TxOp, TxOutcome } from "../../core/transaction";

export interface StoredItem {
  /** Lower-cased key. */
  key: string;
  index: number;
  /** The stored body, `{"Object":…,"@metadata":…}` as JSON text. */
  json: string;
}

/** RavenDB's `{Index, Value, Successful}`, with the value still as JSON text. */
export interface WriteResult {
  index: number;
  json: string | null;
  successful: boolean;
}

export interface PutCommand {
  key: string;
  json: string;
  expectedIndex: number;
  expiresAt: number | null;
  requestId?: string | undefined;
}

export interface DeleteCommand {
  key: string;
  expectedIndex: number;
  requestId?: string | undefined;
}

export interface ListQuery {
  /** Lower-cased prefix; "" lists everything. */
  prefix: string;
  /** Exclusive upper bound of the prefix range (see core/keys prefixUpperBound), or null. */
  upper: string | null;
  /** Return only keys after this lower-cased key. */
  after?: string | undefined;
  /** At most this many items; -1 for all. */
  limit: number;
}

export interface StoredDoc {
  id: string;
  collection: string | null;
  body: string;
  changeVector: string;
  lastModified: string;
  fromCluster: boolean;
}

/** One collection's documents on one shard (collection statistics). */
export interface CollectionCount {
  /** The collection as stored (one of its spellings); null for documents without one. */
  name: string | null;
  count: number;
  /** UTF-8 bytes of the bodies; 0 unless sizes were asked for. */
  bytes: number;
}

/** The coordinator leading a prepared transaction and the transaction's age (wait-die). */
export interface Lead {
  coordinator: number;
  born: number;
}

/** One-phase transactions applied here, for the transactions panel. */
export interface OnePhaseEntry {
  txnId: string;
  mode: TxMode;
  committed: boolean;
  index: number | null;
  keys: string[];
  at: number;
}

/**
 * A coordinator's message to a shard; many travel in one `deliver` call (objects/batcher.ts).
 * prepare: phase one; commit / abort: phase two; release: give up an attempt's locks (wait-die).
 */
export type ShardMessage =
  | { kind: "prepare"; txnId: string; mode: TxMode; ops: TxOp[]; lead: Lead }
  | { kind: "commit"; txnId: string; index: number; at?: number | undefined }
  | { kind: "abort"; txnId: string }
  | { kind: "release"; txnId: string };

/** What each kind of message is answered with (`unknown`: a commit for a transaction never prepared here). */
export interface ShardReplies {
  prepare: PrepareVote;
  commit: TxOutcome | { unknown: true };
  abort: TxOutcome;
  release: null;
}

export type ShardReply = ShardReplies[ShardMessage["kind"]];
