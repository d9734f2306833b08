/**
 * `edge-cmpxchg-client/hono`: idempotency keys for Hono apps (and `idempotent()` for any async
 * function), on top of the client. A separate entry so that the main one needs nothing from Hono.
 */
export {
  defaultFingerprint,
  idempotency,
  REPLAYED_HEADER,
  scopeFromHeader,
  type IdempotencyOptions,
  type IdempotencyRecord,
  type StoredResponse,
} from "./idempotency.js";
export { recordKey } from "./record-key.js";
