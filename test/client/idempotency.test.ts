// The idempotency-key middleware in a Hono app: the handler's effect runs once per key under
// concurrency, replays are identical, and the draft's 400 / 409 / 422 cases.
import { exports } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { idempotency, REPLAYED_HEADER, type IdempotencyOptions } from "../../src/client/hono";
import { clientFor, delay, freshDb } from "./support";

interface Harness {
  app: Hono;
  effects: () => number;
  send: (key: string | null, body?: unknown, init?: { method?: string; path?: string }) => Promise<Response>;
}

/** An app whose POST /payments has a counted side effect and takes `workMs` to answer. */
function harness(options: Partial<IdempotencyOptions> = {}, handler?: (c: any, n: number) => Promise<Response>): Harness {
  const db = freshDb("idem");
  let effects = 0;
  const app = new Hono();
  app.use("*", idempotency({ client: clientFor(db), ...options }));
  app.post("/payments", async (c) => {
    const body = await c.req.json<{ amount: number }>();
    const n = ++effects;
    if (handler) return handler(c, n);
    await delay(100);
    return c.json({ payment: `pay_${n}`, amount: body.amount }, 201, { Location: `/payments/pay_${n}`, "X-Trace": `t${n}` });
  });
  app.get("/payments", (c) => c.json({ effects }));
  const send = async (key: string | null, body: unknown = { amount: 100 }, init: { method?: string; path?: string } = {}) =>
    app.fetch(
      new Request(`http://app.test${init.path ?? "/payments"}`, {
        method: init.method ?? "POST",
        headers: { "Content-Type": "application/json", ...(key === null ? {} : { "Idempotency-Key": key }) },
        body: init.method === "GET" ? undefined : JSON.stringify(body),
      }),
    );
  return { app, effects: () => effects, send };
}

const snapshot = async (res: Response) => ({
  status: res.status,
  body: await res.text(),
  contentType: res.headers.get("Content-Type"),
  location: res.headers.get("Location"),
});

describe("idempotency middleware", { timeout: 60_000 }, () => {
  it("runs the handler once for 10 concurrent requests with one key; later retries replay it", async () => {
    const h = harness();
    const responses = await Promise.all(Array.from({ length: 10 }, () => h.send("key-1")));
    expect(h.effects()).toBe(1);
    const fresh = responses.filter((r) => r.status === 201 && !r.headers.has(REPLAYED_HEADER));
    expect(fresh).toHaveLength(1);
    // The others arrived while the first was in flight (409) or after it finished (replay).
    for (const res of responses) {
      if (res === fresh[0]) continue;
      if (res.status === 409) {
        expect(res.headers.get("Content-Type")).toBe("application/problem+json");
        expect(res.headers.get("Retry-After")).toBe("1");
        expect(await res.json()).toMatchObject({ status: 409, title: "Request in progress" });
      } else {
        expect(res.headers.get(REPLAYED_HEADER)).toBe("true");
      }
    }
    const original = await snapshot(fresh[0]!);
    expect(original).toMatchObject({ status: 201, location: "/payments/pay_1" });
    for (let i = 0; i < 3; i++) {
      const retry = await h.send("key-1");
      expect(retry.headers.get(REPLAYED_HEADER)).toBe("true");
      expect(retry.headers.get("X-Trace")).toBeNull(); // not a stored header
      expect(await snapshot(retry)).toEqual(original);
    }
    expect(h.effects()).toBe(1);
    // A new key is a new request.
    expect((await h.send("key-2")).status).toBe(201);
    expect(h.effects()).toBe(2);
  });

  it("422 when a key is reused for a different request (body or path)", async () => {
    const h = harness({ methods: ["POST", "PUT"] });
    expect((await h.send("k", { amount: 100 })).status).toBe(201);
    const otherBody = await h.send("k", { amount: 999 });
    expect(otherBody.status).toBe(422);
    expect(await otherBody.json()).toMatchObject({ status: 422, title: "Idempotency-Key reused" });
    expect((await h.send("k", { amount: 100 }, { path: "/payments?currency=eur" })).status).toBe(422);
    expect(h.effects()).toBe(1);
  });

  it("400 without a key where required; without `required` requests pass through", async () => {
    const strict = harness({ required: true });
    const missing = await strict.send(null);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ status: 400, title: "Idempotency-Key is missing" });
    expect((await strict.send("x".repeat(256))).status).toBe(400);
    expect((await strict.send("bad\tkey")).status).toBe(400);
    expect(strict.effects()).toBe(0);
    // Methods outside the guarded set are untouched.
    expect((await strict.send(null, undefined, { method: "GET" })).status).toBe(200);

    const lenient = harness();
    expect((await lenient.send(null)).status).toBe(201);
    expect((await lenient.send(null)).status).toBe(201);
    expect(lenient.effects()).toBe(2);
  });

  it("a crashed in-flight request frees its key after inProgressTtlMs", async () => {
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const h = harness({ inProgressTtlMs: 300 }, async (c, n) => {
      if (n === 1) await stuck; // the first request "crashes": it never finishes in time
      return c.json({ attempt: n }, 201);
    });
    const first = h.send("k");
    await delay(50);
    expect((await h.send("k")).status).toBe(409);
    await delay(350);
    const second = await h.send("k");
    expect(second.status).toBe(201);
    expect(await second.json()).toEqual({ attempt: 2 });
    // The stale first request finishes late: its claim is gone, so it does not overwrite.
    release();
    expect((await first).status).toBe(201);
    const replay = await h.send("k");
    expect(replay.headers.get(REPLAYED_HEADER)).toBe("true");
    expect(await replay.json()).toEqual({ attempt: 2 });
  });

  it("does not store 5xx or thrown handlers: the retry runs again", async () => {
    const h = harness({}, async (c, n) => {
      if (n === 1) return c.json({ error: "upstream down" }, 502);
      if (n === 2) throw new Error("crash");
      return c.json({ ok: n }, 201);
    });
    expect((await h.send("k")).status).toBe(502);
    expect((await h.send("k")).status).toBe(500);
    const third = await h.send("k");
    expect([third.status, await third.json()]).toEqual([201, { ok: 3 }]);
    expect((await h.send("k")).headers.get(REPLAYED_HEADER)).toBe("true");
    expect(h.effects()).toBe(3);

    const stripe = harness({ storeServerErrors: true }, async (c) => c.json({ error: "down" }, 503));
    await stripe.send("k");
    const replayed = await stripe.send("k");
    expect([replayed.status, replayed.headers.get(REPLAYED_HEADER)]).toEqual([503, "true"]);
    expect(stripe.effects()).toBe(1);
  });

  it("replays binary bodies byte for byte, empty 204s, and 4xx answers", async () => {
    const bytes = new Uint8Array([0, 255, 128, 10, 0xc3, 0x28]);
    const binary = harness({}, async () => new Response(bytes, { status: 200, headers: { "Content-Type": "application/octet-stream" } }));
    expect(new Uint8Array(await (await binary.send("b")).arrayBuffer())).toEqual(bytes);
    const again = await binary.send("b");
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(bytes);
    expect(again.headers.get("Content-Type")).toBe("application/octet-stream");

    const empty = harness({}, async () => new Response(null, { status: 204 }));
    await empty.send("e");
    const replay = await empty.send("e");
    expect([replay.status, await replay.text(), replay.headers.get(REPLAYED_HEADER)]).toEqual([204, "", "true"]);

    const refused = harness({}, async (c) => c.json({ error: "card declined" }, 402));
    await refused.send("r");
    const declined = await refused.send("r");
    expect([declined.status, await declined.json()]).toEqual([402, { error: "card declined" }]);
    expect(refused.effects()).toBe(1);
  });

  it("scopes keys per caller when asked", async () => {
    const h = harness({ scope: (c) => c.req.header("X-Account") ?? "anon" });
    const as = (account: string) =>
      h.app.fetch(new Request("http://app.test/payments", {
        method: "POST",
        headers: { "Idempotency-Key": "same", "X-Account": account, "Content-Type": "application/json" },
        body: JSON.stringify({ amount: 1 }),
      }));
    expect((await as("acct_1")).status).toBe(201);
    expect((await as("acct_2")).status).toBe(201);
    expect((await as("acct_1")).headers.get(REPLAYED_HEADER)).toBe("true");
    expect(h.effects()).toBe(2);
  });

  it("stores its records through a Service Binding", async () => {
    const h = harness({ client: undefined, service: exports.CmpxchgService, database: freshDb("idem_svc") });
    const responses = await Promise.all(Array.from({ length: 5 }, () => h.send("svc-key")));
    expect(h.effects()).toBe(1);
    expect(responses.filter((r) => r.status === 201 && !r.headers.has(REPLAYED_HEADER))).toHaveLength(1);
    expect((await h.send("svc-key")).headers.get(REPLAYED_HEADER)).toBe("true");
  });
});
