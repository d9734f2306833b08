// Cluster-wide and single-node batches over HTTP: RavenDB's shapes, conflicts, restrictions,
// atomic guards, documents and HiLo.
import { describe, expect, it } from "vitest";
import { shardOf } from "../src/core/routing";
import { bulk, call, cmpDelete, cmpPut, CLIENT_HEADERS, docPut, freshDb, getItem, putItem } from "./helpers";

/** Two keys that live in different shards (16 shards by default). */
function keysOnTwoShards(prefix: string): [string, string] {
  const first = `${prefix}/0`;
  for (let i = 1; ; i++) {
    const other = `${prefix}/${i}`;
    if (shardOf(other, 16) !== shardOf(first, 16)) return [first, other];
  }
}

describe("cluster-wide bulk_docs", () => {
  it("commits documents and items together with one TransactionIndex, documents first", async () => {
    const db = freshDb();
    const { status, json } = await bulk(db, [
      cmpPut("emails/john@example.com", 0, "users/2"),
      docPut("users/2", { name: "John" }),
      cmpPut("profiles/2", 0, { nick: "johnny" }),
    ]);
    expect(status).toBe(201);
    const index = json.TransactionIndex;
    expect(index).toBeGreaterThan(0);
    expect(json.Results.map((r: any) => r.Type)).toEqual(["PUT", "CompareExchangePUT", "CompareExchangePUT"]);
    expect(json.Results[0]).toMatchObject({ "@id": "users/2", "@collection": "Users", "@flags": "FromClusterTransaction" });
    expect(json.Results[0]["@change-vector"]).toMatch(new RegExp(`TRXN:${index}-`));
    expect(json.Results.slice(1)).toEqual([
      { Type: "CompareExchangePUT", Key: "emails/john@example.com", Index: index },
      { Type: "CompareExchangePUT", Key: "profiles/2", Index: index },
    ]);
    expect(await getItem(db, "emails/john@example.com")).toEqual({ value: "users/2", index });
    expect(await getItem(db, "rvn-atomic/users/2")).toEqual({ value: { Id: "users/2" }, index });
  });

  it("stores nothing when one check fails, and reports every violation", async () => {
    const db = freshDb();
    const [a, b] = keysOnTwoShards("acct");
    const taken = await putItem(db, a, 0, "taken");
    const { status, json } = await bulk(db, [
      docPut("users/9", { n: 1 }),
      cmpPut(a, 0, "mine"),
      cmpPut(b, 0, "mine"),
      cmpPut("other", 5, "x"),
    ]);
    expect(status).toBe(409);
    expect(json.Type).toBe("Raven.Client.Exceptions.ClusterTransactionConcurrencyException");
    expect(json.Message).toContain(`Concurrency check failed for putting the key '${a}'. Requested index: 0, actual index: ${taken.Index}`);
    expect(json.ConcurrencyViolations).toEqual([
      { Type: "CompareExchange", Id: a, Expected: 0, Actual: taken.Index },
      { Type: "CompareExchange", Id: "other", Expected: 5, Actual: -1 },
    ]);
    expect(await getItem(db, b)).toBeNull();
    expect((await call(`/databases/${db}/docs?id=users%2F9`)).status).toBe(404);
    expect(await getItem(db, "rvn-atomic/users/9")).toBeNull();
  });

  it("updates and deletes items by index, across shards", async () => {
    const db = freshDb();
    const [a, b] = keysOnTwoShards("pair");
    const created = await bulk(db, [cmpPut(a, 0, 1), cmpPut(b, 0, 1)]);
    const i1 = created.json.TransactionIndex;
    const moved = await bulk(db, [cmpPut(a, i1, 2), cmpDelete(b, i1)]);
    expect(moved.status).toBe(201);
    const i2 = moved.json.TransactionIndex;
    expect(i2).toBeGreaterThan(i1);
    expect(await getItem(db, a)).toEqual({ value: 2, index: i2 });
    expect(await getItem(db, b)).toBeNull();
    // A stale index now fails, and deleting a missing key with index 0 is a no-op success.
    expect((await bulk(db, [cmpPut(a, i1, 3)])).status).toBe(409);
    expect((await bulk(db, [cmpDelete(b, 0)])).status).toBe(201);
    expect((await bulk(db, [cmpDelete(b, 4)])).json.ConcurrencyViolations).toEqual([
      { Type: "CompareExchange", Id: b, Expected: 4, Actual: -1 },
    ]);
  });

  it("gives a transaction an index above every index it read, on every shard", async () => {
    const db = freshDb();
    const [a, b] = keysOnTwoShards("lamport");
    let last = 0;
    for (let i = 0; i < 5; i++) last = (await putItem(db, a, last, i)).Index;
    const { json } = await bulk(db, [cmpPut(a, last, "tx"), cmpPut(b, 0, "tx")]);
    expect(json.TransactionIndex).toBeGreaterThan(last);
    const after = await putItem(db, b, json.TransactionIndex, "next");
    expect(after.Index).toBeGreaterThan(json.TransactionIndex);
  });

  it("gives a one-shard transaction an index above every index its shard gave out", async () => {
    const db = freshDb();
    // Single-key writes advance the shard's counter without the coordinator hearing of them.
    let last = 0;
    for (let i = 0; i < 5; i++) last = (await putItem(db, "solo", last, i)).Index;
    const { status, json } = await bulk(db, [cmpPut("solo", last, "tx")]);
    expect(status).toBe(201);
    expect(json.TransactionIndex).toBeGreaterThan(last);
    expect(await getItem(db, "solo")).toEqual({ value: "tx", index: json.TransactionIndex });
  });

  it("replays the first result to a retry with the same raft-request-id", async () => {
    const db = freshDb();
    const first = await bulk(db, [cmpPut("once", 0, 1)], { requestId: "tx-retry-1" });
    const retry = await bulk(db, [cmpPut("once", 0, 1)], { requestId: "tx-retry-1" });
    expect(retry).toEqual(first);
    expect(first.status).toBe(201);
  });

  it("replays a two-shard transaction's first result to a retry with the same raft-request-id (its coordinator's log)", async () => {
    const db = freshDb();
    const [x, y] = keysOnTwoShards("replay");
    const first = await bulk(db, [cmpPut(x, 0, 1), cmpPut(y, 0, 1)], { requestId: "tx-retry-2" });
    expect(first.status).toBe(201);
    // Between the attempts the keys move on: a second run would now conflict.
    const moved = await putItem(db, x, first.json.TransactionIndex, 2);
    expect(moved.Successful).toBe(true);
    const retry = await bulk(db, [cmpPut(x, 0, 1), cmpPut(y, 0, 1)], { requestId: "tx-retry-2" });
    expect(retry).toEqual(first);
    expect((await getItem(db, x))?.value).toBe(2);
  });

  it("refuses what RavenDB refuses, with clear errors and nothing stored", async () => {
    const db = freshDb();
    const cases: [unknown[], string][] = [
      [[{ Id: "users/1", Type: "PATCH", Patch: {} }], "System.ArgumentOutOfRangeException"],
      [[cmpPut("rvn-atomic/users/1", 0, "x")], "Raven.Client.Exceptions.Documents.CompareExchange.CompareExchangeInvalidKeyException"],
      [[cmpPut("RVN-ATOMIC/users/1", 0, "x")], "Raven.Client.Exceptions.Documents.CompareExchange.CompareExchangeInvalidKeyException"],
      [[cmpPut("a".repeat(513), 0, "x")], "Raven.Client.Exceptions.Documents.CompareExchange.CompareExchangeKeyTooBigException"],
      [[cmpPut("k", 0, 1), cmpPut("K", 0, 2)], "System.InvalidOperationException"],
      [[docPut("users/1", {}), docPut("USERS/1", {})], "System.InvalidOperationException"],
      [[docPut("users/", {})], "Raven.Server.Rachis.RachisApplyException"],
      [[docPut(" ", {})], "System.ArgumentException"],
      // RavenDB's cluster refuses compare-exchange keys like document ids: "Document id ends/ …".
      [[cmpPut("ends/", 0, 1)], "Raven.Server.Rachis.RachisApplyException"],
      [[cmpPut("ends|", 0, 1)], "Raven.Server.Rachis.RachisApplyException"],
      [[{ Id: "k", Index: "1", Type: "CompareExchangeDELETE" }], "System.IO.InvalidDataException"],
      [
        [{ Id: "users/1", Document: { "@metadata": { "@collection": "Users", "@counters": ["c"] } }, Type: "PUT" }],
        "System.NotSupportedException",
      ],
    ];
    for (const [commands, type] of cases) {
      const { status, json } = await bulk(db, commands);
      expect([status, json.Type], JSON.stringify(commands).slice(0, 80)).toEqual([400, type]);
    }
    const listed = (await (await call(`/databases/${db}/cmpxchg`)).json()) as any;
    expect(listed.Results).toEqual([]);
  });

  it("lets operations (not sessions) modify atomic guards, as RavenDB does", async () => {
    const db = freshDb();
    const { json } = await bulk(db, [docPut("users/1", { n: 1 })]);
    const guard = await putItem(db, "rvn-atomic/users/1", json.TransactionIndex, { Id: "users/1" });
    expect(guard.Successful).toBe(true);
  });

  it("allows guards' keys when atomic writes are disabled or the client predates 5.2", async () => {
    const db = freshDb();
    expect((await bulk(db, [cmpPut("rvn-atomic/x", 0, 1)], { query: "disableAtomicDocumentWrites=true" })).status).toBe(201);
    const res = await call(`/databases/${db}/bulk_docs`, {
      method: "POST",
      body: JSON.stringify({ Commands: [docPut("users/old", { n: 1 })], TransactionMode: "ClusterWide" }),
    });
    expect(res.status).toBe(201);
    expect(await getItem(db, "rvn-atomic/users/old")).toBeNull();
  });
});

describe("atomic guards", () => {
  it("create a guard with the document, and make a second create of the same id conflict", async () => {
    const db = freshDb();
    const first = await bulk(db, [docPut("users/1", { name: "A" })]);
    expect(first.status).toBe(201);
    const second = await bulk(db, [docPut("users/1", { name: "B" })]);
    expect(second.status).toBe(409);
    expect(second.json.ConcurrencyViolations).toEqual([
      { Type: "Document", Id: "rvn-atomic/users/1", Expected: 0, Actual: first.json.TransactionIndex },
    ]);
    expect(second.json.Message).toContain("Guard compare exchange value 'rvn-atomic/users/1' index does not match");
  });

  it("let exactly one of two concurrent edits of a loaded document commit", async () => {
    const db = freshDb();
    await bulk(db, [docPut("users/1", { name: "A" })]);
    const loaded = (await (await call(`/databases/${db}/docs?&txMode=ClusterWide&id=users%2F1`)).json()) as any;
    const cv = loaded.Results[0]["@metadata"]["@change-vector"];
    expect(loaded.CompareExchangeValueIncludes["rvn-atomic/users/1"].ChangeVector).toMatch(/^TRXN:/);
    const edits = await Promise.all(
      ["B", "C", "D"].map((name) => bulk(db, [docPut("users/1", { name }, "Users", { OriginalChangeVector: cv })])),
    );
    expect(edits.map((e) => e.status).sort()).toEqual([201, 409, 409]);
  });

  it("let a delete with the loaded change vector remove document and guard", async () => {
    const db = freshDb();
    await bulk(db, [docPut("users/1", { name: "A" })]);
    const loaded = (await (await call(`/databases/${db}/docs?&txMode=ClusterWide&id=users%2F1`)).json()) as any;
    const cv = loaded.Results[0]["@metadata"]["@change-vector"];
    const del = await bulk(db, [{ Id: "users/1", ChangeVector: null, OriginalChangeVector: cv, Type: "DELETE" }]);
    expect(del.status).toBe(201);
    expect(del.json.Results[0]).toMatchObject({ Id: "users/1", Type: "DELETE", Deleted: true });
    expect(await getItem(db, "rvn-atomic/users/1")).toBeNull();
    // With the guard gone, a fresh create succeeds again.
    expect((await bulk(db, [docPut("users/1", { name: "again" })])).status).toBe(201);
  });

  it("copy the document's @expires into the guard", async () => {
    const db = freshDb();
    const expires = "2099-01-01T00:00:00.0000000Z";
    await bulk(db, [{ Id: "users/e", Document: { "@metadata": { "@collection": "Users", "@expires": expires } }, Type: "PUT" }]);
    const res = (await (await call(`/databases/${db}/cmpxchg?key=rvn-atomic%2Fusers%2Fe`)).json()) as any;
    expect(res.Results[0].Value["@metadata"]["@expires"]).toBe(expires);
  });
});

describe("documents", () => {
  it("load by id: 404 alone, null among many, metadata filled in", async () => {
    const db = freshDb();
    const put = await call(`/databases/${db}/docs?id=users%2F5`, {
      method: "PUT",
      body: JSON.stringify({ name: "Five", "@metadata": { "@collection": "Users" } }),
    });
    expect(put.status).toBe(201);
    const { ChangeVector } = (await put.json()) as any;
    expect((await call(`/databases/${db}/docs?id=users%2F404`)).status).toBe(404);
    const many = (await (await call(`/databases/${db}/docs?&id=USERS%2F5&id=users%2F404`)).json()) as any;
    expect(many.Results[1]).toBeNull();
    expect(many.Results[0]).toMatchObject({
      name: "Five",
      "@metadata": { "@collection": "Users", "@id": "users/5", "@change-vector": ChangeVector },
    });
    const post = (await (
      await call(`/databases/${db}/docs`, { method: "POST", body: JSON.stringify({ Ids: ["users/5"] }) })
    ).json()) as any;
    expect(post.Results[0].name).toBe("Five");
  });

  it("single-node batches check change vectors and are all or nothing", async () => {
    const db = freshDb();
    const created = await bulk(db, [docPut("a/1", { v: 1 }), docPut("b/1", { v: 1 })], { clusterWide: false });
    expect(created.status).toBe(201);
    expect(created.json.TransactionIndex).toBeUndefined();
    const cvA = created.json.Results[0]["@change-vector"];
    const stale = await bulk(db, [docPut("b/1", { v: 2 }), docPut("a/1", { v: 2 }, "Users", { ChangeVector: "A:999-x" })], {
      clusterWide: false,
    });
    expect(stale.status).toBe(409);
    expect(stale.json.Type).toBe("Raven.Client.Exceptions.ConcurrencyException");
    expect(stale.json).toMatchObject({ Id: "a/1", ExpectedChangeVector: "A:999-x", ActualChangeVector: cvA });
    const b = (await (await call(`/databases/${db}/docs?id=b%2F1`)).json()) as any;
    expect(b.Results[0].v).toBe(1);
    const ok = await bulk(
      db,
      [docPut("a/1", { v: 3 }, "Users", { ChangeVector: cvA }), { Id: "b/1", ChangeVector: null, Type: "DELETE" }],
      { clusterWide: false },
    );
    expect(ok.status).toBe(201);
    expect(ok.json.Results[1]).toMatchObject({ Id: "b/1", Type: "DELETE", Deleted: true });
  });

  it("refuses compare-exchange commands in a single-node batch instead of ignoring them", async () => {
    const { status, json } = await bulk(freshDb(), [cmpPut("k", 0, 1)], { clusterWide: false });
    expect([status, json.Type]).toEqual([400, "System.InvalidOperationException"]);
  });

  it("deletes with If-Match", async () => {
    const db = freshDb();
    const put = (await (await call(`/databases/${db}/docs?id=d%2F1`, { method: "PUT", body: "{}" })).json()) as any;
    expect((await call(`/databases/${db}/docs?id=d%2F1`, { method: "DELETE", headers: { "If-Match": '"A:1-nope"' } })).status).toBe(409);
    expect(
      (await call(`/databases/${db}/docs?id=d%2F1`, { method: "DELETE", headers: { "If-Match": `"${put.ChangeVector}"` } })).status,
    ).toBe(204);
    expect((await call(`/databases/${db}/docs?id=d%2F1`)).status).toBe(404);
  });
});

describe("HiLo", () => {
  it("hands out disjoint ranges and takes back an unused tail", async () => {
    const db = freshDb();
    const next = async () =>
      (await (await call(`/databases/${db}/hilo/next?tag=users&lastBatchSize=0&lastMax=0&identityPartsSeparator=/`)).json()) as any;
    const first = await next();
    expect(first).toMatchObject({ Prefix: "users/", Low: 1, High: 32, ServerTag: "A" });
    const second = await next();
    expect(second.Low).toBe(33);
    const back = await call(`/databases/${db}/hilo/return?tag=users&end=64&last=40`, { method: "PUT", headers: CLIENT_HEADERS });
    expect(back.status).toBe(204);
    expect((await next()).Low).toBe(41);
  });
});
