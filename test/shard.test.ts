// The shard object on its own, over RPC: RavenDB's PUT/DELETE outcomes, index rules, exactly-once
// replays, expiry and the alarm sweep.
import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { REQUEST_LOG_TTL_MS, SWEEP_BATCH } from "../src/objects/shard";
import { shardStub } from "../src/stubs";

const freshShard = () => shardStub(env, `shard-test-${crypto.randomUUID()}`, 0);
const body = (value: unknown, metadata?: Record<string, unknown>) =>
  JSON.stringify(metadata ? { Object: value, "@metadata": metadata } : { Object: value });
const put = (key: string, expectedIndex: number, value: unknown = key, extra: { expiresAt?: number; requestId?: string } = {}) => ({
  key,
  json: body(value),
  expectedIndex,
  expiresAt: extra.expiresAt ?? null,
  requestId: extra.requestId,
});

describe("put", () => {
  it("creates with index 0, then refuses a second create with the current value", async () => {
    const shard = freshShard();
    const created = await shard.put(put("emails/x", 0, "users/1"));
    expect(created).toEqual({ index: 1, json: body("users/1"), successful: true });
    const again = await shard.put(put("emails/x", 0, "users/999"));
    expect(again).toEqual({ index: 1, json: body("users/1"), successful: false });
  });

  it("updates only with the current index", async () => {
    const shard = freshShard();
    const { index } = await shard.put(put("k", 0, "v1"));
    const stale = await shard.put(put("k", index + 7, "nope"));
    expect(stale).toEqual({ index, json: body("v1"), successful: false });
    const updated = await shard.put(put("k", index, "v2"));
    expect(updated.successful).toBe(true);
    expect(updated.index).toBeGreaterThan(index);
    expect(await shard.get(["k"])).toEqual([{ key: "k", index: updated.index, json: body("v2") }]);
  });

  it("answers index 0 and no value for an update of a missing key (RavenDB's outcome)", async () => {
    const shard = freshShard();
    expect(await shard.put(put("missing", 5))).toEqual({ index: 0, json: null, successful: false });
    expect(await shard.get(["missing"])).toEqual([null]);
  });
});

describe("delete", () => {
  it("deletes with the current index and returns the deleted value", async () => {
    const shard = freshShard();
    const { index } = await shard.put(put("k", 0, "v"));
    expect(await shard.remove({ key: "k", expectedIndex: 0 })).toEqual({ index, json: body("v"), successful: false });
    const removed = await shard.remove({ key: "k", expectedIndex: index });
    expect(removed.successful).toBe(true);
    expect(removed.json).toBe(body("v"));
    expect(removed.index).toBeGreaterThan(index);
    expect(await shard.get(["k"])).toEqual([null]);
  });

  it("succeeds on a missing key with a fresh non-zero index", async () => {
    const shard = freshShard();
    const result = await shard.remove({ key: "never", expectedIndex: 3 });
    expect(result.successful).toBe(true);
    expect(result.json).toBeNull();
    expect(result.index).toBeGreaterThan(0);
  });
});

describe("indexes", () => {
  it("strictly increase per key across updates, delete and re-create, and survive eviction", async () => {
    const shard = freshShard();
    const seen: number[] = [];
    let { index } = await shard.put(put("k", 0));
    seen.push(index);
    index = (await shard.put(put("k", index))).index;
    seen.push(index);
    seen.push((await shard.remove({ key: "k", expectedIndex: index })).index);
    await evictDurableObject(shard);
    seen.push((await shard.put(put("k", 0))).index);
    expect(seen.every((n, i) => n > 0 && (i === 0 || n > seen[i - 1]!))).toBe(true);
  });
});

describe("concurrency", () => {
  it("lets exactly one of 50 concurrent creates of one key win", async () => {
    const shard = freshShard();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => shard.put(put("hot", 0, i))));
    const winners = results.filter((r) => r.successful);
    expect(winners).toHaveLength(1);
    // Every loser saw the winner's value and index.
    for (const r of results) expect([r.index, r.json]).toEqual([winners[0]!.index, winners[0]!.json]);
  });

  it("lets exactly one of 30 concurrent updates with the same index win", async () => {
    const shard = freshShard();
    const { index } = await shard.put(put("hot", 0, "start"));
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => shard.put(put("hot", index, i))));
    expect(results.filter((r) => r.successful)).toHaveLength(1);
  });
});

describe("exactly-once by request id", () => {
  it("replays the first result and applies nothing twice", async () => {
    const shard = freshShard();
    const first = await shard.put(put("k", 0, "v", { requestId: "req-1" }));
    const retry = await shard.put(put("k", 0, "v", { requestId: "req-1" }));
    expect(retry).toEqual(first);
    expect(retry.successful).toBe(true);
    const update = await shard.put(put("k", first.index, "w", { requestId: "req-2" }));
    // A late retry of the first request still returns its first result, not a conflict.
    expect(await shard.put(put("k", 0, "v", { requestId: "req-1" }))).toEqual(first);
    const del = await shard.remove({ key: "k", expectedIndex: update.index, requestId: "req-3" });
    expect(await shard.remove({ key: "k", expectedIndex: update.index, requestId: "req-3" })).toEqual(del);
    expect(await shard.get(["k"])).toEqual([null]);
  });

  it("forgets request ids after 24 hours, in the alarm", async () => {
    const shard = freshShard();
    await shard.put(put("k", 0, "v", { requestId: "old" }));
    await runInDurableObject(shard, (_, state) => {
      state.storage.sql.exec("UPDATE requests SET at = at - ?", REQUEST_LOG_TTL_MS + 1);
    });
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    const count = await runInDurableObject(
      shard,
      (_, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM requests").one().n,
    );
    expect(count).toBe(0);
  });
});

describe("expiry", () => {
  it("makes an item absent from its @expires instant, to reads and writes, before the sweep has run", async () => {
    const shard = freshShard();
    const { index } = await shard.put(put("lease", 0, "holder-1", { expiresAt: Date.now() + 3_600_000 }));
    await shard.put(put("other", 0, "v"));
    expect((await shard.get(["lease"]))[0]?.index).toBe(index);
    // The @expires instant passes (moved into the past: a controlled clock, no sleeping) while the
    // alarm that sweeps is still an hour away, so only the read path's own filter can hide it.
    const alarm = await runInDurableObject(shard, (_, state) => {
      state.storage.sql.exec("UPDATE items SET expires_at = ? WHERE key = 'lease'", Date.now() - 1);
      return state.storage.getAlarm();
    });
    expect(alarm).toBeGreaterThan(Date.now() + 60_000);
    const stored = () =>
      runInDurableObject(
        shard,
        (_, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM items WHERE key = 'lease'").one().n,
      );
    expect(await stored()).toBe(1);
    expect(await shard.get(["lease"])).toEqual([null]);
    expect((await shard.listKeys({ prefix: "", upper: null, limit: -1 })).map((item) => item.key)).toEqual(["other"]);
    expect((await shard.listKeys({ prefix: "", upper: null, after: "a", limit: -1 })).map((item) => item.key)).toEqual(["other"]);
    expect(await shard.stats()).toEqual({ items: 1, documents: 0, identities: 0 });
    // The old index no longer updates it (RavenDB's answer for a missing key); a create takes it over.
    expect(await shard.put(put("lease", index, "holder-1"))).toEqual({ index: 0, json: null, successful: false });
    expect(await stored()).toBe(1);
    const taken = await shard.put(put("lease", 0, "holder-2"));
    expect(taken.successful).toBe(true);
    expect(taken.index).toBeGreaterThan(index);
  });

  it("is swept by the alarm in bounded batches that re-arm", async () => {
    const shard = freshShard();
    const past = Date.now() - 1000;
    const total = SWEEP_BATCH + 20;
    await runInDurableObject(shard, (_, state) => {
      for (let i = 0; i < total; i++) {
        state.storage.sql.exec("INSERT INTO items (key, idx, value, expires_at) VALUES (?, ?, '{}', ?)", `e/${i}`, i + 1, past);
      }
      state.storage.sql.exec("INSERT INTO items (key, idx, value, expires_at) VALUES ('keep', 9999, '{}', NULL)");
    });
    await runInDurableObject(shard, (_, state) => state.storage.setAlarm(Date.now() + 60_000));
    const rows = () =>
      runInDurableObject(shard, (_, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM items").one().n);
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await rows()).toBe(total - SWEEP_BATCH + 1);
    // More remained, so the alarm re-armed itself for right away.
    const next = await runInDurableObject(shard, (_, state) => state.storage.getAlarm());
    expect(next).not.toBeNull();
    expect(next!).toBeLessThanOrEqual(Date.now());
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await rows()).toBe(1);
    // Nothing left to sweep now; the expiries are in the watch history, which the alarm prunes
    // when they are a day old (WATCH_HISTORY_RETENTION's default age).
    const after = await runInDurableObject(shard, (_, state) => state.storage.getAlarm());
    expect(after).toBeGreaterThan(Date.now() + 23 * 3_600_000);
  });

  it("sets the alarm for a new expiry by itself, and the alarm removes the row", async () => {
    const shard = freshShard();
    // 1 s ahead, so the alarm cannot have fired before it is read back, even on a loaded machine.
    const expiresAt = Date.now() + 1_000;
    await shard.put(put("short", 0, "v", { expiresAt }));
    expect(await runInDurableObject(shard, (_, state) => state.storage.getAlarm())).toBe(expiresAt);
    // Let the real alarm fire on its own.
    for (let i = 0; i < 50; i++) {
      await scheduler.wait(100);
      const n = await runInDurableObject(
        shard,
        (_, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM items").one().n,
      );
      if (n === 0) return;
    }
    throw new Error("the alarm did not remove the expired row within 5 s");
  });
});
