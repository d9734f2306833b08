// GET /openapi.json (issue 18.5): the API description matches the app. Every route is documented
// and every documented operation is a route; every example request in the document is accepted
// by the Worker with a documented status, and its answer has the documented required fields.
import { describe, expect, it } from "vitest";
import app from "../src/index";
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
const METHODS = ["get", "put", "post", "delete"] as const;
/** Routes that are not part of the API: the Studio's trailing-slash redirect. */
const NOT_API = new Set(["GET /studio/"]);

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1, public, and every $ref resolves", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("edge-cmpxchg");
    for (const ref of refs(doc)) pointer(doc, ref);
    const ids = METHODS.flatMap((m) => Object.values(doc.paths).map((p: any) => p[m]?.operationId)).filter(Boolean);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("documents every route of the app, and only routes", async () => {
    const doc = await document();
    const routes = new Set(
      app.routes
        .filter((r) => r.method !== "ALL")
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`)
        .filter((r) => !NOT_API.has(r)),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
        METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    expect([...routes].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !routes.has(r))).toEqual([]);
  });

  it("accepts every example request with a documented status and the documented fields", async () => {
    const doc = await document();
    const database = freshDb("openapi");
    const exercised: string[] = [];
    for (const [path, item] of Object.entries(doc.paths) as [string, any][]) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const label = `${method.toUpperCase()} ${path}`;
        const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: Json) => resolve(doc, p));
        // A WebSocket upgrade is exercised by test/watch.test.ts; a request without an example cannot be built.
        if (op.responses["101"]) continue;
        const body = op.requestBody ? resolve(doc, op.requestBody).content?.["application/json"]?.example : undefined;
        if (op.requestBody?.required && body === undefined) continue;
        const query = new URLSearchParams();
        const headers: Record<string, string> = { "Content-Type": "application/json", "Raven-Client-Version": "7.2.2" };
        let url = path.replace("{db}", database);
        for (const p of params) {
          if (p.in === "path") continue;
          if (p.example === undefined) {
            expect([label, p.name, p.required]).toEqual([label, p.name, false]);
            continue;
          }
          if (p.in === "query") query.set(p.name, String(p.example));
          if (p.in === "header") headers[p.name] = String(p.example);
        }
        if ([...query].length > 0) url += `?${query}`;
        const res = await call(url, { method: method.toUpperCase(), headers, body: body === undefined ? undefined : JSON.stringify(body) });
        const text = await res.text();
        const documented = Object.keys(op.responses).map(Number);
        expect([label, documented.includes(res.status) && (res.status < 300 || res.status === 404), text.slice(0, 300)]).toEqual([
          label,
          true,
          text.slice(0, 300),
        ]);
        const schema = op.responses[String(res.status)]?.content?.["application/json"]?.schema;
        if (schema && res.status < 300) {
          const answer = JSON.parse(text) as Json;
          for (const field of resolve(doc, schema).required ?? []) expect([label, field, field in answer]).toEqual([label, field, true]);
        }
        exercised.push(label);
      }
    }
    console.log(`openapi: ${exercised.length} operations exercised from their examples`);
    expect(exercised.length).toBeGreaterThanOrEqual(20);
  });

  it("is readable at /docs: every operation, escaped, no script", async () => {
    const doc = await document();
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    expect(res.headers.get("Content-Security-Policy")).toBe("default-src 'none'");
    const page = await res.text();
    expect(page).not.toContain("<script");
    for (const [path, item] of Object.entries(doc.paths) as [string, any][]) {
      for (const method of METHODS) if (item[method]) expect(page).toContain(`id="${item[method].operationId}"`);
      expect(page).toContain(path);
    }
  });
});
