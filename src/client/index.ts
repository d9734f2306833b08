/**
 * edge-cmpxchg's client: typed compare-exchange calls over HTTP (`CmpxchgClient`) or a Service
 * Binding (`CmpxchgServiceClient`), and the helpers built on them: locks with fencing tokens,
 * unique values, fair locks, leases with keep-alive, leader election, read-modify-write.
 * Fetch only; no runtime dependencies. The idempotency middleware for Hono is in
 * ./hono.ts (`edge-cmpxchg-client/hono`), so that this entry needs nothing from Hono.
 *
 * Published as the npm package `edge-cmpxchg-client` (packages/client).
 */
export { CmpxchgClient, type CmpxchgClientOptions } from "./client.js";
export { CmpxchgServiceClient, type ServiceClientOptions } from "./service-client.js";
export type * from "./service-api.js";
export { expiresIn, expiryOf, type CmpxchgApi } from "./api.js";
export { ClusterTransaction, type DocumentOptions } from "./transaction.js";
export { ChangeStream } from "./watch.js";
export type { FetchLike } from "./transport.js";
export type { BackoffOptions } from "./retry.js";
export * from "./errors.js";
export { encodeJson, JsonNumber, parseJson, type JsonValue } from "../core/json.js";
export type * from "./types.js";
export { acquireLock, withLock, type Lock, type LockOptions, type LockRecord } from "./lock.js";
export {
  releaseUnique,
  reserveUnique,
  reserveUniqueWithDocument,
  type UniqueDocumentReservation,
  type UniqueReservation,
} from "./unique.js";
export {
  acquireFairLock,
  withFairLock,
  type FairLock,
  type FairLockOptions,
  type QueueRecord,
} from "./fair-lock.js";
export { KeepAlive, type KeepAliveOptions } from "./lease.js";
export { Election, type CampaignOptions, type ElectionOptions, type Leader, type Leadership } from "./election.js";
export { SKIP, update, updateMany, type UpdateOptions, type UpdateResult } from "./update.js";
export { fencedPut, type Fenced, type FencedWriteResult } from "./fencing.js";
export { IdempotencyConflictError, idempotent, type IdempotentOptions } from "./idempotent.js";
