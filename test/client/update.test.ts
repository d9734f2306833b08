// Read-modify-write: update() under contention, SKIP, the deadline, and updateMany over a
// cluster-wide transaction keeping a multi-key invariant.
import { describe, expect, it } from "vitest";
import { ConcurrencyException, SKIP, update, updateMany, type CmpxchgApi } from "../../src/client";
import { clientFor, freshDb, thrown } from "./support";

describe("update", { timeout: 60_000 }, () => {
  it("8 writers × 5 increments of one counter: none lost", async () => {
    const db = freshDb("rmw");
    const writer = async () => {
      const client = clientFor(db);
      for (let i = 0; i < 5; i++) await update<number>(client, "counters/hits", (n) => (n ?? 0) + 1);
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    expect((await clientFor(db).get<number>("counters/hits"))!.value).toBe(40);
  });

  it("keeps the item's metadata unless told otherwise; SKIP writes nothing", async () => {
    const db = freshDb("rmw");
    const client = clientFor(db);
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    await client.put("cfg", { v: 1 }, 0, { "@expires": expires, owner: "ops" });
    const result = await update<{ v: number }>(client, "cfg", (cur) => ({ v: cur!.v + 1 }));
    expect(result).toMatchObject({ written: true, value: { v: 2 }, attempts: 1 });
    const item = await client.get("cfg");
    expect(item!.metadata).toMatchObject({ "@expires": expires, owner: "ops" });
    const skipped = await update<{ v: number }>(client, "cfg", () => SKIP);
    expect(skipped).toMatchObject({ written: false, index: item!.index });
  });

  it("gives up with ConcurrencyException when it keeps losing until the deadline", async () => {
    const db = freshDb("rmw");
    const client = clientFor(db);
    await client.put("hot", 0, 0);
    // Every write of ours is preceded by someone else's: we always lose.
    const interfering: CmpxchgApi = Object.create(client);
    interfering.put = async (key, value, index, metadata, options) => {
      const current = await client.get(key);
      await client.put(key, -1, current?.index ?? 0);
      return client.put(key, value, index, metadata, options);
    };
    const err = await thrown(() => update<number>(interfering, "hot", (n) => (n ?? 0) + 1, { deadlineMs: 300 }));
    expect(err).toBeInstanceOf(ConcurrencyException);
    expect((err as Error).message).toMatch(/attempts/);
  });

  it("updateMany: concurrent transfers between accounts keep the total", async () => {
    const db = freshDb("rmw");
    const keys = ["acct/a", "acct/b", "acct/c"];
    await updateMany<number>(clientFor(db), keys, () => ({ "acct/a": 100, "acct/b": 100, "acct/c": 100 }));
    const transfer = async (from: string, to: string) => {
      const client = clientFor(db);
      for (let i = 0; i < 4; i++) {
        await updateMany<number>(client, [from, to], (cur) => ({ [from]: cur[from]! - 7, [to]: cur[to]! + 7 }), { deadlineMs: 30_000 });
      }
    };
    await Promise.all([
      transfer("acct/a", "acct/b"),
      transfer("acct/b", "acct/c"),
      transfer("acct/c", "acct/a"),
      transfer("acct/a", "acct/c"),
    ]);
    const values = (await clientFor(db).getMany<number>(keys)).map((item) => item!.value);
    expect(values.reduce((s, v) => s + v, 0)).toBe(300);
    expect(values).toEqual([100 - 28 + 28 - 28, 100 + 28 - 28, 100 + 28 - 28 + 28]);
  });

  it("updateMany: a key only read is still a condition of the commit; null deletes", async () => {
    const db = freshDb("rmw");
    const client = clientFor(db);
    await client.put("k/a", 1, 0);
    await client.put("k/b", 2, 0);
    await client.put("k/gone", "x", 0);
    // After our first read, someone changes k/b (which we only read) before we commit.
    let reads = 0;
    const racing: CmpxchgApi = Object.create(client);
    racing.getMany = async <T>(keys: string[]) => {
      const items = await client.getMany<T>(keys);
      if (++reads === 1) await client.put("k/b", 3, items[1]!.index);
      return items;
    };
    let calls = 0;
    const result = await updateMany<number | string>(racing, ["k/a", "k/b", "k/gone"], (cur) => {
      calls++;
      return { "k/a": (cur["k/a"] as number) + (cur["k/b"] as number), "k/gone": null };
    });
    expect(result.written).toBe(true);
    expect(calls).toBe(2);
    expect((await client.get("k/a"))!.value).toBe(4);
    expect((await client.get("k/b"))!.value).toBe(3);
    expect(await client.get("k/gone")).toBeNull();
  });
});
