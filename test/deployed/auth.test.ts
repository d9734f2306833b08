// Authentication as deployed (AUTH on; grants from vitest.config.ts): every denial is RavenDB's
// AuthorizationException — 401 with a Bearer challenge when no valid credential came, 403 when
// the credential does not grant the request — and writes nothing. test/security/ holds the full
// route × role × path-spelling matrix.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const BASE = "http://cmpxchg.test";
/** vitest.config.ts sets this PUBLIC_URL for the deployed-configuration project. */
const PUBLIC_URL = "https://cmpxchg.example.com";
const call = (path: string, token?: string, init: RequestInit & { cf?: unknown } = {}) =>
  exports.default.fetch(
    new Request(BASE + path, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    } as RequestInit),
  );
const unique = () => `k-${crypto.randomUUID()}`;
const put = (db: string, key: string, token?: string) =>
  call(`/databases/${db}/cmpxchg?key=${key}&index=0`, token, { method: "PUT", body: '{"Object":1}' });
/** Whether the key is stored: 200 yes, 404 no; any other answer (a denial, an error) fails the test. */
const exists = async (db: string, key: string) => {
  const res = await call(`/databases/${db}/cmpxchg?key=${key}`, "token-admin");
  const text = await res.text();
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw new Error(`reading ${db}/${key} as admin answered ${res.status}, neither 200 nor 404: ${text.slice(0, 300)}`);
};

async function expectDenied(res: Response) {
  expect(res.status).toBe(403);
  const body = (await res.json()) as Record<string, string>;
  expect(body.Type).toBe("Raven.Client.Exceptions.Security.AuthorizationException");
  expect(body.Message).toMatch(/^Forbidden/);
  expect(body.Url).toBeTypeOf("string");
}

async function expectUnauthenticated(res: Response) {
  expect(res.status).toBe(401);
  expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer /);
  const body = (await res.json()) as Record<string, string>;
  expect(body.Type).toBe("Raven.Client.Exceptions.Security.AuthorizationException");
  expect(body.Message).toMatch(/^Unauthorized/);
}

describe("denials", () => {
  it("no token: denied, nothing written", async () => {
    const key = unique();
    await expectUnauthenticated(await put("orders", key));
    await expectUnauthenticated(await call("/databases/orders/cmpxchg?key=x"));
    await expectUnauthenticated(await call("/topology?name=orders"));
    expect(await exists("orders", key)).toBe(false);
  });

  it("wrong token, malformed header: denied", async () => {
    const key = unique();
    await expectUnauthenticated(await put("orders", key, "token-admin-but-not-quite"));
    await expectUnauthenticated(
      await call(`/databases/orders/cmpxchg?key=${key}&index=0`, undefined, {
        method: "PUT",
        body: '{"Object":1}',
        headers: { Authorization: "Basic dG9rZW4tYWRtaW4=" },
      }),
    );
    expect(await exists("orders", key)).toBe(false);
  });

  it("read-only token writing: denied for PUT, DELETE, bulk_docs and hilo", async () => {
    const key = unique();
    await expectDenied(await put("orders", key, "token-read-orders"));
    await expectDenied(await call(`/databases/orders/cmpxchg?key=${key}&index=1`, "token-read-orders", { method: "DELETE" }));
    await expectDenied(
      await call("/databases/orders/bulk_docs", "token-read-orders", {
        method: "POST",
        body: JSON.stringify({
          Commands: [{ Id: key, Document: { Object: 1 }, Index: 0, Type: "CompareExchangePUT" }],
          TransactionMode: "ClusterWide",
        }),
      }),
    );
    await expectDenied(await call("/databases/orders/hilo/next?tag=users", "token-read-orders"));
    expect(await exists("orders", key)).toBe(false);
  });

  it("a token of another database: denied", async () => {
    const key = unique();
    await expectDenied(await put("orders", key, "token-write-other"));
    await expectDenied(await call(`/databases/orders/cmpxchg?key=${key}`, "token-write-other"));
    expect(await exists("orders", key)).toBe(false);
  });

  it("admin routes need an admin grant", async () => {
    const db = `adm-${crypto.randomUUID().slice(0, 8)}`;
    const create = (token?: string) =>
      call(`/admin/databases?name=${db}`, token, { method: "PUT", body: JSON.stringify({ DatabaseName: db }) });
    await expectUnauthenticated(await create());
    await expectDenied(await create("token-write-orders"));
    await expectDenied(await call("/databases", "token-write-orders"));
    await expectDenied(
      await call("/admin/databases", "token-write-orders", { method: "DELETE", body: JSON.stringify({ DatabaseNames: ["orders"] }) }),
    );
    const list = (await (await call("/databases", "token-admin")).json()) as { Databases: string[] };
    expect(list.Databases).not.toContain(db);
    expect((await create("token-admin")).status).toBe(201);
  });

  it("multi_get cannot smuggle a write", async () => {
    const res = await call("/databases/orders/multi_get", "token-read-orders", {
      method: "POST",
      body: JSON.stringify({
        Requests: [{ Url: "/databases/orders/cmpxchg", Query: "?key=x&index=0", Method: "PUT", Content: { Object: 1 } }],
      }),
    });
    expect(res.status).toBe(400);
  });
});

describe("grants", () => {
  it("read, write and admin tokens do what their role allows; database names ignore case", async () => {
    const key = unique();
    expect((await put("ORDERS", key, "token-write-orders")).status).toBe(200);
    expect((await call(`/databases/orders/cmpxchg?key=${key}`, "token-read-orders")).status).toBe(200);
    expect((await call("/topology?name=orders", "token-read-orders")).status).toBe(200);
    expect((await call("/cluster/node-info", "token-read-orders")).status).toBe(200);
    expect((await put("orders", unique(), "token-admin")).status).toBe(200);
    const lazy = await call("/databases/orders/multi_get", "token-read-orders", {
      method: "POST",
      body: JSON.stringify({ Requests: [{ Url: "/databases/orders/cmpxchg", Query: `?key=${key}`, Method: "GET" }] }),
    });
    expect(((await lazy.json()) as any).Results[0].StatusCode).toBe(200);
  });

  it("a verified client certificate maps to its grant; an unverified one does not", async () => {
    const tls = (certVerified: string) => ({
      cf: { tlsClientAuth: { certVerified, certFingerprintSHA1: "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678" } },
    });
    const key = unique();
    await expectUnauthenticated(
      await call(`/databases/orders/cmpxchg?key=${key}&index=0`, undefined, {
        method: "PUT",
        body: '{"Object":1}',
        ...tls("FAILED:self signed certificate"),
      }),
    );
    expect(await exists("orders", key)).toBe(false);
    const ok = await call(`/databases/orders/cmpxchg?key=${key}&index=0`, undefined, {
      method: "PUT",
      body: '{"Object":1}',
      ...tls("SUCCESS"),
    });
    expect(ok.status).toBe(200);
  });

  it("serves the Studio page without a token (it asks for one)", async () => {
    const res = await call("/studio");
    expect(res.status).toBe(200);
  });

  it("names the configured PUBLIC_URL in the topology, whatever Host the request came with", async () => {
    const res = await exports.default.fetch(
      new Request("http://attacker.example:443/topology?name=orders", { headers: { Authorization: "Bearer token-read-orders" } }),
    );
    expect(res.status).toBe(200);
    const topology = (await res.json()) as { Nodes: { Url: string }[] };
    expect(topology.Nodes.map((n) => n.Url)).toEqual([PUBLIC_URL]);
  });
});

describe("write rate limit", () => {
  it("answers 429 with Retry-After once a database's writes exceed the limit, and reads still work", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await put("limited", unique(), "token-write-limited")).status);
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(10).every((s) => s === 429)).toBe(true);
    const limited = await put("limited", unique(), "token-write-limited");
    expect(limited.headers.get("Retry-After")).toBe("10");
    expect(((await limited.json()) as any).Message).toContain("rate limit");
    expect((await call("/databases/limited/cmpxchg?key=x", "token-admin")).status).toBe(404);
  });
});
