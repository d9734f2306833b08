// Key hash tags (issue 19 point 6): a database created with KeyHashTags routes every key with the
// same `{tag}` to one shard; a database created without it (or never created) keeps whole-key
// routing, so braced keys stored before stay where they are.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { plainRouting, shardOf, shardOfKey } from "../src/core/routing";
import { shardStub } from "../src/stubs";
import { bulk, call, cmpPut, docPut, freshDb, getItem, putItem } from "./helpers";

const SHARDS = 16;
const TAGS = { shardCount: SHARDS, hashTags: true };

function create(name: string, record: Record<string, unknown> = {}) {
  return call(`/admin/databases?name=${name}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ DatabaseName: name, Settings: {}, Disabled: false, ...record }),
  });
}

const remove = (name: string) => call("/admin/databases", { method: "DELETE", body: JSON.stringify({ DatabaseNames: [name] }) });

/** `count` keys sharing `tag` whose whole-key hashes fall on pairwise different shards. */
function spreadKeys(tag: string, count: number): string[] {
  const keys: string[] = [];
  const used = new Set<number>();
  for (let i = 0; keys.length < count; i++) {
    const key = `k${i}/{${tag}}/v`;
    const shard = shardOf(key, SHARDS);
    if (used.has(shard) || shard === shardOf(tag, SHARDS)) continue;
    used.add(shard);
    keys.push(key);
  }
  return keys;
}

/** Which shards hold the item `key` (asked of every shard directly, not through routing). */
async function holders(db: string, key: string): Promise<number[]> {
  const found = await Promise.all(Array.from({ length: SHARDS }, (_, n) => shardStub(env, db, n).get([key.toLowerCase()])));
  return found.flatMap((items, n) => (items[0] ? [n] : []));
}

async function transactionLogs(db: string): Promise<string[]> {
  const { Results } = (await (await call(`/databases/${db}/transactions?limit=50`)).json()) as { Results: { Log: string }[] };
  return Results.map((t) => t.Log);
}

describe("key hash tags", () => {
  it("stores keys sharing a tag on the tag's shard, and reads, lists and deletes them there", async () => {
    const db = freshDb("tags");
    expect((await create(db, { KeyHashTags: true })).status).toBe(201);
    const keys = spreadKeys("u1", 3);
    for (const key of keys) expect((await putItem(db, key, 0, key)).Successful).toBe(true);
    for (const key of keys) {
      expect(await holders(db, key)).toEqual([shardOf("u1", SHARDS)]);
      expect((await getItem(db, key))?.value).toBe(key);
    }
    const listed = (await (await call(`/databases/${db}/cmpxchg?startsWith=k`)).json()) as { Results: { Key: string }[] };
    expect(listed.Results.map((r) => r.Key).sort()).toEqual(keys.map((k) => k.toLowerCase()).sort());
    const many = (await (await call(`/databases/${db}/cmpxchg?${keys.map((k) => `key=${encodeURIComponent(k)}`).join("&")}`)).json()) as {
      Results: { Key: string; Index: number }[];
    };
    expect(many.Results.every((r) => r.Index > 0)).toBe(true);
    const index = (await getItem(db, keys[0]!))!.index;
    const del = await call(`/databases/${db}/cmpxchg?key=${encodeURIComponent(keys[0]!)}&index=${index}`, { method: "DELETE" });
    expect(((await del.json()) as { Successful: boolean }).Successful).toBe(true);
    expect(await getItem(db, keys[0]!)).toBeNull();
  });

  it("lists a prefix holding a whole tag from the tag's shard", async () => {
    const db = freshDb("tags");
    await create(db, { Settings: { KeyHashTags: "true" } });
    for (let i = 0; i < 5; i++) await putItem(db, `locks/{q}/queue/${i}`, 0, i);
    await putItem(db, "locks/{other}/queue/0", 0, "no");
    const res = await call(`/databases/${db}/cmpxchg?startsWith=${encodeURIComponent("locks/{q}/queue/")}`);
    const listed = (await res.json()) as { Results: { Key: string; Value: { Object: number } }[] };
    expect(listed.Results.map((r) => r.Value.Object)).toEqual([0, 1, 2, 3, 4]);
  });

  it("commits a cluster-wide transaction over keys sharing a tag on one shard, without a coordinator", async () => {
    const db = freshDb("tags");
    await create(db, { KeyHashTags: true });
    const keys = spreadKeys("acct", 3);
    const { status } = await bulk(db, [...keys.map((k) => cmpPut(k, 0, 1)), docPut("orders/{acct}/1", { total: 3 }, "Orders")]);
    expect(status).toBe(201);
    // The panel names the log a transaction ran in: one shard's, not a coordinator's.
    expect(await transactionLogs(db)).toEqual([`shard-${shardOf("acct", SHARDS)}`]);
    // The document and its atomic guard live with the tag too.
    expect(await holders(db, "rvn-atomic/orders/{acct}/1")).toEqual([shardOf("acct", SHARDS)]);
    const loaded = await call(`/databases/${db}/docs?id=${encodeURIComponent("orders/{acct}/1")}&txMode=ClusterWide`);
    expect(loaded.status).toBe(200);

    // The same keys in a database without tags: they span shards and take the coordinator.
    const plain = freshDb("plain");
    await create(plain);
    expect(
      (
        await bulk(
          plain,
          keys.map((k) => cmpPut(k, 0, 1)),
        )
      ).status,
    ).toBe(201);
    expect((await transactionLogs(plain))[0]).toMatch(/^coordinator-/);
  });

  it("keeps whole-key routing in a database created without the option, and in one never created", async () => {
    const created = freshDb("plain");
    expect((await create(created)).status).toBe(201);
    const implicit = freshDb("implicit");
    const [a, b] = spreadKeys("t", 2) as [string, string];
    for (const db of [created, implicit]) {
      await putItem(db, a, 0, "a");
      await putItem(db, b, 0, "b");
      expect(await holders(db, a)).toEqual([shardOfKey(a.toLowerCase(), plainRouting(SHARDS))]);
      expect(await holders(db, b)).toEqual([shardOf(b.toLowerCase(), SHARDS)]);
      expect((await getItem(db, a))?.value).toBe("a");
    }
  });

  it("refuses tags for a database that already holds data: braced keys stored before stay readable", async () => {
    const db = freshDb("used");
    // Used implicitly, with whole-key routing, before anyone created it.
    const [a] = spreadKeys("t", 1) as [string];
    const stored = await putItem(db, a, 0, "before");
    const res = await create(db, { KeyHashTags: true });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { Message: string }).Message).toContain("whole-key routing");
    // Not migrated, not moved: found where it was, with its index.
    expect(await getItem(db, a)).toEqual({ value: "before", index: stored.Index });
    expect(await holders(db, a)).toEqual([shardOf(a.toLowerCase(), SHARDS)]);
    // Created without tags, it keeps them readable.
    expect((await create(db)).status).toBe(201);
    expect(await getItem(db, a)).toEqual({ value: "before", index: stored.Index });
  });

  it("keeps a key's indexes increasing when its name is re-created with tags and the key moves shard", async () => {
    const db = freshDb("again");
    await create(db);
    const [a] = spreadKeys("t", 1) as [string];
    // Make the key's old shard's counter the highest: many writes there.
    let last = 0;
    for (let i = 0; i < 5; i++) last = (await putItem(db, a, last, i)).Index;
    expect((await remove(db)).status).toBe(200);
    expect((await create(db, { KeyHashTags: true })).status).toBe(201);
    const moved = await putItem(db, a, 0, "moved");
    expect(moved.Successful).toBe(true);
    expect(await holders(db, a)).toEqual([shardOf("t", SHARDS)]);
    expect(moved.Index).toBeGreaterThan(last);
  });

  it("refuses a malformed option", async () => {
    for (const record of [
      { KeyHashTags: "yes" },
      { Settings: { KeyHashTags: true } },
      { KeyHashTags: true, Settings: { KeyHashTags: "false" } },
    ]) {
      const res = await create(freshDb("bad"), record);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { Type: string }).Type).toBe("System.ArgumentException");
    }
  });

  it("hands out identities and server ids of tagged names from the tag's shard", async () => {
    const db = freshDb("tags");
    await create(db, { KeyHashTags: true });
    const put = await call(`/databases/${db}/docs?id=${encodeURIComponent("carts/{u9}|")}`, {
      method: "PUT",
      body: JSON.stringify({ "@metadata": { "@collection": "Carts" } }),
    });
    expect(put.status).toBe(201);
    const { Id } = (await put.json()) as { Id: string };
    expect(Id).toBe("carts/{u9}/1");
    const docs = await Promise.all(Array.from({ length: SHARDS }, (_, n) => shardStub(env, db, n).getDocs([Id.toLowerCase()])));
    expect(docs.flatMap((rows, n) => (rows[0]?.doc ? [n] : []))).toEqual([shardOfKey(Id.toLowerCase(), TAGS)]);
  });
});
