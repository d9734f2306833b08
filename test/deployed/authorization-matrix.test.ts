// The authorization matrix, generated from the app's own route list (so a route added without a
// guard fails here): every route × every role × every way of spelling its path, and every GET
// route again as a multi_get inner request. AUTH is on (grants in vitest.config.ts).
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { allows, type Grant, type Requirement } from "../../src/core/auth";
import app from "../../src/index";
import { requirementOf } from "../../src/middleware/access";
import { OPERATIONS } from "../../src/routes/define";

const BASE = "http://cmpxchg.test";
const DB = "orders";

/** Tokens of vitest.config.ts with the grants they carry; `null` sends no credential. */
const ROLES: { token: string | null; grants: Grant[] }[] = [
  { token: null, grants: [] },
  { token: "token-read-orders", grants: [{ database: "orders", role: "read" }] },
  { token: "token-write-orders", grants: [{ database: "Orders", role: "write" }] },
  { token: "token-write-other", grants: [{ database: "other", role: "write" }] },
  { token: "token-read-star", grants: [{ database: "*", role: "read" }] },
  { token: "token-write-star", grants: [{ database: "*", role: "write" }] },
  { token: "token-admin", grants: [{ database: "*", role: "admin" }] },
];

/** What each route is sent, so that an allowed request would really act (write, create, delete). */
const SAMPLES: Record<string, { query?: string; body?: string }> = {
  "PUT /databases/:db/cmpxchg": { query: "?key=matrix/k&index=0", body: '{"Object":1}' },
  "DELETE /databases/:db/cmpxchg": { query: "?key=matrix/k&index=1" },
  "GET /databases/:db/cmpxchg": { query: "?key=matrix/k" },
  "GET /databases/:db/cmpxchg/wait": { query: "?key=matrix/k&index=-1&timeout=0" },
  "PUT /databases/:db/docs": { query: "?id=matrix/doc", body: '{"Name":"x","@metadata":{"@collection":"Matrix"}}' },
  "DELETE /databases/:db/docs": { query: "?id=matrix/doc" },
  "GET /databases/:db/docs": { query: "?id=matrix/doc" },
  "HEAD /databases/:db/docs": { query: "?id=matrix/doc" },
  "POST /databases/:db/docs": { body: '{"Ids":["matrix/doc"]}' },
  "POST /databases/:db/bulk_docs": {
    body: JSON.stringify({
      Commands: [{ Type: "CompareExchangePUT", Id: "matrix/tx", Index: 0, Document: { Object: 1 } }],
      TransactionMode: "ClusterWide",
    }),
  },
  "POST /databases/:db/queries": { body: '{"Query":"from Matrix"}' },
  "POST /databases/:db/multi_get": { body: '{"Requests":[]}' },
  "GET /databases/:db/hilo/next": { query: "?tag=matrix" },
  "PUT /databases/:db/hilo/return": { query: "?tag=matrix&end=1&last=1" },
  "POST /databases/:db/identity/next": { query: "?name=matrix" },
  "POST /databases/:db/identity/seed": { query: "?name=matrix&value=5" },
  "GET /topology": { query: `?name=${DB}` },
  "PUT /admin/databases": { query: "?name=matrix-created" },
  "DELETE /admin/databases": { body: '{"DatabaseNames":["matrix-doomed"]}' },
};

interface Route {
  method: string;
  path: string;
  requirement: Requirement;
}

/** Every routed method and path of the app, with the requirement of its guard. */
function routes(): Route[] {
  const byRoute = new Map<string, { method: string; path: string; guards: Requirement[]; handlers: number }>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue; // app-wide middleware
    const id = `${r.method} ${r.path}`;
    const entry = byRoute.get(id) ?? { method: r.method, path: r.path, guards: [], handlers: 0 };
    const requirement = requirementOf(r.handler);
    if (requirement) {
      // The guard must run before anything else registered for the route.
      expect(entry.handlers, `${id}: a handler is registered before its guard`).toBe(0);
      entry.guards.push(requirement);
    } else entry.handlers++;
    byRoute.set(id, entry);
  }
  const routed = [...byRoute.values()].map((entry) => {
    expect(entry.guards.length, `${entry.method} ${entry.path} must have exactly one access guard`).toBe(1);
    return { method: entry.method, path: entry.path, requirement: entry.guards[0]! };
  });
  // A HEAD operation has no route: the GET route of its path serves it, under that route's guard (routes/define.ts).
  const heads = OPERATIONS.filter((o) => o.method === "head").map((o) => {
    const path = o.path.replace(/\{(\w+)\}/g, ":$1");
    const get = routed.find((r) => r.method === "GET" && r.path === path);
    expect(get, `HEAD ${o.path} is served by a GET route`).toBeDefined();
    return { method: "HEAD", path, requirement: get!.requirement };
  });
  return [...routed, ...heads];
}

const call = (method: string, path: string, token: string | null, body?: string) =>
  exports.default.fetch(
    new Request(BASE + path, {
      method,
      body: method === "GET" || method === "HEAD" ? undefined : body,
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    }),
  );

const isDenied = (status: number) => status === 401 || status === 403;
/** A path that must reach no route and no guard: refused, never served. */
const isRefused = (status: number) => status === 400 || status === 401 || status === 404;

/** Ways of writing the same route's path, or a path that must not be taken for it. */
function spellings(path: string): { name: string; path: string; same: boolean }[] {
  const encodeFirst = (segment: string) =>
    segment.startsWith(":") || segment === "" ? segment : `%${segment.charCodeAt(0).toString(16)}${segment.slice(1)}`;
  const encoded = path.split("/").map(encodeFirst).join("/");
  const parts = path.split("/");
  return [
    { name: "as routed", path, same: true },
    { name: "percent-encoded letters", path: encoded, same: true },
    { name: "double slash", path: path.replace(/^\//, "//"), same: false },
    {
      name: "inner double slash",
      path: parts.length > 2 ? [...parts.slice(0, 2), "", ...parts.slice(2)].join("/") : `${path}//x`,
      same: false,
    },
    { name: "upper case", path: path.replace(/[a-z]/, (c) => c.toUpperCase()), same: false },
    { name: "trailing slash", path: `${path}/`, same: false },
    { name: "encoded slash", path: parts.length > 2 ? path.replace(/\/([^/]*)$/, "%2F$1") : `${path}%2Fx`, same: false },
    { name: "encoded dot segment", path: `${path}/%2e%2e/x`, same: false },
  ].filter((s) => s.path !== path || s.same);
}

const concrete = (path: string, db = DB) => path.replace(":db", db);
const sample = (route: Route) => SAMPLES[`${route.method} ${route.path}`] ?? {};

describe("authorization matrix (from the app's route list)", () => {
  let all: Route[] = [];
  // In a hook, not at collection: a route without a guard must fail tests, not the collection.
  beforeAll(() => {
    all = routes();
  });

  it("covers every route, and every route has exactly one guard", () => {
    expect(all.length).toBeGreaterThanOrEqual(25);
    expect(all.some((r) => r.method === "HEAD")).toBe(true);
    for (const route of all) expect(route.requirement, `${route.method} ${route.path}`).toBeDefined();
  });

  it("HiLo and every other state change need write (or admin) access", () => {
    for (const route of all) {
      const writes =
        route.method !== "GET" &&
        route.method !== "HEAD" &&
        !["POST /databases/:db/queries", "POST /databases/:db/docs", "POST /databases/:db/multi_get"].includes(
          `${route.method} ${route.path}`,
        );
      if (writes || route.path.endsWith("/hilo/next")) {
        expect(route.requirement.scope === "public" ? "public" : route.requirement.role, `${route.method} ${route.path}`).not.toBe("read");
        expect(route.requirement.scope, `${route.method} ${route.path}`).not.toBe("public");
      }
    }
  });

  it("decides every route × role × spelling on what the router matched", async () => {
    const failures: string[] = [];
    for (const route of all) {
      const { query = "", body } = sample(route);
      for (const role of ROLES) {
        const allowed = allows(role.grants, route.requirement, DB) && (role.token !== null || route.requirement.scope === "public");
        // A variant that is itself another route's path is that route's business, tested there.
        const others = new Set(all.filter((r) => r.path !== route.path).map((r) => concrete(r.path)));
        for (const spelling of spellings(concrete(route.path)).filter((s) => s.same || !others.has(s.path))) {
          const res = await call(route.method, spelling.path + query, role.token, body);
          await res.body?.cancel();
          const label = `${route.method} ${spelling.path}${query} as ${role.token ?? "nobody"} (${spelling.name})`;
          if (spelling.same) {
            if (allowed === isDenied(res.status)) failures.push(`${label}: ${res.status}, expected ${allowed ? "allowed" : "denied"}`);
            if (!allowed && role.token === null && res.status !== 401)
              failures.push(`${label}: ${res.status}, expected 401 without credentials`);
          } else if (!isRefused(res.status) && !(isDenied(res.status) && !allowed)) {
            failures.push(`${label}: ${res.status}, expected the path to be refused`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000); // about 1,700 requests: seconds alone, much longer on a loaded 2-core machine

  it("authorizes each multi_get inner request as the caller, route by route", async () => {
    const failures: string[] = [];
    const inner = all.filter((r) => r.method === "GET" && r.path.startsWith("/databases/:db/") && !r.path.endsWith("/changes"));
    expect(inner.length).toBeGreaterThan(5);
    for (const role of ROLES.filter((r) => r.token !== null)) {
      const canReadOrders = allows(role.grants, { scope: "database", role: "read" }, DB);
      const requests = inner.map((route) => ({ Url: concrete(route.path), Query: sample(route).query ?? "" }));
      const res = await call("POST", `/databases/${DB}/multi_get`, role.token, JSON.stringify({ Requests: requests }));
      if (!canReadOrders) {
        if (!isDenied(res.status)) failures.push(`multi_get as ${role.token}: ${res.status}, expected denied`);
        await res.body?.cancel();
        continue;
      }
      const { Results } = (await res.json()) as { Results: { StatusCode: number }[] };
      inner.forEach((route, i) => {
        const allowed = allows(role.grants, route.requirement, DB);
        const status = Results[i]!.StatusCode;
        if (allowed === isDenied(status))
          failures.push(`inner ${route.path} as ${role.token}: ${status}, expected ${allowed ? "allowed" : "denied"}`);
      });
    }
    expect(failures).toEqual([]);
  }, 60_000);

  it("refuses inner requests that step out of the database or are not canonical", async () => {
    for (const url of [
      "/databases/orders/../other/cmpxchg",
      "/databases/orders/%2e%2e/other/cmpxchg",
      "/databases/orders/./cmpxchg",
      "/databases/orders//cmpxchg",
      "/databases/other/cmpxchg",
      "/databases/orders/cmpxchg?key=x",
    ]) {
      const res = await call(
        "POST",
        `/databases/${DB}/multi_get`,
        "token-read-orders",
        JSON.stringify({ Requests: [{ Url: url, Query: "?key=secret" }] }),
      );
      expect(res.status, url).toBe(400);
      await res.body?.cancel();
    }
  });

  it("refuses paths no route matches: 401 to strangers, never a read to anyone", async () => {
    for (const path of ["/nowhere", "/databases/orders", "/admin/whatever", "/databases/orders/cmpxchg/extra"]) {
      const anonymous = await call("GET", path, null);
      expect(anonymous.status, path).toBe(401);
      await anonymous.body?.cancel();
      const reader = await call("GET", path, "token-read-star");
      expect([400, 404], path).toContain(reader.status);
      await reader.body?.cancel();
    }
  });
});

describe("the reported bypasses", () => {
  it("a read-everything token cannot create or delete databases or write through encoded paths", async () => {
    for (const [method, path, body] of [
      ["PUT", "/%61dmin/databases?name=evil", undefined],
      ["DELETE", "/%61dmin/databases", '{"DatabaseNames":["orders"]}'],
      ["PUT", "/d%61tabases/other/cmpxchg?key=pwned&index=0", '{"Object":1}'],
      ["PUT", "/databases/other/docs?id=pwned", '{"a":1}'],
      ["GET", "/databases/orders/hil%6f/next?tag=users", undefined],
    ] as const) {
      const res = await call(method, path, "token-read-star", body);
      expect(res.status, `${method} ${path}`).toBe(403);
      await res.body?.cancel();
    }
    const pwned = await call("GET", "/databases/other/cmpxchg?key=pwned", "token-admin");
    expect(pwned.status).toBe(404);
    await pwned.body?.cancel();
  });
});
