/**
 * `idempotent(fn, options)`: any async function made to run at most once per key — a Queues
 * consumer handling a message that may be delivered twice, a Workflows step that may be retried —
 * with compare-exchange items as the record store, as the Hono middleware (idempotency.ts) does
 * for HTTP requests:
 *
 * - the first call with a key claims it (a create-only item, "in progress", expiring after
 *   `inProgressTtlMs` so a call that crashed frees the key);
 * - its result replaces the claim (conditional on the claim's index) and is kept `retentionMs`;
 * - a later call with the same key and the same arguments gets the stored result; `fn` does not
 *   run again. Another call while the first runs, or a call that reuses the key with other
 *   arguments, throws `IdempotencyConflictError` (a queue consumer retries the message later).
 *
 * A throwing `fn` frees the key (its effect is presumed not done), so a retry runs it again.
 * Results are stored as JSON: return values JSON can carry.
 */
import { expiresIn, type CmpxchgApi } from "./api.js";
import { checkPrefix, hex, MAX_KEY_LENGTH, recordKey } from "./record-key.js";

export interface IdempotentOptions<A extends unknown[]> {
  /** The record store. */
  client: CmpxchgApi;
  /** Whose keys these are (a tenant, a queue's name): part of every record's key. */
  scope: string;
  /** The key of a call, e.g. `(message) => message.id`: at most 255 characters. */
  key: (...args: A) => string;
  /** What makes two calls "the same". Default: SHA-256 of the arguments as JSON. */
  fingerprint?: (...args: A) => string | Promise<string>;
  /** How long a result is replayed (default 24 h). */
  retentionMs?: number;
  /** How long a claim blocks the key while `fn` runs; must exceed its longest run (default 30 s). */
  inProgressTtlMs?: number;
  /** Key prefix of the records (default `idempotent/`). */
  prefix?: string;
}

/** A call that cannot run now: the key's first call is still running, or the key was used for other arguments. */
export class IdempotencyConflictError extends Error {
  constructor(
    readonly reason: "in-progress" | "reused",
    readonly key: string,
  ) {
    super(
      reason === "in-progress"
        ? `A call with idempotency key '${key}' is still running; retry later.`
        : `Idempotency key '${key}' was used for a call with other arguments; use a new key for a new call.`,
    );
    this.name = "IdempotencyConflictError";
  }
}

type CallRecord<R> =
  | { state: "in-progress"; fingerprint: string; startedAt: string }
  | { state: "done"; fingerprint: string; completedAt: string; result: R | null };

const DAY_MS = 24 * 60 * 60 * 1000;

export function idempotent<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
  options: IdempotentOptions<A>,
): (...args: A) => Promise<R> {
  const prefix = options.prefix ?? "idempotent/";
  checkPrefix(prefix, "idempotent()");
  if (typeof options.scope !== "string" || options.scope === "") throw new Error("idempotent(): `scope` must be a non-empty string.");
  const retentionMs = options.retentionMs ?? DAY_MS;
  const inProgressTtlMs = options.inProgressTtlMs ?? 30_000;
  const fingerprintOf = options.fingerprint ?? defaultFingerprint;
  const { client } = options;

  return async (...args: A): Promise<R> => {
    const key = options.key(...args);
    if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new TypeError(`idempotent(): the key must be 1 to ${MAX_KEY_LENGTH} characters.`);
    }
    const itemKey = await recordKey(options.scope, key, prefix);
    const fingerprint = await fingerprintOf(...args);
    const claim = await client.create<CallRecord<R>>(
      itemKey,
      { state: "in-progress", fingerprint, startedAt: new Date().toISOString() },
      expiresIn(inProgressTtlMs),
    );
    if (!claim.successful) {
      const existing = claim.value;
      if (existing && existing.fingerprint !== fingerprint) throw new IdempotencyConflictError("reused", key);
      if (existing?.state === "done") return existing.result as R;
      throw new IdempotencyConflictError("in-progress", key);
    }
    let result: R;
    try {
      result = await fn(...args);
    } catch (err) {
      // Not done: free the key so a retry runs `fn` again (if this fails, the claim expires).
      await client.delete(itemKey, claim.index).catch(() => undefined);
      throw err;
    }
    const done: CallRecord<R> = { state: "done", fingerprint, completedAt: new Date().toISOString(), result: result ?? null };
    try {
      await client.put(itemKey, done, claim.index, expiresIn(retentionMs));
    } catch (err) {
      // `fn` ran; its result still goes back. The claim expires and frees the key.
      console.error("idempotent: storing the result failed", err);
    }
    return result;
  };
}

async function defaultFingerprint(...args: unknown[]): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(args) ?? "")));
}
