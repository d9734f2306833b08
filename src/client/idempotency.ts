/**
 * Idempotency keys for Hono apps, after the IETF httpapi `Idempotency-Key` draft and Stripe's
 * practice, with compare-exchange items as the record store:
 *
 * - the first request with a key claims it: a create-only item (so exactly one request wins) that
 *   says "in progress" and expires after `inProgressTtlMs`, so a request that crashed mid-flight
 *   frees the key instead of blocking it forever;
 * - when the handler answers, its response replaces the claim, conditional on the claim's index
 *   (a claim that expired and was taken over is not overwritten), kept for `retentionMs`;
 * - a retry with the same key and the same request gets the stored response again, marked
 *   `Idempotent-Replayed: true`; the handler does not run again.
 *
 * Keys belong to a caller, as Stripe keys belong to an account: `scope` is required and names the
 * caller of each request (the authenticated account, tenant, or API client), and the record lives
 * under `<prefix><sha256(scope)>/<base32(key)>`. So another caller's key is never replayed, never
 * blocked on (409) and never revealed (422): two callers' records are different items. The scope is
 * hashed (fixed length, no "/" — "a/b"+"c" and "a"+"b/c" cannot meet) and the key base32-encoded in
 * lower case, because compare-exchange keys are case-insensitive on the server while
 * Idempotency-Key values are not: `order-1` and `ORDER-1` are two keys. Record keys stay within the
 * server's 512 bytes (a key is at most 255 characters: 408 base32 characters).
 *
 * The scope is not derived from the Authorization header by default: a bearer token that is
 * refreshed between a request and its retry would move the retry to another namespace and run
 * the handler twice. The app knows its principal; `scopeFromHeader()` hashes a header for apps
 * whose credentials are long-lived API keys, and `scope: () => "global"` opts into one shared
 * namespace for apps that really want it. A request whose scope is empty is refused (401): the
 * app should authenticate before this middleware; this is the fail-closed backstop.
 *
 * Errors (RFC 9457 problem+json): 400 when a required key is missing or malformed, 401 when the
 * caller is not identified, 409 while the first request is still in flight, 422 when the key was
 * used for a different request.
 *
 * Responses with a 5xx status (or a thrown handler) are not stored: the claim is deleted so the
 * client's retry runs the handler again, on the premise that a failing handler did not complete
 * its effect. Set `storeServerErrors` to replay them instead, as Stripe does.
 */
import type { Context, Env, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { expiresIn, type CmpxchgApi } from "./api.js";
import type { CmpxchgBinding } from "./service-api.js";
import { CmpxchgServiceClient } from "./service-client.js";
import { checkPrefix, hex, MAX_KEY_LENGTH, recordKey } from "./record-key.js";
import type { CompareExchangeResult } from "./types.js";

// biome-ignore lint/suspicious/noExplicitAny: any app's context: Hono's Env, path and input are the app's own
type AnyContext = Context<any, any, any>;

/** `E`: the app's Hono environment, so the options' callbacks read its typed `c.var` and bindings. */
// biome-ignore lint/suspicious/noExplicitAny: Hono's own default for an unspecified environment
export interface IdempotencyOptions<E extends Env = any> {
  /** The record store: a client, or a function of the request context returning one. */
  client?: CmpxchgApi | ((c: Context<E>) => CmpxchgApi);
  /** Instead of `client`: a Service Binding to CmpxchgService (or a function of the context), with `database`. */
  service?: CmpxchgBinding | ((c: Context<E>) => CmpxchgBinding);
  /** The database of `service`'s records (or a function of the context returning it). */
  database?: string | ((c: Context<E>) => string);
  /** Request header carrying the key (default `Idempotency-Key`). */
  header?: string;
  /**
   * Instead of the header: the key taken from the request itself, e.g. a field of the payload
   * (`async (c) => (await c.req.json()).orderId`), as Powertools' `eventKeyJmesPath` does.
   * Undefined means "no key": the request is refused (400) when `required`, else unprotected.
   */
  key?: (c: Context<E>) => string | undefined | Promise<string | undefined>;
  /** Refuse requests without a key (400). Default false: they pass through unprotected. */
  required?: boolean;
  /** How long a completed response is replayed (default 24 h). */
  retentionMs?: number;
  /** How long a claim blocks the key while its request runs; must exceed the handler's longest run (default 30 s). */
  inProgressTtlMs?: number;
  /** What makes two requests "the same". Default: SHA-256 of method, path with query, and body. */
  fingerprint?: (c: Context<E>) => Promise<string>;
  /**
   * Required: the caller a request's key belongs to (e.g. the authenticated account id), as Stripe
   * scopes keys per account. Null, undefined or "" means "not identified": the request is refused
   * with 401. `() => "global"` puts every caller in one namespace (only for single-tenant apps).
   */
  scope: (c: Context<E>) => string | null | undefined | Promise<string | null | undefined>;
  /** Key prefix of the records (default `idempotency/`, at most 39 UTF-8 bytes). */
  prefix?: string;
  /** Methods the middleware guards (default POST and PATCH, which the draft targets); others pass through. */
  methods?: string[];
  /** Response headers stored and replayed besides the defaults (Content-Type, Location, ETag, …). */
  storeHeaders?: string[];
  /** Largest response body stored (default 512 KiB; a record is at most 1 MiB). Larger ones are not stored. */
  maxBodyBytes?: number;
  /** Replay 5xx responses too instead of letting a retry run the handler again (default false). */
  storeServerErrors?: boolean;
  /**
   * Replay 4xx responses (default true, as Stripe does: the same request gets the same refusal).
   * false frees the key after a 4xx — validation failures are not stored, so a corrected retry
   * with the same key runs the handler, as Powertools does for failed validations.
   */
  storeClientErrors?: boolean;
}

/** A stored response. */
export interface StoredResponse {
  status: number;
  headers: [string, string][];
  /** The body as text, or base64 when it is not valid UTF-8. */
  body: string;
  encoding: "utf8" | "base64";
}

/** What the record item holds. */
export type IdempotencyRecord =
  | { state: "in-progress"; fingerprint: string; startedAt: string }
  | { state: "done"; fingerprint: string; completedAt: string; response: StoredResponse };

export const REPLAYED_HEADER = "Idempotent-Replayed";
const DEFAULT_HEADERS = [
  "content-type",
  "content-language",
  "content-location",
  "location",
  "etag",
  "last-modified",
  "cache-control",
  "link",
  "retry-after",
];
const DAY_MS = 24 * 60 * 60 * 1000;

/** The Hono middleware, typed for the app's environment `E` (Hono's `createMiddleware<E>`). */
// biome-ignore lint/suspicious/noExplicitAny: Hono's own default for an unspecified environment
export function idempotency<E extends Env = any>(options: IdempotencyOptions<E>): MiddlewareHandler<E> {
  const headerName = options.header ?? "Idempotency-Key";
  const methods = new Set((options.methods ?? ["POST", "PATCH"]).map((m) => m.toUpperCase()));
  const retentionMs = options.retentionMs ?? DAY_MS;
  const inProgressTtlMs = options.inProgressTtlMs ?? 30_000;
  const prefix = options.prefix ?? "idempotency/";
  const keep = new Set([...DEFAULT_HEADERS, ...(options.storeHeaders ?? []).map((h) => h.toLowerCase())]);
  const maxBodyBytes = options.maxBodyBytes ?? 512 * 1024;
  const fingerprintOf: (c: Context<E>) => Promise<string> = options.fingerprint ?? ((c) => defaultFingerprint(c as AnyContext));
  const resolveStore = storeResolver(options);
  const storeFor = (c: Context<E>) => resolveStore(c as AnyContext);
  const scopeOf = options.scope;
  if (typeof scopeOf !== "function") {
    throw new Error(
      'idempotency(): pass `scope`, a function naming the caller of a request (e.g. (c) => c.get("account")), ' +
        'so one caller\'s keys are never replayed to another; `scope: () => "global"` shares one namespace on purpose.',
    );
  }
  checkPrefix(prefix, "idempotency()");

  return createMiddleware<E>(async (c, next) => {
    if (!methods.has(c.req.method.toUpperCase())) return next();
    const idempotencyKey = options.key ? await options.key(c) : c.req.header(headerName);
    if (idempotencyKey === undefined) {
      if (options.required)
        return problem(400, "Idempotency-Key is missing", `This operation is idempotent and requires the ${headerName} header.`);
      return next();
    }
    if (!isValidKey(idempotencyKey)) {
      return problem(400, "Idempotency-Key is malformed", `${headerName} must be 1 to ${MAX_KEY_LENGTH} printable characters.`);
    }

    const scope = await scopeOf(c);
    if (typeof scope !== "string" || scope === "") {
      // No caller, no namespace: sharing one would hand this caller's key to others.
      return problem(
        401,
        "Caller not identified",
        `This operation is idempotent per caller; the request carries no credentials the ${headerName} could belong to.`,
      );
    }
    const store = storeFor(c);
    const itemKey = await recordKey(scope, idempotencyKey, prefix);
    const fingerprint = await fingerprintOf(c);

    let claim: CompareExchangeResult<IdempotencyRecord>;
    try {
      const record: IdempotencyRecord = { state: "in-progress", fingerprint, startedAt: new Date().toISOString() };
      claim = await store.create<IdempotencyRecord>(itemKey, record, expiresIn(inProgressTtlMs));
    } catch (err) {
      // Without the record store we cannot promise "at most once": refuse rather than guess.
      console.error("idempotency: claiming the key failed", err);
      return problem(503, "Idempotency store unavailable", "The request was not processed; retry it with the same key.", {
        "Retry-After": "1",
      });
    }

    if (!claim.successful) {
      const existing = claim.value;
      if (existing && existing.fingerprint !== fingerprint) {
        return problem(
          422,
          "Idempotency-Key reused",
          `This ${headerName} was used for a different request; use a new key for a new request.`,
        );
      }
      if (existing?.state === "done") return replay(existing.response);
      return problem(409, "Request in progress", `A request with this ${headerName} is still being processed; retry later.`, {
        "Retry-After": "1",
      });
    }

    await next();

    const response = c.res;
    const unstored =
      (response.status >= 500 && !options.storeServerErrors) ||
      (response.status >= 400 && response.status < 500 && options.storeClientErrors === false);
    if (c.error || unstored) {
      await forget(store, itemKey, claim.index);
      return;
    }
    const body = new Uint8Array(await response.arrayBuffer());
    // The body was consumed to store it: hand the client an identical response.
    c.res = new Response(nullBodyStatus(response.status) ? null : body, {
      status: response.status,
      // An empty reason phrase is left for the runtime to fill in ("201 Created").
      ...(response.statusText ? { statusText: response.statusText } : {}),
      headers: response.headers,
    });
    if (body.byteLength > maxBodyBytes) {
      console.warn(`idempotency: response of ${body.byteLength} bytes is too large to store; the key is freed`);
      await forget(store, itemKey, claim.index);
      return;
    }
    const stored: StoredResponse = {
      status: response.status,
      headers: [...response.headers].filter(([name]) => keep.has(name.toLowerCase())),
      ...encodeBody(body),
    };
    const done: IdempotencyRecord = { state: "done", fingerprint, completedAt: new Date().toISOString(), response: stored };
    try {
      const result = await store.put(itemKey, done, claim.index, expiresIn(retentionMs));
      if (!result.successful) {
        console.warn(`idempotency: the claim on '${itemKey}' expired before the handler finished; its response is not stored`);
      }
    } catch (err) {
      // The handler ran; its response still goes out. The claim expires and frees the key.
      console.error("idempotency: storing the response failed", err);
    }
  });
}

/**
 * A `scope` for apps whose callers present long-lived credentials (API keys) in `header`: SHA-256
 * of its value, or null (401) without it. Not for tokens that are refreshed between a request and
 * its retry — the retry would land in another namespace; scope by the account they name instead.
 */
export function scopeFromHeader(header = "Authorization"): (c: AnyContext) => Promise<string | null> {
  return async (c) => {
    const value = c.req.header(header);
    if (!value) return null;
    return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
  };
}

/** SHA-256 (hex) of the method, the path with its query, and the body bytes. */
export async function defaultFingerprint(c: AnyContext): Promise<string> {
  const url = new URL(c.req.url);
  const head = new TextEncoder().encode(`${c.req.method.toUpperCase()} ${url.pathname}${url.search}\n`);
  // A clone leaves the body readable for the handler however it reads it; if something before
  // us already read it, Hono's body cache has it.
  const body = new Uint8Array(c.req.raw.bodyUsed ? await c.req.arrayBuffer() : await c.req.raw.clone().arrayBuffer());
  const bytes = new Uint8Array(head.byteLength + body.byteLength);
  bytes.set(head, 0);
  bytes.set(body, head.byteLength);
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

// biome-ignore lint/suspicious/noExplicitAny: the store is resolved for any app environment
function storeResolver(options: IdempotencyOptions<any>): (c: AnyContext) => CmpxchgApi {
  const { client, service, database } = options;
  if (client) return typeof client === "function" ? client : () => client;
  if (service && database) {
    return (c) =>
      new CmpxchgServiceClient(
        typeof service === "function" ? service(c) : service,
        typeof database === "function" ? database(c) : database,
      );
  }
  throw new Error("idempotency(): pass `client`, or `service` together with `database`.");
}

/** Frees a claim so a retry runs the handler; if this fails, the claim's expiry frees it. */
async function forget(store: CmpxchgApi, itemKey: string, index: number): Promise<void> {
  try {
    await store.delete(itemKey, index);
  } catch (err) {
    console.error("idempotency: freeing the key failed", err);
  }
}

function replay(stored: StoredResponse): Response {
  const headers = new Headers(stored.headers);
  headers.set(REPLAYED_HEADER, "true");
  const body = nullBodyStatus(stored.status) ? null : decodeBody(stored);
  return new Response(body as BodyInit | null, { status: stored.status, headers });
}

function problem(status: number, title: string, detail: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ type: "about:blank", title, status, detail }), {
    status,
    headers: { "Content-Type": "application/problem+json", ...headers },
  });
}

/** The draft makes the key an sf-string: printable ASCII. Length as Stripe allows. */
function isValidKey(key: string): boolean {
  return key.length >= 1 && key.length <= MAX_KEY_LENGTH && /^[\x20-\x7e]+$/.test(key) && key.trim() !== "";
}

const nullBodyStatus = (status: number) => status === 204 || status === 205 || status === 304;

function encodeBody(body: Uint8Array): Pick<StoredResponse, "body" | "encoding"> {
  try {
    return { body: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(body), encoding: "utf8" };
  } catch {
    let binary = "";
    for (let i = 0; i < body.length; i += 0x8000) binary += String.fromCharCode(...body.subarray(i, i + 0x8000));
    return { body: btoa(binary), encoding: "base64" };
  }
}

function decodeBody(stored: StoredResponse): Uint8Array | string {
  if (stored.encoding === "utf8") return stored.body;
  return Uint8Array.from(atob(stored.body), (ch) => ch.charCodeAt(0));
}
