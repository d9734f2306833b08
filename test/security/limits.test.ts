// Bounded work per request (README: Security): every limit answers a 4xx in RavenDB's envelope,
// quickly, without a partial write, and no request makes the Worker or a shard hold more than a
// fixed budget. Figures here are the limits of src/core/limits.ts.
import { describe, expect, it } from "vitest";
import { MAX_KEYS_PER_REQUEST, MAX_PAGE_BYTES, MAX_PAGE_SIZE, MAX_QUERY_CONDITIONS } from "../../src/core/limits";
import { bulk, call, CLIENT_HEADERS, freshDb, getItem, putItem } from "../helpers";

const envelope = async (res: Response) => (await res.json()) as { Type: string; Message: string; Url: string; Error: string };
const nested = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

describe("listings are pages bounded in items and bytes", () => {
  it("cuts a page of large values at the byte budget and resumes with the continuation token, each item once", async () => {
    const db = freshDb("big");
    const value = "x".repeat(900 * 1024);
    const keys = Array.from({ length: 7 }, (_, i) => `big/${i}`);
    for (const key of keys) expect((await putItem(db, key, 0, value)).Successful).toBe(true);
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const res = await call(`/databases/${db}/cmpxchg?startsWith=big/&pageSize=0${token ? `&continuationToken=${token}` : ""}`);
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(text.length).toBeLessThan(MAX_PAGE_BYTES + 1024 * 1024);
      const page = JSON.parse(text) as { Results: { Key: string }[]; ContinuationToken: string | null };
      seen.push(...page.Results.map((r) => r.Key));
      token = page.ContinuationToken;
      pages++;
    } while (token && pages < 10);
    expect(seen).toEqual(keys);
    expect(pages).toBeGreaterThan(1);
  });

  it("holds at most MAX_PAGE_SIZE items per page, and start keeps RavenDB's offset semantics", async () => {
    const db = freshDb("many");
    const commands = Array.from({ length: 999 }, (_, i) => ({
      Type: "CompareExchangePUT",
      Id: `n/${String(i).padStart(4, "0")}`,
      Index: 0,
      Document: { Object: i },
    }));
    for (let i = 0; i < commands.length; i += 333) expect((await bulk(db, commands.slice(i, i + 333))).status).toBe(201);
    for (let i = 999; i < MAX_PAGE_SIZE + 10; i++) await putItem(db, `n/${String(i).padStart(4, "0")}`, 0, i);
    const all = (await (await call(`/databases/${db}/cmpxchg?startsWith=n/`)).json()) as {
      Results: { Key: string }[];
      ContinuationToken: string | null;
    };
    expect(all.Results).toHaveLength(MAX_PAGE_SIZE);
    expect(all.ContinuationToken).not.toBeNull();
    const slice = (await (await call(`/databases/${db}/cmpxchg?startsWith=n/&start=1020&pageSize=3`)).json()) as {
      Results: { Key: string }[];
    };
    expect(slice.Results.map((r) => r.Key)).toEqual(["n/1020", "n/1021", "n/1022"]);
    const beyond = await call(`/databases/${db}/cmpxchg?start=100001`);
    expect(beyond.status).toBe(400);
  });
});

describe("multi_get, multi-key reads and loads are bounded", () => {
  it("refuses a multi_get whose answers would pass the budget (100 full listings of large values)", async () => {
    const db = freshDb("mg");
    const value = "y".repeat(900 * 1024);
    for (let i = 0; i < 6; i++) await putItem(db, `v/${i}`, 0, value);
    const requests = Array.from({ length: 100 }, () => ({ Url: `/databases/${db}/cmpxchg`, Query: "?startsWith=&pageSize=0" }));
    const res = await call(`/databases/${db}/multi_get`, { method: "POST", body: JSON.stringify({ Requests: requests }) });
    expect(res.status).toBe(413);
    expect((await envelope(res)).Message).toMatch(/multi_get/);
    const tooMany = await call(`/databases/${db}/multi_get`, {
      method: "POST",
      body: JSON.stringify({ Requests: Array.from({ length: 101 }, () => ({ Url: `/databases/${db}/cmpxchg`, Query: "?key=a" })) }),
    });
    expect(tooMany.status).toBe(400);
    await tooMany.body?.cancel();
  });

  it("refuses more keys or ids than the limit, and values past the response budget", async () => {
    const db = freshDb("keys");
    const many = Array.from({ length: MAX_KEYS_PER_REQUEST + 1 }, (_, i) => `key=k${i}`).join("&");
    const keys = await call(`/databases/${db}/cmpxchg?${many}`);
    expect(keys.status).toBe(413);
    await keys.body?.cancel();
    const ids = await call(`/databases/${db}/docs`, {
      method: "POST",
      body: JSON.stringify({ Ids: Array.from({ length: 200_000 }, (_, i) => `d/${i}`) }),
    });
    expect(ids.status).toBe(413);
    await ids.body?.cancel();
    const value = "z".repeat(1000 * 1024);
    const big = Array.from({ length: 9 }, (_, i) => `b/${i}`);
    for (const key of big) await putItem(db, key, 0, value);
    const budget = await call(`/databases/${db}/cmpxchg?${big.map((k) => `key=${k}`).join("&")}`);
    expect(budget.status).toBe(413);
    await budget.body?.cancel();
  });
});

describe("bodies are limited while they stream", () => {
  it("answers 413 to a chunked body past the limit without reading all of it", async () => {
    const db = freshDb("chunked");
    let sent = 0;
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    const total = 200 * 1024 * 1024;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= total) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const res = await call(`/databases/${db}/cmpxchg?key=a&index=0`, { method: "PUT", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    await res.body?.cancel();
    expect(sent).toBeLessThan(32 * 1024 * 1024);
    expect(await getItem(db, "a")).toBeNull();
  });
});

describe("JSON nesting is limited at write time", () => {
  it("refuses deep values, documents and batches with 400, and stores nothing", async () => {
    const db = freshDb("deep");
    const deep = nested(100_000);
    const value = await call(`/databases/${db}/cmpxchg?key=deep&index=0`, { method: "PUT", body: `{"Object":${deep}}` });
    expect(value.status).toBe(400);
    expect((await envelope(value)).Type).toBe("System.IO.InvalidDataException");
    const doc = await call(`/databases/${db}/docs?id=deep/1`, { method: "PUT", body: `{"a":${deep}}` });
    expect(doc.status).toBe(400);
    await doc.body?.cancel();
    const batch = await call(`/databases/${db}/bulk_docs`, {
      method: "POST",
      headers: CLIENT_HEADERS,
      body: `{"Commands":[{"Type":"PUT","Id":"deep/2","Document":{"a":${nested(200)}}}]}`,
    });
    expect(batch.status).toBe(400);
    await batch.body?.cancel();
    expect(await getItem(db, "deep")).toBeNull();
    expect((await call(`/databases/${db}/docs?id=deep/1`)).status).toBe(404);
    // Nesting within the limit is fine, and reads back exactly.
    const ok = `{"Object":${nested(60)}}`;
    expect((await call(`/databases/${db}/cmpxchg?key=ok&index=0`, { method: "PUT", body: ok })).status).toBe(200);
  });
});

describe("RQL is bounded in length, conditions and nesting", () => {
  const query = async (db: string, text: string) => {
    const res = await call(`/databases/${db}/queries`, { method: "POST", body: JSON.stringify({ Query: text }) });
    return { status: res.status, body: await envelope(res) };
  };
  it("answers 400 InvalidQueryException past each bound", async () => {
    const db = freshDb("rql");
    const ors = `from Users where ${Array.from({ length: 50_000 }, (_, i) => `Name = 'n${i}'`).join(" or ")}`;
    const parens = `from Users where ${"(".repeat(100_000)}Name = 'a'${")".repeat(100_000)}`;
    const conditions = `from Users where ${Array.from({ length: MAX_QUERY_CONDITIONS + 1 }, () => "a = 1").join(" or ")}`;
    for (const text of [ors, parens, conditions]) {
      const { status, body } = await query(db, text);
      expect(status).toBe(400);
      expect(body.Type).toBe("Raven.Client.Exceptions.InvalidQueryException");
      expect(body.Message.length).toBeLessThan(1100);
    }
    expect((await query(db, "from Users limit 5000")).status).toBe(400);
    expect((await query(db, "from Users where a = 1 or a = 2")).status).toBe(200);
  });
});

describe("keys are well-formed, and errors echo input bounded", () => {
  it("refuses keys with lone surrogates and URL bytes that are not UTF-8, on every path", async () => {
    const db = freshDb("utf");
    for (const raw of ["%ED%A0%80", "%FF%FF%FF", "s%ED%B0%80", "%C3"]) {
      for (const [method, path] of [
        ["PUT", `cmpxchg?key=${raw}&index=0`],
        ["GET", `cmpxchg?key=${raw}`],
        ["DELETE", `cmpxchg?key=${raw}&index=1`],
        ["GET", `docs?id=${raw}`],
      ] as const) {
        const res = await call(`/databases/${db}/${path}`, { method, body: method === "PUT" ? '{"Object":1}' : undefined });
        expect(res.status, `${method} ${path}`).toBe(400);
        await res.body?.cancel();
      }
    }
    for (const key of ["s\ud800", "s\udc00"]) {
      const { status } = await bulk(db, [{ Type: "CompareExchangePUT", Id: key, Index: 0, Document: { Object: 1 } }]);
      expect(status).toBe(400);
      const doc = await bulk(db, [{ Type: "PUT", Id: key, Document: { a: 1 } }], { clusterWide: false });
      expect(doc.status).toBe(400);
    }
    const listed = (await (await call(`/databases/${db}/cmpxchg`)).json()) as { Results: unknown[] };
    expect(listed.Results).toEqual([]);
  });

  it("DELETE applies the same key rules as PUT: a 600-byte key is refused, nothing deleted", async () => {
    const db = freshDb("delkey");
    const res = await call(`/databases/${db}/cmpxchg?key=${"d".repeat(600)}&index=0`, { method: "DELETE" });
    expect(res.status).toBe(400);
    expect((await envelope(res)).Type).toBe("Raven.Client.Exceptions.Documents.CompareExchange.CompareExchangeKeyTooBigException");
  });

  it("echoes a 60,000-byte key in a bounded error body", async () => {
    const db = freshDb("echo");
    const key = "k".repeat(60_000);
    const res = await call(`/databases/${db}/cmpxchg?key=${key}&index=0`, { method: "PUT", body: '{"Object":1}' });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text.length).toBeLessThan(3000);
    const del = await call(`/databases/${db}/cmpxchg?key=${key}&index=1`, { method: "DELETE" });
    expect((await del.text()).length).toBeLessThan(3000);
  });
});
