// Database administration, as the official client's server operations use it.
import { describe, expect, it } from "vitest";
import { shardOf } from "../src/core/routing";
import { bulk, call, cmpPut, docPut, freshDb, getItem, putItem } from "./helpers";

const create = (name: string) =>
  call(`/admin/databases?name=${name}&replicationFactor=1&raft-request-id=${crypto.randomUUID()}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json", ETag: '"undefined"' },
    body: JSON.stringify({ DatabaseName: name, Settings: {}, Disabled: false }),
  });
const remove = (...names: string[]) =>
  call("/admin/databases", { method: "DELETE", body: JSON.stringify({ DatabaseNames: names, HardDelete: true }) });

describe("databases admin", () => {
  it("creates, refuses a duplicate, lists", async () => {
    const db = freshDb("adm");
    const res = await create(db);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ Name: db, Topology: { Members: ["A"] }, NodesAddedTo: ["http://cmpxchg.test"] });
    const again = await create(db.toUpperCase());
    expect(again.status).toBe(409);
    expect(((await again.json()) as any).Type).toBe("Raven.Client.Exceptions.ConcurrencyException");
    const list = (await (await call("/databases?start=0&pageSize=1024&namesOnly=true")).json()) as any;
    expect(list.Databases).toContain(db);
  });

  it("deletes a database with everything it stored", async () => {
    const db = freshDb("adm");
    await create(db);
    const { Index } = await putItem(db, "k", 0, "v");
    await bulk(db, [docPut("users/1", { n: 1 }), cmpPut("other", 0, 1)]);
    const res = await remove(db);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ PendingDeletes: [] });
    expect(await getItem(db, "k")).toBeNull();
    expect((await call(`/databases/${db}/docs?id=users%2F1`)).status).toBe(404);
    expect(((await (await call("/databases")).json()) as any).Databases).not.toContain(db);
    // Indexes never go back: a re-created key gets a higher index than any from before.
    const again = await putItem(db, "k", 0, "again");
    expect(again.Index).toBeGreaterThan(Index);
  });

  it("counts documents and compare-exchange items in stats", async () => {
    const db = freshDb("adm");
    await bulk(db, [docPut("users/1", { n: 1 }), cmpPut("a", 0, 1), cmpPut("b", 0, 1)]);
    const stats = (await (await call(`/databases/${db}/stats`)).json()) as any;
    expect(stats.CountOfDocuments).toBe(1);
    expect(stats.CountOfIndexes).toBe(0);
    const detailed = (await (await call(`/databases/${db}/stats/detailed`)).json()) as any;
    // The atomic guard of users/1 is a compare-exchange item too, as in RavenDB.
    expect(detailed.CountOfCompareExchange).toBe(3);
  });

  it("counts documents per collection, summed over the shards, in collection stats", async () => {
    const db = freshDb("adm");
    const empty = (await (await call(`/databases/${db}/collections/stats`)).json()) as any;
    expect(empty).toEqual({ CountOfDocuments: 0, CountOfConflicts: 0, Collections: {} });

    // Enough users that they land on several shards; one spelled "users" (the same collection).
    const users = Array.from({ length: 12 }, (_, i) => docPut(`users/${i + 1}`, { n: i }, i === 5 ? "users" : "Users"));
    expect(new Set(users.map((u) => shardOf(u.Id, 16))).size).toBeGreaterThan(1);
    const untyped = { Id: "misc/1", ChangeVector: null, Document: { n: 1 }, Type: "PUT" };
    expect((await bulk(db, [...users, docPut("orders/1", { total: 5 }, "Orders"), untyped, cmpPut("a", 0, 1)])).status).toBe(201);
    const res = await call(`/databases/${db}/collections/stats`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      CountOfDocuments: 14,
      CountOfConflicts: 0,
      Collections: { "@empty": 1, Orders: 1, Users: 12 },
    });

    const detailed = (await (await call(`/databases/${db}/collections/stats/detailed`)).json()) as any;
    expect(detailed.CountOfDocuments).toBe(14);
    expect(Object.keys(detailed.Collections).sort()).toEqual(["@empty", "Orders", "Users"]);
    const orders = detailed.Collections.Orders;
    expect(orders).toMatchObject({ Name: "Orders", CountOfDocuments: 1, TombstonesSize: { SizeInBytes: 0, HumaneSize: "0 Bytes" } });
    expect(orders.DocumentsSize.SizeInBytes).toBeGreaterThan(0);
    expect(orders.DocumentsSize.HumaneSize).toBe(`${orders.DocumentsSize.SizeInBytes} Bytes`);
    expect(orders.Size).toEqual(orders.DocumentsSize);
    expect(detailed.Collections.Users.DocumentsSize.SizeInBytes).toBeGreaterThan(orders.DocumentsSize.SizeInBytes);

    // A deleted document is no longer counted.
    await bulk(db, [{ Id: "orders/1", ChangeVector: null, Type: "DELETE" }]);
    const after = (await (await call(`/databases/${db}/collections/stats`)).json()) as any;
    expect(after).toMatchObject({ CountOfDocuments: 13, Collections: { "@empty": 1, Users: 12 } });
    expect(after.Collections.Orders).toBeUndefined();
  });

  it("refuses bad requests", async () => {
    expect((await create("bad$name")).status).toBe(400);
    expect((await call("/admin/databases", { method: "DELETE", body: "{}" })).status).toBe(400);
  });
});

describe("transaction log", () => {
  it("lists recent transactions newest first, with keys and outcome", async () => {
    const db = freshDb("adm");
    await bulk(db, [docPut("users/1", { n: 1 }), cmpPut("a", 0, 1)]);
    await bulk(db, [cmpPut("a", 0, 2)]);
    const { Results } = (await (await call(`/databases/${db}/transactions?limit=10`)).json()) as any;
    expect(Results.map((t: any) => t.State)).toEqual(["aborted", "committed"]);
    expect(Results[1].Keys).toEqual(["users/1", "a", "rvn-atomic/users/1"]);
    expect(Results[1].Index).toBeGreaterThan(0);
    expect(Results[1].Mode).toBe("ClusterWide");
  });
});
