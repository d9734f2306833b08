/**
 * edge-cmpxchg's client: typed compare-exchange calls over HTTP (`CmpxchgClient`) or a Service
 * Binding (`CmpxchgServiceClient`), and the helpers built on them: locks with fencing tokens,
 * unique values, idempotency keys for Hono. Fetch only; no runtime dependencies.
 *
 * Import as `edge-cmpxchg/client`.
 */
export { CmpxchgClient, type CmpxchgClientOptions } from "./client";
export { CmpxchgServiceClient, type ServiceClientOptions } from "./service-client";
export type * from "./service-api";
export { expiresIn, expiryOf, type CmpxchgApi } from "./api";
export { ClusterTransaction, type DocumentOptions } from "./transaction";
export { ChangeStream } from "./watch";
export type { FetchLike } from "./transport";
export type { BackoffOptions } from "./retry";
export * from "./errors";
export { encodeJson, JsonNumber, parseJson, type JsonValue } from "../core/json";
export type * from "./types";
export { acquireLock, withLock, type Lock, type LockOptions, type LockRecord } from "./lock";
export {
  releaseUnique,
  reserveUnique,
  reserveUniqueWithDocument,
  type UniqueDocumentReservation,
  type UniqueReservation,
} from "./unique";
export {
  defaultFingerprint,
  idempotency,
  REPLAYED_HEADER,
  type IdempotencyOptions,
  type IdempotencyRecord,
  type StoredResponse,
} from "./idempotency";
