// GET /openapi.json (issue 18.5): the document is generated from the routes' own schemas. Every
// route of the app is in it with its method (and nothing else); every example request in it is
// accepted by the Worker with a documented status and an answer its response schema accepts; a
// query the schema rejects is rejected by the route with RavenDB's envelope carrying the very
// error the schema gave. /docs is the Scalar reference, served with its script from this Worker.
// (The document's validity as OpenAPI 3.1 and the page in a browser: test/e2e/docs.test.ts.)
import type { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { RavenError } from "../src/core/errors";
import { parseWith, queryObject, queryShape } from "../src/core/schemas/checked";
import app from "../src/index";
import { OPERATIONS } from "../src/routes/define";
import { call, freshDb } from "./helpers";

type Json = Record<string, any>;

async function document(): Promise<Json> {
  const res = await call("/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toContain("application/json");
  return (await res.json()) as Json;
}

const resolve = (doc: Json, node: Json): Json => (node?.$ref ? resolve(doc, pointer(doc, node.$ref)) : node);
function pointer(doc: Json, ref: string): Json {
  expect(ref.startsWith("#/")).toBe(true);
  const target = ref
    .slice(2)
    .split("/")
    .reduce<any>((at, part) => at?.[part], doc);
  expect([ref, target === undefined]).toEqual([ref, false]);
  return target;
}
function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refs(n, out));
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node))
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refs(v, out);
  }
  return out;
}
const METHODS = ["get", "head", "put", "post", "delete"] as const;

/** The registered definition of an operation: the zod schemas the route validates with. */
interface RouteDefinition {
  method: string;
  path: string;
  request?: { query?: z.ZodObject };
  responses: Record<string, { content?: Record<string, { schema: z.ZodType }> }>;
}
function definitions(): RouteDefinition[] {
  return app.openAPIRegistry.definitions.filter((d) => d.type === "route").map((d) => (d as unknown as { route: RouteDefinition }).route);
}

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 with the bearer scheme, public, and every $ref resolves", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("edge-cmpxchg");
    expect(doc.servers).toEqual([{ url: "http://cmpxchg.test" }]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    for (const ref of refs(doc)) pointer(doc, ref);
    const ids = METHODS.flatMap((m) => Object.values(doc.paths).map((p: any) => p[m]?.operationId)).filter(Boolean);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(30);
  });

  it("has every route of the app with its method, and only routes", async () => {
    const doc = await document();
    const routes = new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`));
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
        METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    expect(routes.size).toBeGreaterThanOrEqual(30);
    expect([...routes].filter((r) => !documented.has(r))).toEqual([]);
    // Hono serves a HEAD through the GET route of its path (routes/define.ts): that route is the HEAD's.
    const routed = (r: string) => routes.has(r) || (r.startsWith("HEAD ") && routes.has(r.replace(/^HEAD/, "GET")));
    expect([...documented].filter((r) => !routed(r))).toEqual([]);
    expect([...documented].filter((r) => r.startsWith("HEAD "))).toEqual(["HEAD /databases/{db}/docs"]);
  });

  it("documents the query values the routes check, with the types their validators accept", async () => {
    const doc = await document();
    const params = (path: string, method: string) =>
      Object.fromEntries((doc.paths[path][method].parameters as Json[]).map((p) => [`${p.in}:${p.name}`, p]));
    const put = params("/databases/{db}/cmpxchg", "put");
    expect(put["path:db"]).toMatchObject({ required: true, schema: { type: "string" } });
    expect(put["query:key"]).toMatchObject({ required: true, schema: { type: "string" } });
    expect(put["query:index"]).toMatchObject({ required: true, schema: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER } });
    expect(put["query:raft-request-id"]).toMatchObject({ required: false, schema: { type: "string", maxLength: 256 } });
    const get = params("/databases/{db}/cmpxchg", "get");
    expect(get["query:key"]).toMatchObject({ required: false, schema: { type: "array", items: { type: "string" } } });
    expect(get["query:pageSize"]).toMatchObject({ required: false, schema: { type: "integer" } });
    expect(params("/databases/{db}/cmpxchg/changes", "get")["header:Upgrade"]).toMatchObject({ required: true });
    const batch = resolve(doc, doc.paths["/databases/{db}/bulk_docs"].post.requestBody.content["application/json"].schema);
    expect(batch.required).toContain("Commands");
    expect(batch.properties.Commands.maxItems).toBe(1000);
  });

  it("accepts every example request with a documented status and an answer its schema accepts", async () => {
    const doc = await document();
    const database = freshDb("openapi");
    const exercised: string[] = [];
    for (const [path, item] of Object.entries(doc.paths) as [string, any][]) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const label = `${method.toUpperCase()} ${path}`;
        // A WebSocket upgrade is exercised by test/watch.test.ts.
        if (op.responses["101"]) continue;
        const params = (op.parameters ?? []) as Json[];
        const body = op.requestBody ? resolve(doc, resolve(doc, op.requestBody).content["application/json"].schema).example : undefined;
        expect([label, op.requestBody?.required === true && body === undefined]).toEqual([label, false]);
        const query = new URLSearchParams();
        const headers: Record<string, string> = { "Content-Type": "application/json", "Raven-Client-Version": "7.2.2" };
        let url = path.replace("{db}", database);
        for (const p of params) {
          const example = p.schema?.example;
          if (p.in === "path") continue;
          if (example === undefined) {
            // A required value without an example could not be sent.
            expect([label, p.name, p.required]).toEqual([label, p.name, false]);
            continue;
          }
          for (const value of Array.isArray(example) ? example : [example]) {
            if (p.in === "query") query.append(p.name, String(value));
            if (p.in === "header") headers[p.name] = String(value);
          }
        }
        if ([...query].length > 0) url += `?${query}`;
        const res = await call(url, {
          method: method.toUpperCase(),
          headers,
          // Examples name the database of the `db` example; this test's is a fresh one.
          body: body === undefined ? undefined : JSON.stringify(body).replaceAll("/databases/shop/", `/databases/${database}/`),
          redirect: "manual",
        });
        const text = await res.text();
        const documented = Object.keys(op.responses).map(Number);
        expect([label, documented.includes(res.status) && (res.status < 400 || res.status === 404), text.slice(0, 300)]).toEqual([
          label,
          true,
          text.slice(0, 300),
        ]);
        // The answer, checked against the same zod schema the document was generated from.
        const definition = definitions().find((d) => d.method === method && d.path === path)!;
        const schema = definition.responses[res.status]?.content?.["application/json"]?.schema;
        if (schema && text !== "") {
          const checked = schema.safeParse(JSON.parse(text));
          expect([label, checked.success ? "" : checked.error.message]).toEqual([label, ""]);
        }
        exercised.push(label);
      }
    }
    console.log(`openapi: ${exercised.length} operations exercised from their examples`);
    expect(exercised.length).toBeGreaterThanOrEqual(30);
  });
});

/** Queries the route's own schema rejects: each is sent to the route, which must answer with that error. */
const REJECTED: [method: string, path: string, query: string][] = [
  ["put", "/databases/{db}/cmpxchg", ""],
  ["put", "/databases/{db}/cmpxchg", "key=a&index=-1"],
  ["put", "/databases/{db}/cmpxchg", "key=a&index=1.5"],
  ["put", "/databases/{db}/cmpxchg", `key=${"k".repeat(600)}&index=0`],
  ["put", "/databases/{db}/cmpxchg", `key=a&index=0&raft-request-id=${"r".repeat(300)}`],
  ["delete", "/databases/{db}/cmpxchg", "key=%20&index=0"],
  ["get", "/databases/{db}/cmpxchg", "startsWith=a&pageSize=many"],
  ["get", "/databases/{db}/cmpxchg", "start=100001"],
  ["get", "/databases/{db}/cmpxchg", "continuationToken=nope"],
  ["get", "/databases/{db}/cmpxchg/wait", "key=a&index=-2"],
  ["get", "/databases/{db}/cmpxchg/wait", "key=a&index=0&timeout=60001"],
  ["get", "/databases/{db}/docs", "id=a&include=(customers/)"],
  ["get", "/databases/{db}/hilo/next", ""],
  ["put", "/databases/{db}/hilo/return", "tag=users&end=5"],
  ["post", "/databases/{db}/identity/next", "name=%7C"],
  ["post", "/databases/{db}/identity/seed", "name=people&value=ten"],
  ["get", "/databases/{db}/transactions", "limit=x"],
  ["get", "/databases", "pageSize=1e3"],
];

/** What the route's query schema says of `query`: the RavenError of its first failed check, or null. */
function schemaVerdict(method: string, path: string, query: string): RavenError | null {
  const operation = OPERATIONS.find((o) => o.method === method && o.path === path);
  expect(operation?.query, `${method} ${path} has a query schema`).toBeDefined();
  // The document lists the fields of queryShape(schema); the route validates with the whole schema.
  const schema = operation!.query!;
  expect(definitions().find((d) => d.method === method && d.path === path)?.request?.query).toBe(queryShape(schema));
  const value = queryObject(queryShape(schema), new URLSearchParams(query));
  try {
    parseWith(schema, value);
  } catch (err) {
    if (err instanceof RavenError) return err;
    throw err;
  }
  return null;
}

describe("the schemas are what the routes enforce", () => {
  it("a query a route's schema rejects is rejected by the route with that error, in RavenDB's envelope", async () => {
    const database = freshDb("openapi_rejects");
    for (const [method, path, query] of REJECTED) {
      const label = `${method.toUpperCase()} ${path}?${query.slice(0, 40)}`;
      const verdict = schemaVerdict(method, path, query);
      const res = await call(`${path.replace("{db}", database)}?${query}`, {
        method: method.toUpperCase(),
        headers: { "Content-Type": "application/json" },
        body: method === "put" && path.endsWith("/cmpxchg") ? '{"Object":1}' : undefined,
      });
      const envelope = (await res.json()) as Json;
      expect([label, res.status, Object.keys(envelope).sort()]).toEqual([label, 400, ["Error", "Message", "Type", "Url"]]);
      expect([label, verdict === null]).toEqual([label, false]);
      expect([label, envelope.Type, envelope.Message]).toEqual([label, verdict!.type, verdict!.message]);
    }
  });

  it("a query the schema accepts is accepted by the route", async () => {
    const database = freshDb("openapi_accepts");
    const accepted: [string, string, string][] = [
      ["put", "/databases/{db}/cmpxchg", "key=openapi/a&index=0&raft-request-id=r1"],
      ["get", "/databases/{db}/cmpxchg", "startsWith=openapi/&pageSize=5&start=0"],
      ["get", "/databases/{db}/cmpxchg/wait", "key=openapi/a&index=-1&timeout=0"],
      ["post", "/databases/{db}/identity/seed", "name=people&value=10&force=true"],
    ];
    for (const [method, path, query] of accepted) {
      expect(schemaVerdict(method, path, query)).toBeNull();
      const res = await call(`${path.replace("{db}", database)}?${query}`, {
        method: method.toUpperCase(),
        body: method === "put" ? '{"Object":{"n":1}}' : undefined,
      });
      const text = await res.text();
      expect([`${method} ${path}?${query}`, res.status, text.slice(0, 200)]).toEqual([
        `${method} ${path}?${query}`,
        200,
        text.slice(0, 200),
      ]);
    }
  });

  it("a body the parser lets through but the documented shape does not is refused before anything is stored", async () => {
    const database = freshDb("openapi_body");
    // The parser takes any JSON object as a database record; the document says DatabaseName is a string.
    const res = await call(`/admin/databases?name=${database}`, { method: "PUT", body: JSON.stringify({ DatabaseName: 7 }) });
    const envelope = (await res.json()) as Json;
    expect([res.status, envelope.Type]).toEqual([400, "System.IO.InvalidDataException"]);
    expect(envelope.Message).toContain("DatabaseName");
    const names = (await (await call("/databases")).json()) as { Databases: string[] };
    expect(names.Databases).not.toContain(database);
  });
});

describe("GET /docs", () => {
  it("is the Scalar reference of /openapi.json, whose script this Worker serves", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    const page = await res.text();
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain("unsafe-eval");
    expect(page).toContain('<script src="/docs/scalar.js"></script>');
    expect(page).toContain('"url": "/openapi.json"');
    // Nothing the page loads comes from elsewhere.
    expect(page).not.toMatch(/<script[^>]+src="https?:/);
    expect(page).not.toContain("cdn.jsdelivr.net");
    const script = await call("/docs/scalar.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    const text = await script.text();
    expect(text.length).toBeGreaterThan(1_000_000);
    expect(text).toContain("createApiReference");
  });
});
