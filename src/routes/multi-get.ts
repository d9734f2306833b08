/**
 * `POST /databases/<db>/multi_get`: the client's lazy operations, several requests in one round
 * trip. Each inner request goes through the whole app again — URL checks, router, and the
 * route's own authorization, acting for the outer caller — exactly as if it had been sent alone.
 * Inner requests run one after another, and their answers together are bounded in bytes, so one
 * multi_get costs at most what its inner requests would cost sent in sequence.
 *
 * As RavenDB's server does, an inner request may be a POST of a query (the client's lazy queries:
 * `POST /queries` with the query as `Content`), each result carries its response's `ETag` in
 * `Headers`, and an inner `If-None-Match` that still matches answers `StatusCode` 304 with no
 * result, so the client serves lazy loads and queries from its cache.
 */
import type { Context } from "hono";
import { badInput, echo, ErrorTypes, RavenError } from "../core/errors";
import { MAX_MULTI_GET_BYTES, MAX_MULTI_GET_REQUESTS } from "../core/limits";
import { nonCanonicalPath } from "../core/request-url";
import { checkBody } from "../core/schemas/checked";
import { MultiGetBody } from "../core/schemas/documents";
import type { AppEnv } from "../middleware/env";
import { actFor, principalOf } from "../middleware/principal";
import { rawJson } from "../worker/respond";

interface InnerRequest {
  Url: string;
  Query?: string;
  Method?: string;
  Headers?: Record<string, string>;
  /** The body of a POST: JSON text (the Node.js client sends a string) or a JSON object. */
  Content?: unknown;
}

type Fetch = (request: Request, env: Env) => Response | Promise<Response>;

export function multiGet(fetch: Fetch) {
  return async (c: Context<AppEnv>) => {
    const database = c.var.database;
    let body: { Requests?: unknown } | null;
    try {
      body = (await c.req.json()) as { Requests?: unknown } | null;
    } catch {
      throw badInput(ErrorTypes.invalidData, 'multi_get needs a JSON body {"Requests": [ … ]}.');
    }
    const prefix = `/databases/${database}/`;
    const checked = checkBody(MultiGetBody, body, () => {
      const requests = body?.Requests;
      if (!Array.isArray(requests) || requests.length > MAX_MULTI_GET_REQUESTS) {
        throw badInput(ErrorTypes.invalidData, `multi_get needs "Requests": an array of at most ${MAX_MULTI_GET_REQUESTS} requests.`);
      }
      return (requests as unknown[]).map((raw) => checkInner(raw, prefix));
    });
    const origin = new URL(c.req.url).origin;
    const principal = await principalOf(c);
    const results: string[] = [];
    let bytes = 0;
    for (const inner of checked) {
      const request = innerRequest(origin, inner, c.req.header("Raven-Client-Version"));
      const response = await fetch(actFor(request, principal), c.env);
      const text = await response.text();
      bytes += text.length;
      if (bytes > MAX_MULTI_GET_BYTES) {
        throw new RavenError(
          413,
          ErrorTypes.argument,
          `The answers of this multi_get exceed ${MAX_MULTI_GET_BYTES} bytes; split it into smaller ones.`,
        );
      }
      const etag = response.headers.get("ETag");
      const headers = etag === null ? "{}" : `{"ETag":${JSON.stringify(etag)}}`;
      // Answers are our own JSON: passed through as text, so big numbers keep their digits.
      results.push(`{"Result":${text === "" ? "null" : text},"StatusCode":${response.status},"Headers":${headers}}`);
    }
    return rawJson(`{"Results":[${results.join(",")}]}`);
  };
}

function innerRequest(origin: string, inner: InnerRequest, clientVersion: string | undefined): Request {
  try {
    const method = (inner.Method ?? "GET").toUpperCase();
    const content = inner.Content;
    const body =
      method !== "POST" || content === undefined || content === null
        ? null
        : typeof content === "string"
          ? content
          : JSON.stringify(content);
    return new Request(origin + inner.Url + (inner.Query ?? ""), {
      method,
      headers: {
        ...(inner.Headers ?? {}),
        ...(body !== null ? { "Content-Type": "application/json" } : {}),
        ...(clientVersion ? { "Raven-Client-Version": clientVersion } : {}),
      },
      body,
    });
  } catch (err) {
    throw badInput(ErrorTypes.invalidData, `A multi_get inner request is malformed: ${echo((err as Error).message)}`);
  }
}

/** An inner request: a GET of this database's routes, in canonical form, and not a multi_get. */
function checkInner(raw: unknown, prefix: string): InnerRequest {
  const inner = raw as Partial<InnerRequest> | null;
  const url = inner?.Url;
  if (typeof url !== "string" || !url.startsWith(prefix) || /[?#]/.test(url) || nonCanonicalPath(url) !== null) {
    throw badInput(
      ErrorTypes.invalidData,
      `multi_get inner requests must target ${prefix}… with a canonical path, got ${echo(JSON.stringify(url) ?? "nothing")}.`,
    );
  }
  if (url.endsWith("/multi_get")) throw badInput(ErrorTypes.invalidData, "multi_get cannot contain another multi_get.");
  const query = inner?.Query;
  if (query !== undefined && (typeof query !== "string" || (query !== "" && !query.startsWith("?")))) {
    throw badInput(ErrorTypes.invalidData, "multi_get inner Query must be a string starting with '?'.");
  }
  const method = typeof inner?.Method === "string" ? inner.Method.toUpperCase() : inner?.Method === undefined ? "GET" : null;
  // Reads only: GETs, and POSTs of queries (RQL queries here never write).
  if (method !== "GET" && !(method === "POST" && url === `${prefix}queries`)) {
    throw badInput(
      ErrorTypes.invalidData,
      `multi_get inner requests must be GET, or POST of ${prefix}queries; got ${echo(String(inner?.Method))} ${echo(url)}.`,
    );
  }
  const headers = inner?.Headers;
  if (
    headers !== undefined &&
    (headers === null || typeof headers !== "object" || Object.values(headers).some((v) => typeof v !== "string"))
  ) {
    throw badInput(ErrorTypes.invalidData, "multi_get inner Headers must be an object of strings.");
  }
  return inner as InnerRequest;
}
