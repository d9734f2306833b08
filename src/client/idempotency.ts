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
 * Errors (RFC 9457 problem+json): 400 when a required key is missing or malformed, 409 while the
 * first request is still in flight, 422 when the key was used for a different request.
 *
 * Responses with a 5xx status (or a thrown handler) are not stored: the claim is deleted so the
 * client's retry runs the handler again, on the premise that a failing handler did not complete
 * its effect. Set `storeServerErrors` to replay them instead, as Stripe does.
 */
import type { Context, MiddlewareHandler } from "hono";
import { expiresIn, type CmpxchgApi } from "./api.js";
import type { CmpxchgBinding } from "./service-api.js";
import { CmpxchgServiceClient } from "./service-client.js";

type AnyContext = Context<any, any, any>;

export interface IdempotencyOptions {
  /** The record store: a client, or a function of the request context returning one. */
  client?: CmpxchgApi | ((c: AnyContext) => CmpxchgApi);
  /** Instead of `client`: a Service Binding to CmpxchgService (or a function of the context), with `database`. */
  service?: CmpxchgBinding | ((c: AnyContext) => CmpxchgBinding);
  /** The database of `service`'s records (or a function of the context returning it). */
  database?: string | ((c: AnyContext) => string);
  /** Request header carrying the key (default `Idempotency-Key`). */
  header?: string;
  /** Refuse requests without a key (400). Default false: they pass through unprotected. */
  required?: boolean;
  /** How long a completed response is replayed (default 24 h). */
  retentionMs?: number;
  /** How long a claim blocks the key while its request runs; must exceed the handler's longest run (default 30 s). */
  inProgressTtlMs?: number;
  /** What makes two requests "the same". Default: SHA-256 of method, path with query, and body. */
  fingerprint?: (c: AnyContext) => Promise<string>;
  /** Separates keys of different callers (e.g. the authenticated account), as Stripe scopes keys per account. */
  scope?: (c: AnyContext) => string | Promise<string>;
  /** Key prefix of the records (default `idempotency/`). */
  prefix?: string;
  /** Methods the middleware guards (default POST and PATCH, which the draft targets); others pass through. */
  methods?: string[];
  /** Response headers stored and replayed besides the defaults (Content-Type, Location, ETag, …). */
  storeHeaders?: string[];
  /** Largest response body stored (default 512 KiB; a record is at most 1 MiB). Larger ones are not stored. */
  maxBodyBytes?: number;
  /** Replay 5xx responses too instead of letting a retry run the handler again (default false). */
  storeServerErrors?: boolean;
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
  "content-type", "content-language", "content-location", "location", "etag", "last-modified",
  "cache-control", "link", "retry-after",
];
const MAX_KEY_LENGTH = 255;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The Hono middleware. */
export function idempotency(options: IdempotencyOptions): MiddlewareHandler {
  const headerName = options.header ?? "Idempotency-Key";
  const methods = new Set((options.methods ?? ["POST", "PATCH"]).map((m) => m.toUpperCase()));
  const retentionMs = options.retentionMs ?? DAY_MS;
  const inProgressTtlMs = options.inProgressTtlMs ?? 30_000;
  const prefix = options.prefix ?? "idempotency/";
  const keep = new Set([...DEFAULT_HEADERS, ...(options.storeHeaders ?? []).map((h) => h.toLowerCase())]);
  const maxBodyBytes = options.maxBodyBytes ?? 512 * 1024;
  const fingerprintOf = options.fingerprint ?? defaultFingerprint;
  const storeFor = storeResolver(options);

  return async (c, next) => {
    if (!methods.has(c.req.method.toUpperCase())) return next();
    const idempotencyKey = c.req.header(headerName);
    if (idempotencyKey === undefined) {
      if (options.required) return problem(400, "Idempotency-Key is missing", `This operation is idempotent and requires the ${headerName} header.`);
      return next();
    }
    if (!isValidKey(idempotencyKey)) {
      return problem(400, "Idempotency-Key is malformed", `${headerName} must be 1 to ${MAX_KEY_LENGTH} printable characters.`);
    }

    const store = storeFor(c);
    const scope = options.scope ? await options.scope(c) : "";
    const itemKey = `${prefix}${scope ? `${scope}/` : ""}${idempotencyKey}`;
    const fingerprint = await fingerprintOf(c);

    let claim;
    try {
      const record: IdempotencyRecord = { state: "in-progress", fingerprint, startedAt: new Date().toISOString() };
      claim = await store.create<IdempotencyRecord>(itemKey, record, expiresIn(inProgressTtlMs));
    } catch (err) {
      // Without the record store we cannot promise "at most once": refuse rather than guess.
      console.error("idempotency: claiming the key failed", err);
      return problem(503, "Idempotency store unavailable", "The request was not processed; retry it with the same key.", { "Retry-After": "1" });
    }

    if (!claim.successful) {
      const existing = claim.value;
      if (existing && existing.fingerprint !== fingerprint) {
        return problem(422, "Idempotency-Key reused", `This ${headerName} was used for a different request; use a new key for a new request.`);
      }
      if (existing?.state === "done") return replay(existing.response);
      return problem(409, "Request in progress", `A request with this ${headerName} is still being processed; retry later.`, { "Retry-After": "1" });
    }

    await next();

    const response = c.res;
    if (c.error || (response.status >= 500 && !options.storeServerErrors)) {
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

function storeResolver(options: IdempotencyOptions): (c: AnyContext) => CmpxchgApi {
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

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
