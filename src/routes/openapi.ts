/**
 * `GET /openapi.json`: the API description (src/core/openapi.ts). Public, like the Studio's page:
 * it is mounted before authentication in src/index.ts.
 */
import { Hono } from "hono";
import { openApiDocument } from "../core/openapi";

export const openapi = new Hono<{ Bindings: Env }>();

openapi.get("/openapi.json", (c) => c.json(openApiDocument(new URL(c.req.url).origin)));
