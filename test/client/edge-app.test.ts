// The example Worker (examples/edge-app) with its Service Binding pointed at this Worker's
// CmpxchgService entrypoint, as `wrangler dev` with both configs wires it. /payments callers are
// Alice and Bob, each with an API key of their own.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app, { type AppEnv } from "../../examples/edge-app/src/index";
import { freshDb } from "./support";

const hex = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (text: string) => hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
const ALICE = { Authorization: "Bearer key-alice" };
const BOB = { Authorization: "Bearer key-bob" };

async function edgeApp() {
  const API_KEYS = JSON.stringify([
    { sha256: await sha256("key-alice"), account: "alice" },
    { sha256: await sha256("key-bob"), account: "bob" },
  ]);
  const env: AppEnv = { CMPXCHG: exports.CmpxchgService, DATABASE: freshDb("edge_app"), API_KEYS };
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
    const { call } = await edgeApp();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call("POST", "/signup", { email: "Ada@X.com", name: `ada${i}` })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(7);
    expect((await call("POST", "/signup", { email: " ada@x.COM " })).status).toBe(409);
    expect((await call("POST", "/signup", { email: "eve@x.com" })).status).toBe(201);
    expect((await call("POST", "/signup", { email: "nope" })).status).toBe(400);
  });

  it("job claim: exactly one of several workers claims a job; a lease frees it", async () => {
    const { call } = await edgeApp();
    const claims = await Promise.all(["w1", "w2", "w3", "w4"].map((worker) => call("POST", "/jobs/42/claim", { worker })));
    const won = claims.filter((c) => c.status === 200);
    expect(won).toHaveLength(1);
    for (const lost of claims.filter((c) => c.status === 409)) expect(lost.json).toEqual({ claimed: false, by: won[0]!.json.worker });

    // A 1.5 s lease: the second claim comes well inside it even on a loaded machine.
    const leased = await call("POST", "/jobs/7/claim", { worker: "w1", leaseMs: 1_500 });
    expect(leased.status).toBe(200);
    expect((await call("POST", "/jobs/7/claim", { worker: "w2" })).status).toBe(409);
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    const retaken = await call("POST", "/jobs/7/claim", { worker: "w2" });
    expect(retaken.status).toBe(200);
    expect(retaken.json.token).toBeGreaterThan(leased.json.token);
  });

  it("payments: 10 concurrent retries with one Idempotency-Key record one payment", async () => {
    const { call } = await edgeApp();
    const key = crypto.randomUUID();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => call("POST", "/payments", { amount: 42 }, { ...ALICE, "Idempotency-Key": key })),
    );
    const created = results.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((r) => r.json.id)).size).toBe(1);
    expect(results.every((r) => r.status === 201 || r.status === 409)).toBe(true);

    const replay = await call("POST", "/payments", { amount: 42 }, { ...ALICE, "Idempotency-Key": key });
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replay.json).toEqual(created[0]!.json);
    expect(replay.headers.get("Location")).toBe(`/payments/${created[0]!.json.id}`);

    expect((await call("POST", "/payments", { amount: 43 }, { ...ALICE, "Idempotency-Key": key })).status).toBe(422);
    expect((await call("POST", "/payments", { amount: 42 }, ALICE)).status).toBe(400);
    const list = await call("GET", "/payments", undefined, ALICE);
    expect(list.json.count).toBe(1);
    expect(list.json.payments[0]).toMatchObject({ id: created[0]!.json.id, amount: 42 });
  });

  it("payments: another caller's Idempotency-Key is neither replayed nor revealed; keys are case-sensitive", async () => {
    const { call } = await edgeApp();
    const pay = (who: Record<string, string>, key: string, amount: number) =>
      call("POST", "/payments", { amount }, { ...who, "Idempotency-Key": key });

    const alice = await pay(ALICE, "order-1001", 42);
    expect(alice.status).toBe(201);
    // Bob: the same key, its case variants, and a new payment under one of them — all his own.
    const bob = [await pay(BOB, "order-1001", 42), await pay(BOB, "ORDER-1001", 42), await pay(BOB, "Order-1001", 99)];
    for (const res of bob) {
      expect([res.status, res.headers.get("Idempotent-Replayed")]).toEqual([201, null]);
      expect(res.json.id).not.toBe(alice.json.id);
    }
    expect(new Set(bob.map((r) => r.json.id)).size).toBe(3);

    // Each one's retries replay their own answer; another body under their own key is 422.
    const aliceRetry = await pay(ALICE, "order-1001", 42);
    expect([aliceRetry.headers.get("Idempotent-Replayed"), aliceRetry.json]).toEqual(["true", alice.json]);
    const bobRetry = await pay(BOB, "Order-1001", 99);
    expect([bobRetry.headers.get("Idempotent-Replayed"), bobRetry.json]).toEqual(["true", bob[2]!.json]);
    expect((await pay(ALICE, "order-1001", 99)).status).toBe(422);

    const alices = await call("GET", "/payments", undefined, ALICE);
    expect(alices.json.payments.map((p: any) => p.id)).toEqual([alice.json.id]);
    const bobs = await call("GET", "/payments", undefined, BOB);
    expect(bobs.json.count).toBe(3);
    expect(bobs.json.payments.map((p: any) => p.amount).sort()).toEqual([42, 42, 99]);
  });

  it("payments: callers without a known API key get 401 and record nothing", async () => {
    const { call } = await edgeApp();
    const anonymous = await call("POST", "/payments", { amount: 1 }, { "Idempotency-Key": "k" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
    expect((await call("POST", "/payments", { amount: 1 }, { Authorization: "Bearer key-mallory", "Idempotency-Key": "k" })).status).toBe(
      401,
    );
    expect((await call("GET", "/payments")).status).toBe(401);
    expect((await call("GET", "/payments", undefined, ALICE)).json.count).toBe(0);
  });

  it("answers malformed or non-object JSON with 400 problem+json, never 500", async () => {
    const { env } = await edgeApp();
    for (const [path, body] of [
      ["/signup", '{"email": '],
      ["/jobs/1/claim", "not json"],
      ["/signup", "[1]"],
      ["/payments", "{"],
    ] as const) {
      const res = await app.fetch(
        new Request(`http://edge-app.test${path}`, {
          method: "POST",
          headers: { ...ALICE, "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
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
