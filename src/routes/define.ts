/**
 * One definition per operation: the route (method, path, access guard, handler) and its entry in
 * the OpenAPI document come from the same object, so a route cannot exist undocumented, and the
 * query, headers and body the document describes are the schemas that validate the request.
 *
 * The guard runs first (authorization before any reading of the request, as before), then the
 * header and query schemas (src/core/schemas/), whose failures are RavenDB's error envelope with
 * the status and type of the validator that failed; bodies are checked by the handler with the
 * documented body schema (checkBody) once its own parser has read them.
 *
 * Hono answers every HEAD request through the GET route of its path (and drops the body), so a
 * HEAD operation gets no route of its own: the GET route of its path hands HEAD requests to it.
 * Only that route's guard runs, so the HEAD operation must have the same one.
 */
import type { OpenAPIHono, RouteConfig, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { parseWith, type QuerySchema, queryObject, queryShape } from "../core/schemas/checked";
import { DatabaseParams } from "../core/schemas/common";
import { requirementOf } from "../middleware/access";
import type { AppEnv } from "../middleware/env";

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface Operation<Q extends QuerySchema | undefined, H extends z.ZodObject | undefined> {
  method: "get" | "head" | "put" | "post" | "delete";
  /** OpenAPI form: `/databases/{db}/cmpxchg`. */
  path: string;
  /** One of middleware/access.ts's guards. */
  guard: MiddlewareHandler<AppEnv>;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  query?: Q;
  headers?: H;
  body?: { schema: z.ZodType; required?: boolean; description?: string };
  responses: RouteConfig["responses"];
}

export type Handler<Q, H> = (c: Context<AppEnv>, input: { query: Out<Q>; headers: Out<H> }) => Response | Promise<Response>;

/** Every operation registered, with the schemas its route validates with (the tests read them). */
export const OPERATIONS: Operation<QuerySchema | undefined, z.ZodObject | undefined>[] = [];

/** The handlers of HEAD operations, by path: their GET route calls them (see the top of this file). */
const heads = new Map<string, (c: Context<AppEnv>) => Promise<Response>>();

/** Registers `op` on `app` (route and document entry) with `handler`. */
export function operation<Q extends QuerySchema | undefined = undefined, H extends z.ZodObject | undefined = undefined>(
  app: OpenAPIHono<AppEnv>,
  op: Operation<Q, H>,
  handler: Handler<Q, H>,
): void {
  OPERATIONS.push(op);
  const { method, path, guard, query, headers, body, ...described } = op;
  app.openAPIRegistry.registerPath({
    method,
    path,
    ...described,
    // Public pages and the description itself need no credentials, whatever AUTH is.
    ...(requirementOf(guard)?.scope === "public" ? { security: [] } : {}),
    request: {
      ...(path.includes("{db}") ? { params: DatabaseParams } : {}),
      ...(query ? { query: queryShape(query) } : {}),
      ...(headers ? { headers } : {}),
      ...(body
        ? {
            body: {
              required: body.required ?? true,
              ...(body.description ? { description: body.description } : {}),
              content: { "application/json": { schema: body.schema } },
            },
          }
        : {}),
    },
  });
  const run = async (c: Context<AppEnv>) => {
    const input = {
      headers: (headers ? parseWith(headers, headerObject(headers, c)) : undefined) as Out<H>,
      query: (query ? parseWith(query, queryObject(queryShape(query), new URL(c.req.url).searchParams)) : undefined) as Out<Q>,
    };
    return handler(c, input);
  };
  if (method === "head") {
    const get = OPERATIONS.find((o) => o.method === "get" && o.path === path);
    if (get?.guard !== guard) throw new Error(`HEAD ${path} needs a GET operation of the same path and guard declared before it`);
    heads.set(path, run);
    return;
  }
  app.on(method.toUpperCase(), path.replace(/\{(\w+)\}/g, ":$1"), guard, (c) => {
    const head = c.req.method === "HEAD" ? heads.get(path) : undefined;
    return (head ?? run)(c);
  });
}

function headerObject(schema: z.ZodObject, c: Context<AppEnv>): Record<string, string | undefined> {
  return Object.fromEntries(Object.keys(schema.shape).map((name) => [name, c.req.header(name)]));
}
