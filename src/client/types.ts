/**
 * The client's data types: what callers read and write. Plain data only (no classes), so the same
 * shapes cross a Service Binding's RPC unchanged.
 */

/** Any JSON value. Values are stored as JSON; numbers beyond 2^53 lose digits when parsed here. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * An item's `@metadata`. `@expires` (ISO-8601, UTC) makes the item absent to every read and write
 * from that instant on; other entries are stored and returned as they are.
 */
export interface Metadata {
  "@expires"?: string;
  [name: string]: Json | undefined;
}

/** A stored compare-exchange item. */
export interface CompareExchangeValue<T = unknown> {
  /** The key as the server returned it (as sent for `get`, lower-cased for `list`). */
  key: string;
  value: T;
  /** The item's `@metadata`, `{}` when it has none. */
  metadata: Metadata;
  /** Strictly increasing per key (also across delete and re-create); never 0 for a stored item. */
  index: number;
}

/**
 * What a put, create or delete answered (RavenDB's `CompareExchangeResult`). On success `index` is
 * the new index (for a delete, the index of the deletion) and `value` the written (or deleted)
 * value; on failure they describe the current item, with `index` 0 and `value` null when the key
 * does not exist.
 */
export interface CompareExchangeResult<T = unknown> {
  successful: boolean;
  index: number;
  value: T | null;
  metadata: Metadata;
}

/** One page of a prefix listing. */
export interface ListPage<T = unknown> {
  items: CompareExchangeValue<T>[];
  /** Pass to the next `list` call for the following page; null on the last page. */
  continuationToken: string | null;
}

export interface ListOptions {
  /** Items per page (default 100). 0 or less: everything in one page, no continuation token. */
  pageSize?: number;
  continuationToken?: string | null;
  signal?: AbortSignal;
}

/** Options of every read. */
export interface ReadOptions {
  signal?: AbortSignal;
}

/** How a database routes keys (`GET /databases/<db>/routing`). */
export interface DatabaseRouting {
  /** Created with key hash tags: keys sharing a `{tag}` live on one shard. */
  keyHashTags: boolean;
  shardCount: number;
}

/** Options of every write. */
export interface WriteOptions {
  /**
   * The exactly-once id (`raft-request-id`). Generated when absent. Pass your own to retry a call
   * whose outcome you never learned: the server returns the first result instead of applying again.
   */
  requestId?: string;
  signal?: AbortSignal;
}

/** What `waitForChange` answered. */
export interface ChangeResult<T = unknown> {
  /** False when the wait timed out and the item still had the index waited on. */
  changed: boolean;
  /** The item's current index, -1 when it does not exist (deleted, expired, never created). */
  index: number;
  /** The current item, null when it does not exist. */
  item: CompareExchangeValue<T> | null;
}

export interface WaitOptions {
  /** How long the server may hold the request (default 30 000, at most 60 000 ms). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * A change pushed by `watch`. Keys are lower-cased, as the server stores them. Every change has
 * its own index (a delete and an expiry too), strictly increasing per key.
 *
 * Only with `onCompacted: "resync"`: "Reset" (key: the watched key or prefix, index -1) says the
 * server no longer held the changes since the stream's position; forget what you hold for the
 * target: the "Snapshot" events that follow are its current items, then changes continue.
 */
export interface ChangeEvent<T = unknown> {
  type: "Put" | "Delete" | "Expire" | "Reset" | "Snapshot";
  key: string;
  index: number;
  /** The new value for "Put" and "Snapshot", null otherwise. */
  value: T | null;
  metadata: Metadata;
}

/** What to watch: one key, or every key starting with a prefix. A plain string is a key. */
export type WatchTarget = string | { key: string } | { prefix: string };

export interface WatchOptions {
  /** Stops the stream (the iterator then ends). */
  signal?: AbortSignal;
  /** How long to wait for the WebSocket handshake (default: the client's timeoutMs). */
  connectTimeoutMs?: number;
  /**
   * Start with the changes the server still holds (its change history) from before the watch
   * began whose index is above this one, then every change from then on. For one key: every
   * change after that index. Without it (and without `cursor`) the stream starts from now.
   */
  fromIndex?: number;
  /** Start where an earlier stream stood: its `cursor` (with the same target and `fromIndex`). */
  cursor?: string;
  /**
   * After a dropped connection, reconnect and go on from the last change received, with no gap
   * and no duplicate (default true). False: the stream ends with a NetworkException instead.
   */
  resume?: boolean;
  /** Longest pause between reconnection attempts (default 5,000 ms; they start at 50 ms). */
  maxReconnectDelayMs?: number;
  /**
   * When the server no longer holds the changes since the stream's position: "error" (default)
   * ends the stream with HistoryCompactedException; "resync" reads the current state and goes
   * on (a "Reset" event, "Snapshot" events, then changes).
   */
  onCompacted?: "error" | "resync";
}

/** One command of a cluster-wide transaction. Built by {@link ClusterTransaction}. */
export type TransactionCommand =
  | { type: "CompareExchangePUT"; key: string; value: unknown; index: number; metadata?: Metadata }
  | { type: "CompareExchangeDELETE"; key: string; index: number }
  /** Our extension: the transaction commits only if `key` is at `index` (0: absent); nothing is written. */
  | { type: "CompareExchangeCHECK"; key: string; index: number }
  | {
      type: "PUT";
      id: string;
      document: Record<string, unknown>;
      collection?: string;
      /** The document's change vector; null/absent = the document must not exist yet. */
      changeVector?: string | null;
      metadata?: Metadata;
    }
  | { type: "DELETE"; id: string; changeVector?: string | null };

/** One entry of a committed transaction's results, in the server's order (documents first). */
export type TransactionResultEntry =
  | { type: "PUT"; id: string; changeVector: string; collection: string; lastModified: string }
  | { type: "DELETE"; id: string; deleted: boolean }
  | { type: "CompareExchangePUT"; key: string; index: number }
  | { type: "CompareExchangeDELETE"; key: string; index: number }
  /** `index`: the index the checked item had, and still has (0: absent), not the transaction's. */
  | { type: "CompareExchangeCHECK"; key: string; index: number };

/** A committed cluster-wide transaction. */
export interface TransactionResult {
  /** The transaction's index: every item it wrote has this index. */
  index: number;
  results: TransactionResultEntry[];
}

/** RavenDB's `ConcurrencyViolations` entry of a refused transaction. `actual` is -1 when missing. */
export interface ConcurrencyViolation {
  type: "CompareExchange" | "Document";
  id: string;
  expected: number;
  actual: number;
}
