/**
 * `GET /openapi.json`: the API description, generated from the routes' own schemas (every route
 * is registered with its document entry by ./define.ts). `GET /docs`: the Scalar API reference
 * rendering it, and `GET /docs/scalar.js`: Scalar's script, served from this Worker so that the
 * page works offline and loads nothing from a CDN. All public, like the Studio's page (they hold
 * no data).
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import { BEARER, documentConfig } from "../core/openapi";
import { AnyObject, html, json } from "../core/schemas/common";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { operation } from "./define";

const tags = ["Pages"];
export const SCALAR_PATH = "/docs/scalar.js";

/** Adds the description's routes to `app`, the root app whose routes it describes. */
export function openapiRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", BEARER);
  let cached: { origin: string; body: string } | undefined;

  operation(
    app,
    {
      method: "get",
      path: "/openapi.json",
      guard: access.public,
      operationId: "openapi",
      tags,
      summary: "This description (OpenAPI 3.1)",
      responses: { 200: json("OpenAPI 3.1", AnyObject) },
    },
    (c) => {
      const origin = new URL(c.req.url).origin;
      // Routes do not change after start-up: generate once per origin an isolate is asked under.
      if (cached?.origin !== origin) cached = { origin, body: JSON.stringify(app.getOpenAPI31Document(documentConfig(origin))) };
      return c.body(cached.body, 200, { "Content-Type": "application/json" });
    },
  );

  const page = Scalar({
    url: "/openapi.json",
    cdn: SCALAR_PATH,
    pageTitle: "edge-cmpxchg API",
    // Nothing from elsewhere: no web fonts, no telemetry, no "Ask AI" (Scalar's hosted agent,
    // which would send the document to scalar.com); the page's CSP forbids them anyway.
    withDefaultFonts: false,
    telemetry: false,
    agent: { disabled: true },
    showDeveloperTools: "never",
  });
  operation(
    app,
    {
      method: "get",
      path: "/docs",
      guard: access.public,
      operationId: "docs",
      tags,
      summary: "This description as a reference page (Scalar; HTML)",
      responses: { 200: html("HTML page") },
    },
    async (c) => {
      // biome-ignore lint/suspicious/noExplicitAny: Scalar's middleware is typed for Hono's default Env
      const res = await page(c as any, async () => undefined);
      if (!res) throw new Error("the reference page did not render");
      const body = await res.text();
      c.header("Content-Security-Policy", await docsPolicy(body));
      c.header("X-Content-Type-Options", "nosniff");
      c.header("Referrer-Policy", "no-referrer");
      return c.html(body);
    },
  );

  operation(
    app,
    {
      method: "get",
      path: SCALAR_PATH,
      guard: access.public,
      operationId: "docsScript",
      tags,
      summary: "The reference page's script (Scalar's standalone bundle, MIT)",
      responses: { 200: { description: "JavaScript", content: { "text/javascript": { schema: z.string() } } } },
    },
    async (c) => {
      // Imported when first asked for. That spares the tests' module runner 5 MB per test file; a
      // deployed bundle (esbuild) links the Text module statically all the same.
      const { SCALAR_SCRIPT } = await import("./scalar-script.js");
      return c.body(SCALAR_SCRIPT, 200, {
        "Content-Type": "text/javascript; charset=utf-8",
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
      });
    },
  );
}

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Scripts only from this Worker: Scalar's bundle, and the page's one inline script that starts it
 * (allowed by its hash, so nothing else inline can run); requests (the document, "try it") only
 * to this origin; Scalar injects its styles at runtime.
 */
async function docsPolicy(page: string): Promise<string> {
  const inline = [...page.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? "");
  const hashes = await Promise.all(inline.map(async (text) => `'sha256-${await sha256Base64(text)}'`));
  return [
    "default-src 'none'",
    `script-src 'self' ${hashes.join(" ")}`,
    "style-src 'self' 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
