// The HTTP surface through the Worker, as the official client and plain HTTP callers see it.
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { shardOf } from "../src/core/routing";

const BASE = "http://cmpxchg.test";
let dbCounter = 0;
const freshDb = () => `api_${Date.now()}_${++dbCounter}`;
const call = (path: string, init?: RequestInit) => exports.default.fetch(new Request(BASE + path, init));
const cmpxchg = (db: string, query: string) => `/databases/${db}/cmpxchg?${query}`;
const putItem = async (db: string, key: string, index: number, body: unknown, extra = "") => {
  const res = await call(cmpxchg(db, `key=${encodeURIComponent(key)}&index=${index}${extra}`), {
    method: "PUT",
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

describe("topology for the official client", () => {
  it("names one member node at the address the request came to", async () => {
    const res = await call("/topology?name=Orders&first-topology-update&applicationIdentifier=x");
    expect(res.status).toBe(200);
    expect(res.headers.get("Raven-Server-Version")).toBe("7.1.2");
    expect(await res.json()).toEqual({
      Promotables: [],
      Nodes: [{ Url: BASE, ClusterTag: "A", ServerRole: "Member", Database: "Orders" }],
      Etag: 1,
    });
  });

  it("answers cluster topology, node info and client configuration", async () => {
    const cluster = (await (await call("/cluster/topology?first-topology-update")).json()) as any;
    expect(cluster.Topology.Members).toEqual({ A: BASE });
    expect(cluster.Topology.Watchers).toEqual({});
    expect(cluster.Status).toEqual({});
    const info = (await (await call("/cluster/node-info")).json()) as any;
    expect([info.NodeTag, info.ServerRole]).toEqual(["A", "Member"]);
    expect(await (await call("/databases/db1/configuration/client")).json()).toEqual({ Etag: 0, Configuration: null });
  });
});

describe("compare-exchange endpoints", () => {
  it("puts, conflicts, reads, and reports RavenDB's shapes", async () => {
    const db = freshDb();
    const created = await putItem(db, "emails/x", 0, { Object: "users/1" });
    expect(created.status).toBe(200);
    expect(Object.keys(created.json)).toEqual(["Index", "Value", "Successful"]);
    expect(created.json).toMatchObject({ Value: { Object: "users/1" }, Successful: true });
    const index = created.json.Index as number;
    expect(index).toBeGreaterThan(0);

    const conflict = await putItem(db, "EMAILS/X", 0, { Object: "users/999" });
    expect(conflict.json).toEqual({ Index: index, Value: { Object: "users/1" }, Successful: false });

    const res = await call(cmpxchg(db, "key=Emails%2FX"));
    expect(res.headers.get("Content-Type")).toContain("application/json");
    expect(await res.json()).toEqual({ Results: [{ Key: "Emails/X", Value: { Object: "users/1" }, Index: index }] });
  });

  it("answers a single missing key with 404 and an empty body", async () => {
    const res = await call(cmpxchg(freshDb(), "key=nope"));
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("");
  });

  it("answers several keys in request order, echoing them, with Index -1 for missing ones", async () => {
    const db = freshDb();
    const a = await putItem(db, "a/1", 0, { Object: 1 });
    const b = await putItem(db, "b/2", 0, { Object: { n: 2 }, "@metadata": { tag: "x" } });
    const res = await call(cmpxchg(db, "&key=B%2F2&key=missing&key=a%2F1"));
    expect(await res.json()).toEqual({
      Results: [
        { Key: "B/2", Value: { Object: { n: 2 }, "@metadata": { tag: "x" } }, Index: b.json.Index },
        { Key: "missing", Value: null, Index: -1 },
        { Key: "a/1", Value: { Object: 1 }, Index: a.json.Index },
      ],
    });
  });

  it("deletes by index, as RavenDB does", async () => {
    const db = freshDb();
    const { json } = await putItem(db, "k", 0, { Object: 42 });
    const wrong = await call(cmpxchg(db, "key=k&index=0"), { method: "DELETE" });
    expect(await wrong.json()).toEqual({ Index: json.Index, Value: { Object: 42 }, Successful: false });
    const right = (await (await call(cmpxchg(db, `key=K&index=${json.Index}`), { method: "DELETE" })).json()) as any;
    expect(right).toMatchObject({ Value: { Object: 42 }, Successful: true });
    expect(right.Index).toBeGreaterThan(json.Index as number);
    expect((await call(cmpxchg(db, "key=k"))).status).toBe(404);
    const missing = (await (await call(cmpxchg(db, "key=gone&index=7"), { method: "DELETE" })).json()) as any;
    expect(missing).toMatchObject({ Value: null, Successful: true });
  });

  it("keeps values as sent, large integers included", async () => {
    const db = freshDb();
    await putItem(db, "big", 0, '{"Object":{"n":12345678901234567890123}}');
    const text = await (await call(cmpxchg(db, "key=big"))).text();
    expect(text).toContain('"n":12345678901234567890123');
  });

  it("round-trips keys with punctuation and Unicode", async () => {
    const db = freshDb();
    const keys = ["emails/foo+test@email.com", "fĀthēr&s0n", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ x", "😀/ключ"];
    for (const key of keys) expect((await putItem(db, key, 0, { Object: key })).json.Successful).toBe(true);
    for (const key of keys) {
      const res = (await (await call(cmpxchg(db, `key=${encodeURIComponent(key)}`))).json()) as any;
      expect(res.Results[0]).toMatchObject({ Key: key, Value: { Object: key } });
    }
  });

  it("keeps databases apart", async () => {
    const one = freshDb();
    const two = freshDb();
    await putItem(one, "same", 0, { Object: "one" });
    expect((await putItem(two, "same", 0, { Object: "two" })).json.Successful).toBe(true);
  });
});

describe("prefix listing", () => {
  const seed = async (db: string) => {
    for (let i = 0; i < 10; i++) await putItem(db, `Test${i}`, 0, { Object: i });
    for (const key of ["a0", "a1", "z0", "z1", "tesT", "tess"]) await putItem(db, key, 0, { Object: key });
  };
  const keysOf = async (db: string, query: string) => {
    const json = (await (await call(cmpxchg(db, query))).json()) as { Results: { Key: string }[]; ContinuationToken: string | null };
    return { keys: json.Results.map((r) => r.Key), token: json.ContinuationToken };
  };

  it("pages by start and pageSize in lower-cased key order (RavenDB's CanListValues)", async () => {
    const db = freshDb();
    await seed(db);
    expect((await keysOf(db, "&startsWith=test&pageSize=3")).keys).toEqual(["test", "test0", "test1"]);
    expect((await keysOf(db, "&startsWith=TEST&start=1&pageSize=3")).keys).toEqual(["test0", "test1", "test2"]);
    expect((await keysOf(db, "&startsWith=test&start=9&pageSize=5")).keys).toEqual(["test8", "test9"]);
    expect((await keysOf(db, "&startsWith=test")).keys).toHaveLength(11);
    // pageSize 0 or negative means "all", RavenDB's quirk.
    expect((await keysOf(db, "&startsWith=test&pageSize=0")).keys).toHaveLength(11);
    expect((await keysOf(db, "&start=0&pageSize=3")).keys).toEqual(["a0", "a1", "tess"]);
    expect((await keysOf(db, "")).keys).toHaveLength(16);
  });

  it("resumes from a continuation token without repeats or gaps", async () => {
    const db = freshDb();
    await seed(db);
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const query = `&startsWith=test&pageSize=4${token ? `&continuationToken=${token}` : ""}`;
      const page = await keysOf(db, query);
      seen.push(...page.keys);
      token = page.token;
      pages++;
    } while (token && pages < 10);
    expect(seen).toEqual(["test", ...Array.from({ length: 10 }, (_, i) => `test${i}`)]);
    expect(pages).toBe(3);
  });

  it("refuses a token from another prefix or a forged one", async () => {
    const db = freshDb();
    await seed(db);
    const { token } = await keysOf(db, "&startsWith=test&pageSize=2");
    const other = await call(cmpxchg(db, `&startsWith=a&pageSize=2&continuationToken=${token}`));
    expect(other.status).toBe(400);
    const forged = await call(cmpxchg(db, "&pageSize=2&continuationToken=bm9wZQ"));
    expect(forged.status).toBe(400);
  });
});

describe("bad input: RavenDB's envelope, a 4xx, nothing stored", () => {
  const cases: [string, string, string | undefined, number, string][] = [
    ["missing key", "index=0", '{"Object":1}', 400, "System.ArgumentException"],
    ["blank key", "key=%20&index=0", '{"Object":1}', 400, "System.ArgumentException"],
    ["missing index", "key=bad", '{"Object":1}', 400, "System.ArgumentException"],
    ["non-numeric index", "key=bad&index=abc", '{"Object":1}', 400, "System.ArgumentException"],
    ["negative index", "key=bad&index=-1", '{"Object":1}', 400, "System.IO.InvalidDataException"],
    [
      "key of 513 bytes",
      `key=${"a".repeat(513)}&index=0`,
      '{"Object":1}',
      400,
      "Raven.Client.Exceptions.Documents.CompareExchange.CompareExchangeKeyTooBigException",
    ],
    ["body not JSON", "key=bad&index=0", "{nope", 400, "System.IO.InvalidDataException"],
    ["empty body", "key=bad&index=0", undefined, 400, "System.IO.InvalidDataException"],
    ["array body", "key=bad&index=0", "[1,2]", 400, "System.IO.InvalidDataException"],
    ["missing Object", "key=bad&index=0", '{"Value":1}', 400, "System.IO.InvalidDataException"],
    ["metadata not an object", "key=bad&index=0", '{"Object":1,"@metadata":7}', 400, "System.IO.InvalidDataException"],
    ["unparseable @expires", "key=bad&index=0", '{"Object":1,"@metadata":{"@expires":"next tuesday"}}', 400, "System.FormatException"],
    ["oversized value", "key=bad&index=0", `{"Object":"${"x".repeat(1024 * 1024)}"}`, 413, "System.ArgumentException"],
  ];

  it.each(cases)("%s", async (_, query, body, status, type) => {
    const db = freshDb();
    const res = await call(cmpxchg(db, query), { method: "PUT", body });
    expect(res.status).toBe(status);
    const envelope = (await res.json()) as Record<string, string>;
    expect(envelope.Type).toBe(type);
    // The URL is echoed, cut to a bounded length (user input is never echoed whole).
    const url = `/databases/${db}/cmpxchg?${query}`;
    expect(url.startsWith(envelope.Url!.replace(/… \(\d+ more characters\)$/, ""))).toBe(true);
    expect(envelope.Url!.length).toBeLessThan(600);
    expect(envelope.Message?.length).toBeGreaterThan(0);
    expect(envelope.Error).toContain(envelope.Message!);
    const listed = (await (await call(cmpxchg(db, ""))).json()) as { Results: unknown[] };
    expect(listed.Results).toEqual([]);
  });

  it("refuses database names with other characters", async () => {
    const res = await call("/databases/bad$name/cmpxchg?key=a");
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).Type).toBe("System.ArgumentException");
    expect((await call("/topology?name=")).status).toBe(400);
  });

  it("answers unknown routes with RouteNotFoundException", async () => {
    const res = await call("/no/such/route");
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).Type).toBe("Raven.Client.Exceptions.Routing.RouteNotFoundException");
  });

  it("names a RavenDB feature this server lacks (501 NotSupportedException) instead of a missing route", async () => {
    const db = freshDb();
    for (const [method, path, feature] of [
      ["PUT", "/indexes", "static indexes"],
      ["PUT", "/admin/indexes", "static indexes"],
      ["POST", "/counters", "counters"],
      ["PUT", "/attachments?id=users%2F1&name=a", "attachments"],
      ["PATCH", "/docs?id=users%2F1", "patching documents"],
      ["DELETE", "/queries", "deleting by query"],
    ] as const) {
      const res = await call(`/databases/${db}${path}`, { method, body: method === "PUT" || method === "POST" ? "{}" : undefined });
      const body = (await res.json()) as any;
      expect([res.status, body.Type], `${method} ${path}`).toEqual([501, "System.NotSupportedException"]);
      expect(body.Message).toContain(`does not support ${feature}`);
    }
    // Indexes are only refused when created: GET /indexes is no feature path (RouteNotFound).
    expect(((await (await call(`/databases/${db}/indexes`)).json()) as any).Type).toContain("RouteNotFoundException");
  });

  it("refuses bad paging values", async () => {
    expect((await call(cmpxchg(freshDb(), "&pageSize=many"))).status).toBe(400);
    expect((await call(cmpxchg(freshDb(), "&start=x"))).status).toBe(400);
  });
});

describe("exactly-once over HTTP", () => {
  it("returns the first result to a retry with the same raft-request-id", async () => {
    const db = freshDb();
    const first = await putItem(db, "once", 0, { Object: 1 }, "&raft-request-id=abc-1");
    const retry = await putItem(db, "once", 0, { Object: 1 }, "&raft-request-id=abc-1");
    expect(retry).toEqual(first);
    expect(first.json.Successful).toBe(true);
    const other = await putItem(db, "once", 0, { Object: 1 }, "&raft-request-id=abc-2");
    expect(other.json.Successful).toBe(false);
  });
});

describe("concurrent creates over HTTP", () => {
  it("let exactly one of 40 win, across the Worker", async () => {
    const db = freshDb();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => putItem(db, "race", 0, { Object: i })));
    expect(results.filter((r) => r.json.Successful === true)).toHaveLength(1);
    expect(new Set(results.map((r) => r.json.Index)).size).toBe(1);
  });
});

describe("expiry over HTTP", () => {
  it("hides an item from its @expires instant, before the sweep has run, and lets a create take the key", async () => {
    const db = freshDb();
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    const first = await putItem(db, "lease", 0, { Object: "a", "@metadata": { "@expires": expires } });
    const got = (await (await call(cmpxchg(db, "key=lease"))).json()) as any;
    expect(got.Results[0].Value["@metadata"]["@expires"]).toBe(expires);
    // The instant passes (moved into the past in the owning shard: a controlled clock) while its
    // sweeping alarm is still an hour away.
    const owner = env.SHARD.getByName(`${db}/shard-${shardOf("lease", 16)}`);
    const alarm = await runInDurableObject(owner, (_, state) => {
      const sql = state.storage.sql;
      sql.exec("UPDATE items SET expires_at = ? WHERE key = 'lease'", Date.now() - 1);
      expect(sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM items WHERE key = 'lease' AND expires_at < ?", Date.now()).one().n).toBe(1);
      return state.storage.getAlarm();
    });
    expect(alarm).toBeGreaterThan(Date.now() + 60_000);
    expect((await call(cmpxchg(db, "key=lease"))).status).toBe(404);
    const listed = (await (await call(cmpxchg(db, "startsWith=lea"))).json()) as any;
    expect(listed.Results).toEqual([]);
    const second = await putItem(db, "lease", 0, { Object: "b" });
    expect(second.json.Successful).toBe(true);
    expect(second.json.Index as number).toBeGreaterThan(first.json.Index as number);
  });
});

describe("multi_get (lazy operations)", () => {
  it("answers each inner request as the endpoint would, in one round trip", async () => {
    const db = freshDb();
    await putItem(db, "profiles/2", 0, { Object: { nick: "john3" } });
    await putItem(db, "emails/john@example.com", 0, { Object: "users/2" });
    const res = await call(`/databases/${db}/multi_get`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        Requests: [
          { Url: `/databases/${db}/cmpxchg`, Query: "?key=profiles%2F2", Method: "GET", Headers: {} },
          { Url: `/databases/${db}/cmpxchg`, Query: "?&key=emails%2Fjohn%40example.com&key=missing%2Flazy", Method: "GET", Headers: {} },
          { Url: `/databases/${db}/cmpxchg`, Query: "?key=missing%2Fsingle", Method: "GET", Headers: {} },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const json = (await res.json()) as any;
    expect(json.Results.map((r: any) => r.StatusCode)).toEqual([200, 200, 404]);
    expect(json.Results[0].Result.Results[0]).toMatchObject({ Key: "profiles/2", Value: { Object: { nick: "john3" } } });
    expect(json.Results[1].Result.Results.map((r: any) => [r.Key, r.Index === -1])).toEqual([
      ["emails/john@example.com", false],
      ["missing/lazy", true],
    ]);
    expect(json.Results[2].Result).toBeNull();
  });

  it("refuses inner requests outside the database", async () => {
    const db = freshDb();
    const res = await call(`/databases/${db}/multi_get`, {
      method: "POST",
      body: JSON.stringify({ Requests: [{ Url: "/databases/other/cmpxchg", Query: "?key=a" }] }),
    });
    expect(res.status).toBe(400);
  });
});
