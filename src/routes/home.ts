/**
 * `GET /`: a small landing page that links the Studio, the API reference and the health check;
 * `GET /health`: a liveness answer for load balancers and uptime checks. Both public: they hold
 * no data. The page is static HTML with no script and nothing fetched from elsewhere.
 */
import { Hono } from "hono";
import { html } from "hono/html";
import { SERVER_VERSION } from "../core/server-info";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";

export const home = new Hono<AppEnv>();

home.get("/", access.public, (c) => {
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
});

home.get("/health", access.public, (c) => c.json({ Status: "ok", ServerVersion: SERVER_VERSION }));
