/// <reference types="node" />
/**
 * Wire details the official client hides: status codes, headers, error envelopes, request-id
 * replays and the continuation token. Plain fetch against its own `wrangler dev`.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startWranglerDev, type WranglerDev, printServerLogsOnFailure } from "./wrangler-dev";

let server: WranglerDev | undefined;
let dbCounter = 0;

beforeAll(async () => {
  server = await startWranglerDev();
});

printServerLogsOnFailure(() => server);

afterAll(async () => {
  await server?.stop();
});

function base(): string {
  if (!server) throw new Error("wrangler dev did not start");
  return server.url;
}

const newDatabase = () => `e2e_raw_${Date.now()}_${process.pid}_${++dbCounter}`;
const cmpxchgPath = (db: string, query: string) => `/databases/${db}/cmpxchg${query}`;
const enc = encodeURIComponent;

async function send(method: string, pathAndQuery: string, body?: string) {
  const res = await fetch(base() + pathAndQuery, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

const put = (db: string, key: string, index: number | string, body: string, extra = "") =>
  send("PUT", cmpxchgPath(db, `?key=${enc(key)}&index=${index}${extra}`), body);
const getOne = (db: string, key: string) => send("GET", cmpxchgPath(db, `?key=${enc(key)}`));

interface WriteResult {
  Index: number;
  Value: unknown;
  Successful: boolean;
}
interface ListBody {
  Results: { Key: string; Value: unknown; Index: number }[];
  ContinuationToken: string | null;
}

describe("raw HTTP", () => {
  test("a single missing key is a 404 with an empty body", async () => {
    const db = newDatabase();
    const res = await getOne(db, "nothing/here");
    expect(res.status).toBe(404);
    expect(res.text).toBe("");
    expect(res.headers.get("Raven-Server-Version")).toBeTruthy();
  });

  test("Raven-Server-Version is on every kind of response", async () => {
    const db = newDatabase();
    const responses = [
      await send("GET", `/topology?name=${db}&first-topology-update`),
      await send("GET", "/cluster/node-info"),
      await put(db, "hdr/a", 0, '{"Object":1}'),
      await getOne(db, "hdr/a"),
      await getOne(db, "hdr/missing"),
      await send("GET", cmpxchgPath(db, "?&startsWith=hdr/")),
      await send("DELETE", cmpxchgPath(db, "?key=hdr%2Fa&index=999")),
      await put(db, "hdr/b", "abc", '{"Object":1}'), // 400
      await send("GET", "/no/such/route"), // 400 route not found
    ];
    const version = responses[0]!.headers.get("Raven-Server-Version");
    expect(version).toMatch(/^\d+\.\d+/);
    for (const res of responses) {
      expect(res.headers.get("Raven-Server-Version"), `status ${res.status}: ${res.text}`).toBe(version);
    }
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 404, 200, 200, 400, 400]);
  });

  test("/topology names the origin the request came to", async () => {
    const port = new URL(base()).port;
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const db = newDatabase();
      const res = await fetch(`${origin}/topology?name=${db}&first-topology-update`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { Nodes: { Url: string; Database: string; ServerRole: string }[]; Etag: number };
      expect(body.Nodes).toHaveLength(1);
      expect(body.Nodes[0]!.Url).toBe(origin);
      expect(body.Nodes[0]!.Database).toBe(db);
      expect(body.Nodes[0]!.ServerRole).toBe("Member");
      expect(body.Etag).toBeGreaterThan(0);
    }
  });

  describe("bad input answers 400 with a RavenDB error envelope and stores nothing", () => {
    const cases: { name: string; key: string | null; index: string; body: string; type: string }[] = [
      { name: "missing key", key: null, index: "0", body: '{"Object":1}', type: "System.ArgumentException" },
      { name: "blank key", key: "   ", index: "0", body: '{"Object":1}', type: "System.ArgumentException" },
      { name: "missing index", key: "bad/1", index: "", body: '{"Object":1}', type: "System.ArgumentException" },
      { name: "non-numeric index", key: "bad/1", index: "abc", body: '{"Object":1}', type: "System.ArgumentException" },
      { name: "negative index", key: "bad/1", index: "-1", body: '{"Object":1}', type: "System.IO.InvalidDataException" },
      { name: "body not JSON", key: "bad/1", index: "0", body: "{not json", type: "System.IO.InvalidDataException" },
      { name: "empty body", key: "bad/1", index: "0", body: "", type: "System.IO.InvalidDataException" },
      { name: "body is an array", key: "bad/1", index: "0", body: "[1,2]", type: "System.IO.InvalidDataException" },
      { name: "body without Object", key: "bad/1", index: "0", body: '{"Value":1}', type: "System.IO.InvalidDataException" },
      {
        name: "@metadata not an object",
        key: "bad/1",
        index: "0",
        body: '{"Object":1,"@metadata":"x"}',
        type: "System.IO.InvalidDataException",
      },
      {
        name: "unparseable @expires",
        key: "bad/1",
        index: "0",
        body: '{"Object":1,"@metadata":{"@expires":"tomorrow"}}',
        type: "System.FormatException",
      },
      {
        name: "impossible @expires date",
        key: "bad/1",
        index: "0",
        body: '{"Object":1,"@metadata":{"@expires":"2030-02-31T00:00:00.0000000Z"}}',
        type: "System.FormatException",
      },
    ];

    for (const c of cases) {
      test(c.name, async () => {
        const db = newDatabase();
        const params = [c.key === null ? null : `key=${enc(c.key)}`, c.index === "" ? null : `index=${c.index}`]
          .filter((p) => p !== null)
          .join("&");
        const pathAndQuery = cmpxchgPath(db, `?${params}`);
        const res = await send("PUT", pathAndQuery, c.body);

        expect(res.status, res.text).toBe(400);
        expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
        const envelope = JSON.parse(res.text) as Record<string, unknown>;
        expect(Object.keys(envelope).slice(0, 4)).toEqual(["Url", "Type", "Message", "Error"]);
        expect(envelope.Url).toBe(pathAndQuery);
        expect(envelope.Type).toBe(c.type);
        expect(typeof envelope.Message).toBe("string");
        expect((envelope.Message as string).length).toBeGreaterThan(0);
        expect(typeof envelope.Error).toBe("string");
        expect(envelope.Error as string).toContain(envelope.Message as string);

        // Nothing was stored: neither under the key nor anywhere in the database.
        if (c.key !== null && c.key.trim() !== "") expect((await getOne(db, c.key)).status).toBe(404);
        const listed = await send("GET", cmpxchgPath(db, "?&startsWith="));
        expect(listed.status).toBe(200);
        expect((JSON.parse(listed.text) as ListBody).Results).toEqual([]);
      });
    }
  });

  test("a retried PUT with the same raft-request-id replays the first answer and writes nothing", async () => {
    const db = newDatabase();
    const createId = crypto.randomUUID();
    const first = await put(db, "retry/a", 0, '{"Object":"v1"}', `&raft-request-id=${createId}`);
    expect(first.status).toBe(200);
    const created = JSON.parse(first.text) as WriteResult;
    expect(created).toEqual({ Index: created.Index, Value: { Object: "v1" }, Successful: true });
    expect(created.Index).toBeGreaterThan(0);

    // Without the id, the same create would now fail; with it, it is the same success again.
    const replay = await put(db, "retry/a", 0, '{"Object":"v1"}', `&raft-request-id=${createId}`);
    expect(replay.status).toBe(200);
    expect(replay.text).toBe(first.text);

    const updateId = crypto.randomUUID();
    const update = await put(db, "retry/a", created.Index, '{"Object":"v2"}', `&raft-request-id=${updateId}`);
    const updated = JSON.parse(update.text) as WriteResult;
    expect(updated.Successful).toBe(true);
    expect(updated.Index).toBeGreaterThan(created.Index);

    const updateAgain = await put(db, "retry/a", created.Index, '{"Object":"v2"}', `&raft-request-id=${updateId}`);
    expect(updateAgain.status).toBe(200);
    expect(updateAgain.text).toBe(update.text);

    const current = await getOne(db, "retry/a");
    expect(current.status).toBe(200);
    expect(JSON.parse(current.text)).toEqual({
      Results: [{ Key: "retry/a", Value: { Object: "v2" }, Index: updated.Index }],
    });

    // Same for DELETE: the replay answers like the first delete and does not advance anything.
    const deleteId = crypto.randomUUID();
    const del = await send("DELETE", cmpxchgPath(db, `?key=retry%2Fa&index=${updated.Index}&raft-request-id=${deleteId}`));
    const deleted = JSON.parse(del.text) as WriteResult;
    expect(deleted.Successful).toBe(true);
    expect(deleted.Value).toEqual({ Object: "v2" });
    const delAgain = await send("DELETE", cmpxchgPath(db, `?key=retry%2Fa&index=${updated.Index}&raft-request-id=${deleteId}`));
    expect(delAgain.text).toBe(del.text);
    expect((await getOne(db, "retry/a")).status).toBe(404);
  });

  test("continuation tokens walk a prefix listing to the end", async () => {
    const db = newDatabase();
    const keys = Array.from({ length: 10 }, (_, i) => `tok/${String(i).padStart(2, "0")}`);
    // Shuffled writes, plus neighbours outside the prefix.
    for (const key of [...keys].reverse().concat(["toj/x", "tol/x", "tok"])) {
      const res = await put(db, key, 0, JSON.stringify({ Object: key }));
      expect((JSON.parse(res.text) as WriteResult).Successful).toBe(true);
    }

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let token: string | null = null;
    for (let page = 0; page < 10; page++) {
      const query: string = `?&startsWith=tok%2F&pageSize=4${token ? `&continuationToken=${enc(token)}` : ""}`;
      const res = await send("GET", cmpxchgPath(db, query));
      expect(res.status, res.text).toBe(200);
      const body = JSON.parse(res.text) as ListBody;
      for (const item of body.Results) {
        expect(item.Value).toEqual({ Object: item.Key });
        expect(item.Index).toBeGreaterThan(0);
      }
      seen.push(...body.Results.map((r) => r.Key));
      pageSizes.push(body.Results.length);
      expect(res.headers.get("Continuation-Token")).toBe(body.ContinuationToken);
      token = body.ContinuationToken;
      if (token === null) break;
    }
    expect(token).toBeNull();
    expect(pageSizes).toEqual([4, 4, 2]);
    expect(seen).toEqual(keys);
  });
});
