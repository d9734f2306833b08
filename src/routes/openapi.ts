/**
 * `GET /openapi.json`: the API description (src/core/openapi.ts), and `GET /docs`: the same
 * document as a plain reference page (server-rendered HTML, no script, nothing fetched from
 * elsewhere). Public, like the Studio's page (it holds no data).
 */
import { Hono } from "hono";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { html } from "hono/html";
import { openApiDocument } from "../core/openapi";

export const openapi = new Hono<AppEnv>();

openapi.get("/openapi.json", access.public, (c) => c.json(openApiDocument(new URL(c.req.url).origin)));

// biome-ignore lint/suspicious/noExplicitAny: walks our own OpenAPI document, whose shape src/core/openapi.ts fixes
type Json = Record<string, any>;
const METHODS = ["get", "put", "post", "delete"] as const;
const deref = (doc: Json, node: Json | undefined): Json | undefined =>
  node?.$ref
    ? deref(
        doc,
        (node.$ref as string)
          .slice(2)
          .split("/")
          // biome-ignore lint/suspicious/noExplicitAny: a JSON pointer into the same document
          .reduce<any>((at, part) => at?.[part], doc),
      )
    : node;

openapi.get("/docs", access.public, (c) => {
  const doc = openApiDocument(new URL(c.req.url).origin) as Json;
  const operations = Object.entries(doc.paths as Json).flatMap(([path, item]: [string, Json]) =>
    METHODS.filter((m) => item[m]).map((m) => ({
      method: m.toUpperCase(),
      path,
      op: item[m] as Json,
      shared: (item.parameters ?? []) as Json[],
    })),
  );
  const section = ({ method, path, op, shared }: (typeof operations)[number]) => {
    const params = [...shared, ...((op.parameters ?? []) as Json[])];
    const example = deref(doc, op.requestBody)?.content?.["application/json"]?.example;
    return html`<section id="${op.operationId}">
<h2><code>${method} ${path}</code></h2>
<p>${op.summary}</p>${op.description ? html`<p>${op.description}</p>` : ""}
${
  params.length > 0
    ? html`<table><tr><th>parameter</th><th>in</th><th>required</th><th>description</th></tr>${params.map(
        (p) =>
          html`<tr><td><code>${p.name}</code></td><td>${p.in}</td><td>${p.required ? "yes" : "no"}</td><td>${p.description ?? ""}</td></tr>`,
      )}</table>`
    : ""
}
${example === undefined ? "" : html`<p>Example body:</p><pre>${JSON.stringify(example, null, 2)}</pre>`}
<p>Answers: ${Object.entries(op.responses as Json).map(([status, r]: [string, Json]) => html`<br><code>${status}</code> ${r.description}`)}</p>
</section>`;
  };
  c.header("Content-Security-Policy", "default-src 'none'");
  return c.html(html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${doc.info.title} API</title></head>
<body><main>
<h1>${doc.info.title} API <small>${doc.info.version}</small></h1>
<p>${doc.info.description}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${doc.openapi}). Manage items: <a href="/studio">the Studio</a>.</p>
<nav><ul>${operations.map(({ method, path, op }) => html`<li><a href="#${op.operationId}"><code>${method} ${path}</code></a> — ${op.summary}</li>`)}</ul></nav>
${operations.map(section)}
</main></body></html>`);
});
