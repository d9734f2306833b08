/**
 * `GET /`: a small landing page that links the Studio, the API reference and the health check;
 * `GET /health`: a liveness answer for load balancers and uptime checks. Both public: they hold
 * no data. The page is static HTML with no script and nothing fetched from elsewhere.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { html } from "hono/html";
import { SERVER_VERSION } from "../core/server-info";
import { Health } from "../core/schemas/admin";
import { html as htmlPage, json } from "../core/schemas/common";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { operation } from "./define";

export const home = new OpenAPIHono<AppEnv>();
const tags = ["Pages"];

operation(
  home,
  {
    method: "get",
    path: "/",
    guard: access.public,
    operationId: "home",
    tags,
    summary: "A landing page linking the Studio, the API reference and the health check (HTML)",
    responses: { 200: htmlPage("HTML page") },
  },
  (c) => {
    c.header("Content-Security-Policy", "default-src 'none'");
    return c.html(html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>edge-cmpxchg</title></head>
<body>
<h1>edge-cmpxchg</h1>
<p>RavenDB-compatible compare-exchange on Cloudflare Workers and Durable Objects (server version ${SERVER_VERSION}).</p>
<ul>
<li><a href="/studio">Studio</a>: browse, create, edit and delete items (asks for a token when authentication is on)</li>
<li><a href="/docs">API reference</a>, and the same as <a href="/openapi.json">OpenAPI 3.1</a></li>
<li><a href="/health">Health check</a></li>
</ul>
</body>
</html>`);
  },
);

operation(
  home,
  {
    method: "get",
    path: "/health",
    guard: access.public,
    operationId: "health",
    tags,
    summary: "Liveness: the Worker answers",
    responses: { 200: json("Alive", Health) },
  },
  (c) => c.json({ Status: "ok", ServerVersion: SERVER_VERSION }),
);
