// The example Worker (examples/edge-app) with its Service Binding pointed at this Worker's
// CmpxchgService entrypoint, as `wrangler dev` with both configs wires it.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app, { type AppEnv } from "../../examples/edge-app/src/index";
import { freshDb } from "./support";

function edgeApp() {
  const env: AppEnv = { CMPXCHG: exports.CmpxchgService, DATABASE: freshDb("edge_app") };
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await app.fetch(
      new Request(`http://edge-app.test${path}`, {
        method,
        headers: { "Content-Type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      env,
    );
    return { status: res.status, headers: res.headers, json: (await res.json()) as any };
  };
  return { env, call };
}

describe("examples/edge-app through the Service Binding", { timeout: 60_000 }, () => {
  it("signup: one account per email, even under 8 concurrent signups", async () => {
    const { call } = edgeApp();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => call("POST", "/signup", { email: "Ada@X.com", name: `ada${i}` })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(7);
    expect((await call("POST", "/signup", { email: " ada@x.COM " })).status).toBe(409);
    expect((await call("POST", "/signup", { email: "eve@x.com" })).status).toBe(201);
    expect((await call("POST", "/signup", { email: "nope" })).status).toBe(400);
  });

  it("job claim: exactly one of several workers claims a job; a lease frees it", async () => {
    const { call } = edgeApp();
    const claims = await Promise.all(["w1", "w2", "w3", "w4"].map((worker) => call("POST", "/jobs/42/claim", { worker })));
    const won = claims.filter((c) => c.status === 200);
    expect(won).toHaveLength(1);
    for (const lost of claims.filter((c) => c.status === 409)) expect(lost.json).toEqual({ claimed: false, by: won[0]!.json.worker });

    const leased = await call("POST", "/jobs/7/claim", { worker: "w1", leaseMs: 200 });
    expect(leased.status).toBe(200);
    expect((await call("POST", "/jobs/7/claim", { worker: "w2" })).status).toBe(409);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const retaken = await call("POST", "/jobs/7/claim", { worker: "w2" });
    expect(retaken.status).toBe(200);
    expect(retaken.json.token).toBeGreaterThan(leased.json.token);
  });

  it("payments: 10 concurrent retries with one Idempotency-Key record one payment", async () => {
    const { call } = edgeApp();
    const key = crypto.randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, () => call("POST", "/payments", { amount: 42 }, { "Idempotency-Key": key })));
    const created = results.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((r) => r.json.id)).size).toBe(1);
    expect(results.every((r) => r.status === 201 || r.status === 409)).toBe(true);

    const replay = await call("POST", "/payments", { amount: 42 }, { "Idempotency-Key": key });
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replay.json).toEqual(created[0]!.json);
    expect(replay.headers.get("Location")).toBe(`/payments/${created[0]!.json.id}`);

    expect((await call("POST", "/payments", { amount: 43 }, { "Idempotency-Key": key })).status).toBe(422);
    expect((await call("POST", "/payments", { amount: 42 })).status).toBe(400);
    const list = await call("GET", "/payments");
    expect(list.json.count).toBe(1);
    expect(list.json.payments[0]).toMatchObject({ id: created[0]!.json.id, amount: 42 });
  });

  it("answers malformed or non-object JSON with 400 problem+json, never 500", async () => {
    const { env } = edgeApp();
    for (const [path, body] of [["/signup", '{"email": '], ["/jobs/1/claim", "not json"], ["/signup", "[1]"], ["/payments", "{"]] as const) {
      const res = await app.fetch(
        new Request(`http://edge-app.test${path}`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
          body,
        }),
        env,
      );
      expect([path, body, res.status]).toEqual([path, body, 400]);
      expect(res.headers.get("Content-Type")).toContain("application/problem+json");
      expect(((await res.json()) as { status: number }).status).toBe(400);
    }
  });
});
