/**
 * `edge-cmpxchg-client/hono`: idempotency keys for Hono apps (and `idempotent()` for any async
 * function), on top of the client. A separate entry so that the main one needs nothing from Hono.
 */
export {
  defaultFingerprint,
  idempotency,
  recordKey,
  REPLAYED_HEADER,
  scopeFromHeader,
  type IdempotencyOptions,
  type IdempotencyRecord,
  type StoredResponse,
} from "./idempotency.js";
