/**
 * The RPC surface of `CmpxchgService` (src/service.ts), the Worker entrypoint that other Workers
 * reach through a Service Binding. Declared here, free of Workers imports, so that callers can
 * type their binding and the adapter below needs nothing from the service's code.
 *
 * Every method takes the database first: one binding serves every database. Options carry no
 * AbortSignal (signals do not cross RPC).
 */
import type { ConcurrencyViolation, Metadata, TransactionCommand, TransactionResult } from "./types.js";

/**
 * A JSON value over RPC, typed loosely on purpose: the runtime types a binding's results by
 * expanding them recursively, and a recursive JSON type is "excessively deep", `unknown` is not
 * provably serializable (typed `never`) and `any` expands without end when used. `object`
 * stops the expansion. `CmpxchgServiceClient` gives the precise, generic view.
 */
export type RpcJson = string | number | boolean | null | object;

/** `@metadata` over RPC (see {@link RpcJson}). */
export interface RpcMetadata {
  "@expires"?: string;
  [name: string]: RpcJson | undefined;
}

/** {@link CompareExchangeValue} over RPC. */
export interface RpcItem {
  key: string;
  value: RpcJson;
  metadata: RpcMetadata;
  index: number;
}

/** {@link CompareExchangeResult} over RPC. */
export interface RpcWriteResult {
  successful: boolean;
  index: number;
  value: RpcJson;
  metadata: RpcMetadata;
}

/** {@link ListPage} over RPC. */
export interface RpcListPage {
  items: RpcItem[];
  continuationToken: string | null;
}

/** {@link ChangeResult} over RPC. */
export interface RpcChangeResult {
  changed: boolean;
  index: number;
  item: RpcItem | null;
}

/**
 * What `transaction` answers. A conflict is an expected outcome (two signups racing for one
 * email), so it is a value: thrown across RPC it would be logged as the service's uncaught
 * exception on every lost race. `CmpxchgServiceClient.commit` turns it into
 * `ClusterTransactionConcurrencyException`, as the HTTP client throws.
 */
export type RpcTransactionOutcome =
  | ({ committed: true } & TransactionResult)
  | { committed: false; message: string; violations: ConcurrencyViolation[] };

/** Write options that cross RPC. Pass the same `requestId` to retry a call whose outcome is unknown. */
export interface RpcWriteOptions {
  requestId?: string;
}

export interface RpcListOptions {
  pageSize?: number;
  continuationToken?: string | null;
}

export interface RpcWaitOptions {
  timeoutMs?: number;
}

/** What `CmpxchgService` implements. */
export interface CmpxchgRpc {
  get(database: string, key: string): Promise<RpcItem | null>;
  getMany(database: string, keys: string[]): Promise<(RpcItem | null)[]>;
  list(database: string, prefix: string, options?: RpcListOptions): Promise<RpcListPage>;
  put(
    database: string,
    key: string,
    value: RpcJson,
    index: number,
    metadata?: Metadata,
    options?: RpcWriteOptions,
  ): Promise<RpcWriteResult>;
  create(database: string, key: string, value: RpcJson, metadata?: Metadata, options?: RpcWriteOptions): Promise<RpcWriteResult>;
  delete(database: string, key: string, index: number, options?: RpcWriteOptions): Promise<RpcWriteResult>;
  transaction(database: string, commands: TransactionCommand[], options?: RpcWriteOptions): Promise<RpcTransactionOutcome>;
  waitForChange(database: string, key: string, index: number, options?: RpcWaitOptions): Promise<RpcChangeResult>;
  routing(database: string): Promise<{ keyHashTags: boolean; shardCount: number }>;
}

/**
 * Anything with the service's methods: a `Service<CmpxchgService>` binding, `ctx.exports`'s
 * loopback, or the class itself in tests. Loosely typed on purpose: the runtime's stub types wrap
 * every result, and the adapter restores the precise types.
 */
// biome-ignore lint/suspicious/noExplicitAny: parameters are contravariant: only `any[]` accepts every binding's stub
export type CmpxchgBinding = { [K in keyof CmpxchgRpc]: (...args: any[]) => Promise<unknown> };
