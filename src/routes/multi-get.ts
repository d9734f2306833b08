/**
 * `POST /databases/<db>/multi_get`: the client's lazy operations, several requests in one round
 * trip. Each inner request is answered by the same app, exactly as if it had been sent alone.
 */
import type { Context } from "hono";
import { checkDatabaseName } from "../core/database";
import { badInput, ErrorTypes } from "../core/errors";
import { encodeJson, parseJson } from "../core/json";
import { markInternal } from "./auth";
import { rawJson } from "./respond";

/** At most this many inner requests per multi_get. */
export const MAX_INNER_REQUESTS = 100;

interface InnerRequest {
  Url: string;
  Query?: string;
  Method?: string;
  Headers?: Record<string, string>;
}

type Fetch = (request: Request, env: Env) => Response | Promise<Response>;

export function multiGet(fetch: Fetch) {
  return async (c: Context<{ Bindings: Env }>) => {
    const database = checkDatabaseName(c.req.param("db"));
    let body: { Requests?: unknown };
    try {
      body = (await c.req.json()) as { Requests?: unknown };
    } catch {
      throw badInput(ErrorTypes.invalidData, 'multi_get needs a JSON body {"Requests": [ … ]}.');
    }
    const requests = body.Requests;
    if (!Array.isArray(requests) || requests.length > MAX_INNER_REQUESTS) {
      throw badInput(ErrorTypes.invalidData, `multi_get needs "Requests": an array of at most ${MAX_INNER_REQUESTS} requests.`);
    }
    const origin = new URL(c.req.url).origin;
    const prefix = `/databases/${database}/`;
    const results = await Promise.all(
      (requests as InnerRequest[]).map(async (inner) => {
        if (typeof inner?.Url !== "string" || !inner.Url.startsWith(prefix) || inner.Url.includes("multi_get")) {
          throw badInput(ErrorTypes.invalidData, `multi_get inner requests must target ${prefix}…, got ${JSON.stringify(inner?.Url)}.`);
        }
        const method = (inner.Method ?? "GET").toUpperCase();
        // Authorized as a whole (reads of this database), so the inner requests skip the check.
        if (method !== "GET") {
          throw badInput(ErrorTypes.invalidData, `multi_get inner requests must be GET, got ${method}.`);
        }
        const request = new Request(origin + inner.Url + (inner.Query ?? ""), {
          method,
          headers: { ...(inner.Headers ?? {}), ...(c.req.header("Raven-Client-Version") ? { "Raven-Client-Version": c.req.header("Raven-Client-Version")! } : {}) },
        });
        const response = await fetch(markInternal(request), c.env);
        const text = await response.text();
        return {
          Result: text === "" ? null : parseJson(text),
          StatusCode: response.status,
          Headers: {},
        };
      }),
    );
    return rawJson(encodeJson({ Results: results }));
  };
}
