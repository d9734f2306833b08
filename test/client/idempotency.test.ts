// The idempotency-key middleware in a Hono app: the handler's effect runs once per key under
// concurrency, replays are identical, the draft's 400 / 409 / 422 cases, and keys scoped per
// caller (another caller's key is neither replayed nor revealed; keys are case-sensitive).
import { exports } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { idempotency, recordKey, REPLAYED_HEADER, scopeFromHeader, type IdempotencyOptions } from "../../src/client/hono";
import { clientFor, delay, freshDb } from "./support";

interface SendInit {
  method?: string;
  path?: string;
  /** The caller (X-Caller header, the harness's default scope); null sends none. Default "alice". */
  caller?: string | null;
  headers?: Record<string, string>;
}

interface Harness {
  app: Hono;
  db: string;
  effects: () => number;
  send: (key: string | null, body?: unknown, init?: SendInit) => Promise<Response>;
}

/** An app whose POST /payments has a counted side effect and takes 100 ms to answer; callers are named by X-Caller. */
function harness(options: Partial<IdempotencyOptions> = {}, handler?: (c: any, n: number) => Promise<Response>): Harness {
  const db = freshDb("idem");
  let effects = 0;
  const app = new Hono();
  app.use("*", idempotency({ client: clientFor(db), scope: (c) => c.req.header("X-Caller"), ...options }));
  app.post("/payments", async (c) => {
    const body = await c.req.json<{ amount: number }>();
    const n = ++effects;
    if (handler) return handler(c, n);
    await delay(100);
    return c.json({ payment: `pay_${n}`, amount: body.amount }, 201, { Location: `/payments/pay_${n}`, "X-Trace": `t${n}` });
  });
  app.get("/payments", (c) => c.json({ effects }));
  const send = async (key: string | null, body: unknown = { amount: 100 }, init: SendInit = {}) => {
    const caller = init.caller === undefined ? "alice" : init.caller;
    return app.fetch(
      new Request(`http://app.test${init.path ?? "/payments"}`, {
        method: init.method ?? "POST",
        headers: {
          "Content-Type": "application/json",
          ...(key === null ? {} : { "Idempotency-Key": key }),
          ...(caller === null ? {} : { "X-Caller": caller }),
          ...init.headers,
        },
        body: init.method === "GET" ? undefined : JSON.stringify(body),
      }),
    );
  };
  return { app, db, effects: () => effects, send };
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
    // 1.5 s of in-progress TTL: the duplicate below arrives well inside it even on a loaded machine.
    const h = harness({ inProgressTtlMs: 1_500 }, async (c, n) => {
      if (n === 1) await stuck; // the first request "crashes": it never finishes in time
      return c.json({ attempt: n }, 201);
    });
    const first = h.send("k");
    await delay(50);
    expect((await h.send("k")).status).toBe(409);
    await delay(1_600);
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

  it("storeClientErrors: false frees the key after a 4xx, so a corrected retry with the same key runs", async () => {
    const h = harness({ storeClientErrors: false }, async (c, n) =>
      n === 1 ? c.json({ error: "amount is missing" }, 422) : c.json({ ok: n }, 201),
    );
    expect((await h.send("v")).status).toBe(422);
    const corrected = await h.send("v");
    expect([corrected.status, corrected.headers.get(REPLAYED_HEADER)]).toEqual([201, null]);
    expect((await h.send("v")).headers.get(REPLAYED_HEADER)).toBe("true");
    expect(h.effects()).toBe(2);
  });

  it("takes the key from the payload when `key` says where (a header is then not needed)", async () => {
    const h = harness({ key: async (c) => (await c.req.json<{ orderId?: string }>()).orderId });
    const first = await h.send(null, { amount: 5, orderId: "order-9" });
    expect(first.status).toBe(201);
    const again = await h.send(null, { amount: 5, orderId: "order-9" });
    expect([again.headers.get(REPLAYED_HEADER), await again.json()]).toEqual(["true", await first.clone().json()]);
    // Without the field there is no key: unprotected, as a request without the header is.
    await h.send(null, { amount: 5 });
    await h.send(null, { amount: 5 });
    expect(h.effects()).toBe(3);
  });

  it("is typed for the app's environment: callbacks read its typed variables", async () => {
    type AppEnv = { Variables: { account: string } };
    const db = freshDb("idem");
    const app = new Hono<AppEnv>();
    app.use("*", async (c, next) => {
      c.set("account", c.req.header("X-Account") ?? "");
      await next();
    });
    // `c.get("account")` is a string here: a wrong variable name would not compile.
    app.use("*", idempotency<AppEnv>({ client: clientFor(db), scope: (c) => c.get("account") }));
    let runs = 0;
    app.post("/do", (c) => c.json({ run: ++runs }, 201));
    const send = () =>
      app.fetch(new Request("http://app.test/do", { method: "POST", headers: { "Idempotency-Key": "k", "X-Account": "acme" } }));
    await send();
    expect((await send()).headers.get(REPLAYED_HEADER)).toBe("true");
    expect(runs).toBe(1);
  });

  it("another caller's key is neither replayed nor revealed: same key, case variants, other bodies", async () => {
    const h = harness();
    const a = await h.send("order-1001", { amount: 42 }, { caller: "alice" });
    expect(a.status).toBe(201);
    const aBody = await a.json();

    // Bob's same key, same body: a payment of his own, not Alice's stored answer.
    const b = await h.send("order-1001", { amount: 42 }, { caller: "bob" });
    expect([b.status, b.headers.get(REPLAYED_HEADER)]).toEqual([201, null]);
    expect(await b.json()).toEqual({ payment: "pay_2", amount: 42 });
    // Case variants are other keys, for Bob and for Alice.
    const bUpper = await h.send("ORDER-1001", { amount: 42 }, { caller: "bob" });
    expect([bUpper.status, bUpper.headers.get(REPLAYED_HEADER)]).toEqual([201, null]);
    // Another body under a key Alice used: no 422 that would tell Bob the key exists.
    const bOther = await h.send("Order-1001", { amount: 99 }, { caller: "bob" });
    expect([bOther.status, await bOther.json()]).toEqual([201, { payment: "pay_4", amount: 99 }]);
    const bOther2 = await h.send("order-1001", { amount: 99 }, { caller: "carol" });
    expect(bOther2.status).toBe(201);
    expect(h.effects()).toBe(5);

    // Each caller's own key still works as before: replay, and 422 for another body.
    const aRetry = await h.send("order-1001", { amount: 42 }, { caller: "alice" });
    expect([aRetry.headers.get(REPLAYED_HEADER), await aRetry.json()]).toEqual(["true", aBody]);
    expect((await h.send("order-1001", { amount: 99 }, { caller: "alice" })).status).toBe(422);
    const bRetry = await h.send("ORDER-1001", { amount: 42 }, { caller: "bob" });
    expect([bRetry.headers.get(REPLAYED_HEADER), await bRetry.json()]).toEqual(["true", { payment: "pay_3", amount: 42 }]);
    expect((await h.send("Order-1001", { amount: 42 }, { caller: "bob" })).status).toBe(422);
    // Case-sensitive for one caller too: Alice's ORDER-1001 is a new request.
    const aUpper = await h.send("ORDER-1001", { amount: 42 }, { caller: "alice" });
    expect([aUpper.status, aUpper.headers.get(REPLAYED_HEADER)]).toEqual([201, null]);
    expect(h.effects()).toBe(6);
  });

  it("another caller's in-flight request (or another case of the key) does not answer 409", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const h = harness({}, async (c, n) => {
      if (n === 1) await gate;
      return c.json({ n }, 201);
    });
    const alice = h.send("k", { amount: 1 }, { caller: "alice" });
    await delay(100);
    expect((await h.send("k", { amount: 1 }, { caller: "alice" })).status).toBe(409); // her own: in flight
    const bob = await h.send("k", { amount: 1 }, { caller: "bob" });
    expect([bob.status, await bob.json()]).toEqual([201, { n: 2 }]);
    // Nor does her own key in another case: a different key.
    const upper = await h.send("K", { amount: 1 }, { caller: "alice" });
    expect([upper.status, await upper.json()]).toEqual([201, { n: 3 }]);
    release();
    expect((await alice).status).toBe(201);
  });

  it("scope and key are encoded unambiguously: a/b+c is not a+b/c; scopes are case-sensitive", async () => {
    const h = harness();
    const pairs: [string, string][] = [
      ["a/b", "c"],
      ["a", "b/c"],
      ["a", "b/C"],
      ["A", "b/c"],
      ["a/", "/c"],
      ["a//", "c"],
    ];
    for (const [caller, key] of pairs) {
      const res = await h.send(key, { amount: 1 }, { caller });
      expect([caller, key, res.status, res.headers.get(REPLAYED_HEADER)]).toEqual([caller, key, 201, null]);
    }
    expect(h.effects()).toBe(pairs.length);
    const keys = await Promise.all(pairs.map(([scope, key]) => recordKey(scope, key)));
    expect(new Set(keys).size).toBe(pairs.length);
    expect(new Set(keys.map((k) => k.toLowerCase())).size).toBe(pairs.length);
    // RFC 4648's test vector, in lower case without padding; the scope as SHA-256 hex.
    expect(await recordKey("s", "foobar")).toBe("idempotency/043a718774c572bd8a25adbeb1bfcd5c0256ae11cecf9f9c3f925d0e52beaf89/mzxw6ytboi");
  });

  it("record keys stay within 512 bytes for the longest key and any scope; longer keys are 400", async () => {
    const h = harness();
    const longest = "K".repeat(255);
    const longScope = "tenant/".repeat(2000);
    const first = await h.send(longest, { amount: 1 }, { caller: longScope });
    expect(first.status).toBe(201);
    expect((await h.send(longest, { amount: 1 }, { caller: longScope })).headers.get(REPLAYED_HEADER)).toBe("true");
    expect((await h.send(longest.toLowerCase(), { amount: 1 }, { caller: longScope })).headers.get(REPLAYED_HEADER)).toBeNull();
    const tooLong = await h.send("K".repeat(256), { amount: 1 }, { caller: longScope });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ status: 400, title: "Idempotency-Key is malformed" });
    expect(h.effects()).toBe(2);

    const items = [];
    for await (const item of clientFor(h.db).listAll("idempotency/")) items.push(item.key);
    expect(items).toHaveLength(2);
    for (const key of items) {
      expect(new TextEncoder().encode(key).byteLength).toBeLessThanOrEqual(512);
      expect(key).toMatch(/^idempotency\/[0-9a-f]{64}\/[a-z2-7]+$/);
    }
  });

  it("refuses to build without a scope, and answers 401 when a request has no caller", async () => {
    const db = freshDb("idem_noscope");
    let message = "";
    try {
      idempotency({ client: clientFor(db) } as unknown as IdempotencyOptions); // as a JavaScript caller could
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/pass `scope`/);
    message = "";
    try {
      idempotency({ client: clientFor(db), scope: () => "global", prefix: "p".repeat(40) });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/prefix/);

    const h = harness({ required: true });
    const anonymous = await h.send("k", { amount: 1 }, { caller: null });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ status: 401, title: "Caller not identified" });
    expect((await h.send("k", { amount: 1 }, { caller: "" })).status).toBe(401);
    expect(h.effects()).toBe(0);
  });

  it('scope: () => "global" shares one namespace on purpose', async () => {
    const h = harness({ scope: () => "global" });
    expect((await h.send("k", { amount: 1 }, { caller: "alice" })).status).toBe(201);
    expect((await h.send("k", { amount: 1 }, { caller: "bob" })).headers.get(REPLAYED_HEADER)).toBe("true");
    expect((await h.send("K", { amount: 1 }, { caller: "bob" })).headers.get(REPLAYED_HEADER)).toBeNull();
    expect(h.effects()).toBe(2);
  });

  it("scopeFromHeader() scopes by a hash of the caller's credentials", async () => {
    const h = harness({ scope: scopeFromHeader("Authorization") });
    const as = (token: string | null, body = { amount: 1 }) =>
      h.send("same", body, { caller: null, headers: token === null ? {} : { Authorization: `Bearer ${token}` } });
    expect((await as("key-a")).status).toBe(201);
    expect((await as("key-b")).headers.get(REPLAYED_HEADER)).toBeNull();
    expect((await as("key-b", { amount: 2 })).status).toBe(422); // key-b's own key, another body
    expect((await as("key-a")).headers.get(REPLAYED_HEADER)).toBe("true");
    expect((await as(null)).status).toBe(401);
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
