// DATABASES = "explicit" (the production setting): only created databases exist.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardOf } from "../../src/core/routing";
import { shardStub } from "../../src/stubs";
import { call, freshDb, getItem, putItem } from "../helpers";

describe("explicit databases", () => {
  it("answer DatabaseDoesNotExistException with Database-Missing until created", async () => {
    const db = freshDb("exp");
    for (const path of [`/topology?name=${db}`, `/databases/${db}/cmpxchg?key=a`]) {
      const res = await call(path);
      expect(res.status).toBe(503);
      expect(res.headers.get("Database-Missing")).toBe(db);
      expect(((await res.json()) as any).Type).toBe("Raven.Client.Exceptions.Database.DatabaseDoesNotExistException");
    }
    const write = await call(`/databases/${db}/cmpxchg?key=a&index=0`, { method: "PUT", body: '{"Object":1}' });
    expect(write.status).toBe(503);
    const created = await call(`/admin/databases?name=${db}`, { method: "PUT", body: JSON.stringify({ DatabaseName: db }) });
    expect(created.status).toBe(201);
    expect((await putItem(db, "a", 0, 1)).Successful).toBe(true);
    expect((await call(`/topology?name=${db.toUpperCase()}`)).status).toBe(200);
  });

  it("stop existing when deleted", async () => {
    const db = freshDb("exp");
    await call(`/admin/databases?name=${db}`, { method: "PUT", body: JSON.stringify({ DatabaseName: db }) });
    expect((await putItem(db, "a", 0, 1)).Successful).toBe(true);
    await call("/admin/databases", { method: "DELETE", body: JSON.stringify({ DatabaseNames: [db] }) });
    expect((await call(`/databases/${db}/cmpxchg?key=a`)).status).toBe(503);
  });

  it("route by key hash tags only those created with them, from the first request on", async () => {
    const tagged = freshDb("exp");
    const plain = freshDb("exp");
    // Known (as missing) to this isolate before creation: the creation must not leave it stale.
    expect((await call(`/databases/${tagged}/cmpxchg?key=a`)).status).toBe(503);
    await call(`/admin/databases?name=${tagged}`, { method: "PUT", body: JSON.stringify({ DatabaseName: tagged, KeyHashTags: true }) });
    await call(`/admin/databases?name=${plain}`, { method: "PUT", body: JSON.stringify({ DatabaseName: plain }) });
    const key = "cart/{u7}/total";
    for (const db of [tagged, plain]) {
      expect((await putItem(db, key, 0, db)).Successful).toBe(true);
      expect((await getItem(db, key))?.value).toBe(db);
    }
    const at = async (db: string, shard: number) => (await shardStub(env, db, shard).get([key]))[0] !== null;
    expect(await at(tagged, shardOf("u7", 16))).toBe(true);
    expect(await at(plain, shardOf(key, 16))).toBe(true);
  });
});
