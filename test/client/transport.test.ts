// Retries, timeouts and error mapping of the transport, with a scripted fetch; and exactly-once
// retries against the real Worker when a reply is lost.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AuthorizationException,
  type ClusterTransactionConcurrencyException,
  CmpxchgClient,
  ConcurrencyException,
  DatabaseDoesNotExistException,
  NetworkException,
  RavenException,
  ServiceUnavailableException,
  TimeoutException,
} from "../../src/client";
import { errorFromResponse, reviveError } from "../../src/client/errors";
import { backoffDelay, retryAfterMs } from "../../src/client/retry";
import { BASE, clientFor, freshDb, thrown, workerFetch } from "./support";

const FAST = { baseMs: 1, maxMs: 4 };
const envelope = (type: string, message = "m") => JSON.stringify({ Url: "/x", Type: type, Message: message, Error: `${type}: ${message}` });
const written = JSON.stringify({ Index: 7, Value: { Object: 1 }, Successful: true });

/** A fetch that answers from a script, recording every request it got. */
function scripted(steps: Array<() => Response | Promise<Response>>) {
  const requests: Request[] = [];
  const fetch = async (request: Request) => {
    requests.push(request);
    const step = steps[Math.min(requests.length - 1, steps.length - 1)]!;
    return step();
  };
  return { requests, fetch };
}

const client = (fetch: (r: Request) => Promise<Response>, extra: object = {}) =>
  new CmpxchgClient({ url: "https://svc.example/", database: "db", fetch, backoff: FAST, ...extra });

describe("retries", { timeout: 30_000 }, () => {
  it("retries a write on network errors and 5xx with the same request id, then succeeds", async () => {
    const { requests, fetch } = scripted([
      () => Promise.reject(new TypeError("connection reset")),
      () => new Response(envelope("System.TimeoutException"), { status: 503 }),
      () => new Response("bad gateway", { status: 502 }),
      () => new Response(written),
    ]);
    const result = await client(fetch).put("k", 1, 0);
    expect(result).toEqual({ successful: true, index: 7, value: 1, metadata: {} });
    expect(requests).toHaveLength(4);
    const ids = requests.map((r) => new URL(r.url).searchParams.get("raft-request-id"));
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(requests[0]!.url).toBe(`https://svc.example/databases/db/cmpxchg?key=k&index=0&raft-request-id=${ids[0]}`);
  });

  it("uses a fresh request id per call, and the caller's when given", async () => {
    const { requests, fetch } = scripted([() => new Response(written)]);
    const c = client(fetch);
    await c.put("k", 1, 0);
    await c.delete("k", 7);
    await c.create("k", 1, undefined, { requestId: "mine-1" });
    const ids = requests.map((r) => new URL(r.url).searchParams.get("raft-request-id"));
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[2]).toBe("mine-1");
  });

  it("gives up after `retries` and throws the last failure, typed", async () => {
    const unavailable = scripted([() => new Response(envelope("System.TimeoutException"), { status: 503 })]);
    expect(await thrown(() => client(unavailable.fetch, { retries: 2 }).get("k"))).toBeInstanceOf(TimeoutException);
    expect(unavailable.requests).toHaveLength(3);

    const down = scripted([() => Promise.reject(new TypeError("down"))]);
    const err = await thrown(() => client(down.fetch, { retries: 1 }).put("k", 1, 0));
    expect(err).toBeInstanceOf(NetworkException);
    expect((err as Error).cause).toBeInstanceOf(TypeError);
    expect(down.requests).toHaveLength(2);

    const html = scripted([() => new Response("<html>oops</html>", { status: 500 })]);
    expect(await thrown(() => client(html.fetch, { retries: 0 }).get("k"))).toBeInstanceOf(ServiceUnavailableException);
  });

  it("never retries 4xx, 409, or a missing database", async () => {
    for (const [response, cls] of [
      [() => new Response(envelope("Raven.Client.Exceptions.Security.AuthorizationException"), { status: 403 }), AuthorizationException],
      [() => new Response(envelope("Raven.Client.Exceptions.ConcurrencyException"), { status: 409 }), ConcurrencyException],
      [
        () =>
          new Response(envelope("Raven.Client.Exceptions.Database.DatabaseDoesNotExistException"), {
            status: 503,
            headers: { "Database-Missing": "db" },
          }),
        DatabaseDoesNotExistException,
      ],
    ] as const) {
      const { requests, fetch } = scripted([response]);
      expect(await thrown(() => client(fetch).put("k", 1, 0))).toBeInstanceOf(cls);
      expect(requests).toHaveLength(1);
    }
  });

  it("times out a hanging attempt and retries it", async () => {
    const { requests, fetch } = scripted([
      () => new Promise<Response>(() => {}), // never answers
      () => new Response(written),
    ]);
    const started = Date.now();
    const result = await client(fetch, { timeoutMs: 100 }).put("k", 1, 0);
    expect(result.successful).toBe(true);
    expect(requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(requests[0]!.signal.aborted).toBe(true);
  });

  it("stops at once when the caller aborts, without retrying", async () => {
    const { requests, fetch } = scripted([() => Promise.reject(new TypeError("down"))]);
    const controller = new AbortController();
    controller.abort(new Error("user gave up"));
    const err = await thrown(() => client(fetch).put("k", 1, 0, undefined, { signal: controller.signal }));
    expect((err as Error).message).toBe("user gave up");
    expect(requests.length).toBeLessThanOrEqual(1);
  });

  it("sends the bearer token and the client version on batches", async () => {
    const { requests, fetch } = scripted([() => new Response(JSON.stringify({ Results: [], TransactionIndex: 3 }), { status: 201 })]);
    const result = await client(fetch, { token: "s3cret" }).transaction().create("k", 1).commit();
    expect(result).toEqual({ index: 3, results: [] });
    expect(requests[0]!.headers.get("Authorization")).toBe("Bearer s3cret");
    expect(requests[0]!.headers.get("Raven-Client-Version")).toBe("7.2.2");
    expect(await requests[0]!.json()).toEqual({
      Commands: [{ Id: "k", Document: { Object: 1 }, Index: 0, Type: "CompareExchangePUT" }],
      TransactionMode: "ClusterWide",
    });
  });
});

describe("exactly once against the Worker", { timeout: 30_000 }, () => {
  it("a write whose reply was lost is retried with its id and applied once", async () => {
    const db = freshDb("once");
    let lose = 1;
    // Delivers the request, then drops the reply, as a broken connection would.
    const lossy = async (request: Request) => {
      const response = await workerFetch(request);
      if (request.method !== "GET" && lose-- > 0) throw new TypeError("connection lost after send");
      return response;
    };
    const c = new CmpxchgClient({ url: BASE, database: db, fetch: lossy, backoff: FAST });
    const created = await c.create("counter", 1);
    // Without the id, the retry of a create would have reported a conflict with itself.
    expect(created.successful).toBe(true);
    lose = 1;
    const bumped = await c.put("counter", 2, created.index);
    expect(bumped.successful).toBe(true);
    lose = 1;
    const tx = await c.transaction().put("counter", 3, bumped.index).commit();
    expect(tx.index).toBeGreaterThan(bumped.index);
    const now = await clientFor(db).get("counter");
    expect(now).toMatchObject({ value: 3, index: tx.index });
  });
});

describe("policy", () => {
  it("backoff stays within [ceiling/2, ceiling] and the ceiling grows to the cap", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), fc.double({ min: 0, max: 0.9999999, noNaN: true }), (attempt, r) => {
        const options = { baseMs: 50, maxMs: 2_000 };
        const ceiling = Math.min(2_000, 50 * 2 ** attempt);
        const delay = backoffDelay(attempt, options, () => r);
        return delay >= ceiling / 2 && delay <= ceiling;
      }),
    );
  });

  it("reads Retry-After as seconds or a date, capped", () => {
    expect(retryAfterMs("2", 5_000)).toBe(2_000);
    expect(retryAfterMs("60", 5_000)).toBe(5_000);
    expect(retryAfterMs(new Date(1_000_000 + 1_500).toUTCString(), 5_000, 1_000_000)).toBeLessThanOrEqual(1_500);
    expect(retryAfterMs("soon", 5_000)).toBeNull();
    expect(retryAfterMs(null, 5_000)).toBeNull();
  });

  it("picks classes by Type, then status; revives them after RPC", () => {
    const err = errorFromResponse(
      409,
      JSON.stringify({
        Url: "/u",
        Type: "Raven.Client.Exceptions.ClusterTransactionConcurrencyException",
        Message: "conflict",
        Error: "e",
        ConcurrencyViolations: [{ Type: "CompareExchange", Id: "k", Expected: 0, Actual: 4 }],
      }),
    ) as ClusterTransactionConcurrencyException;
    expect(err.name).toBe("ClusterTransactionConcurrencyException");
    expect(err).toMatchObject({
      status: 409,
      url: "/u",
      message: "conflict",
      violations: [{ type: "CompareExchange", id: "k", expected: 0, actual: 4 }],
    });
    expect(errorFromResponse(400, "not json")).toMatchObject({ name: "BadRequestException", message: "HTTP 400: not json" });
    expect(errorFromResponse(401, "")).toBeInstanceOf(AuthorizationException);
    expect(errorFromResponse(418, "")).toBeInstanceOf(RavenException);

    // What RPC delivers: a plain Error with the name and own fields.
    const plain = Object.assign(new Error("conflict"), { name: err.name, status: 409, extra: err.extra });
    const revived = reviveError(plain);
    expect(revived).toBeInstanceOf(ConcurrencyException);
    expect((revived as typeof err).violations).toEqual(err.violations);
    const other = new TypeError("x");
    expect(reviveError(other)).toBe(other);
  });
});
