// Group commit on real Durable Object storage: writes that arrive together share one outer
// transaction, each still atomic on its own; and through the shard, concurrent writers keep
// RavenDB's outcomes (one winner per key, distinct indexes, every reply durable).
import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { GroupCommit, STALE_MS, Traffic } from "../src/objects/group-commit";
import { shardStub } from "../src/stubs";

const freshShard = () => shardStub(env, `group-test-${crypto.randomUUID()}`, 0);
const body = (value: unknown) => JSON.stringify({ Object: value });

/**
 * A scratch table and a GroupCommit over the object's storage whose clock is pinned, so every
 * write "arrives" in the same millisecond.
 */
function scratch(state: DurableObjectState, maxBatch?: number) {
  const sql = state.storage.sql;
  sql.exec("CREATE TABLE scratch (k TEXT PRIMARY KEY, v INTEGER)");
  const tx = <R>(fn: () => R) => state.storage.transactionSync(fn);
  return { sql, group: new GroupCommit({ outer: tx, inner: tx, maxBatch, traffic: new Traffic(() => 1000) }) };
}

type Outcome = { ok: true; value: unknown } | { ok: false; message: string };
const settle = (p: Promise<unknown>): Promise<Outcome> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => ({ ok: false as const, message: (err as Error).message }),
  );

describe("GroupCommit", () => {
  it("commits a lone write at once and groups the writes that arrive in the same instant", async () => {
    // The clock is pinned: every write below "arrives" in the same millisecond.
    const result = await runInDurableObject(freshShard(), async (_, state) => {
      const { sql, group } = scratch(state);
      const writes = [1, 2, 3, 4, 5].map((v) => group.submit(() => sql.exec("INSERT INTO scratch VALUES (?, ?)", `k${v}`, v).rowsWritten));
      const firstAlone = { ...group.counts };
      const outcomes = await Promise.all(writes.map(settle));
      const rows = sql.exec<{ k: string; v: number }>("SELECT k, v FROM scratch ORDER BY v").toArray();
      return { firstAlone, counts: { ...group.counts }, outcomes, rows };
    });
    // The first write found no recent arrival: committed alone, before submit returned.
    expect(result.firstAlone).toEqual({ batches: 1, writes: 1, largest: 1 });
    // The next four arrived in the same instant: one batch, one commit.
    expect(result.counts).toEqual({ batches: 2, writes: 5, largest: 4 });
    expect(result.outcomes.every((o) => o.ok)).toBe(true);
    expect(result.rows.map((r) => r.v)).toEqual([1, 2, 3, 4, 5]);
  });

  it("flushPending commits the queued writes at once (a read sees them), and does nothing when none wait", async () => {
    const result = await runInDurableObject(freshShard(), async (_, state) => {
      const { sql, group } = scratch(state);
      const count = () => sql.exec<{ n: number }>("SELECT count(*) AS n FROM scratch").one().n;
      const writes = [1, 2, 3].map((v) => group.submit(() => sql.exec("INSERT INTO scratch VALUES (?, ?)", `k${v}`, v).rowsWritten));
      // The first committed alone; the other two wait for the timer.
      const beforeFlush = count();
      group.flushPending();
      const afterFlush = count();
      group.flushPending();
      await Promise.all(writes);
      return { beforeFlush, afterFlush, counts: { ...group.counts } };
    });
    expect(result.beforeFlush).toBe(1);
    expect(result.afterFlush).toBe(3);
    expect(result.counts).toEqual({ batches: 2, writes: 3, largest: 2 });
  });

  it("rolls back only the write that throws; its caller alone hears the error", async () => {
    const result = await runInDurableObject(freshShard(), async (_, state) => {
      const { sql, group } = scratch(state);
      const insert = (k: string, v: number) => () => sql.exec("INSERT INTO scratch VALUES (?, ?)", k, v).rowsWritten;
      const outcomes = await Promise.all(
        [
          group.submit(insert("a", 1)),
          group.submit(insert("b", 2)),
          // Writes a row, then fails: the row must not survive.
          group.submit(() => {
            sql.exec("INSERT INTO scratch VALUES ('c', 3)");
            throw new Error("midway failure");
          }),
          // A constraint error from SQLite itself (duplicate key "b").
          group.submit(insert("b", 4)),
          group.submit(insert("d", 5)),
        ].map(settle),
      );
      const rows = sql.exec<{ k: string; v: number }>("SELECT k, v FROM scratch ORDER BY k").toArray();
      return { outcomes, rows, counts: { ...group.counts } };
    });
    expect(result.outcomes.map((o) => o.ok)).toEqual([true, true, false, false, true]);
    expect(result.outcomes[2]).toEqual({ ok: false, message: "midway failure" });
    expect(result.rows).toEqual([
      { k: "a", v: 1 },
      { k: "b", v: 2 },
      { k: "d", v: 5 },
    ]);
    expect(result.counts).toEqual({ batches: 2, writes: 5, largest: 4 });
  });

  it("answers no write of a batch whose shared commit fails: every caller hears the error, nothing is stored", async () => {
    const result = await runInDurableObject(freshShard(), async (_, state) => {
      const sql = state.storage.sql;
      sql.exec("CREATE TABLE scratch (k TEXT PRIMARY KEY, v INTEGER)");
      const tx = <R>(fn: () => R) => state.storage.transactionSync(fn);
      // The outer transaction runs the batch, then fails as a commit would: everything rolls back.
      const failingCommit = <R>(fn: () => R): R =>
        state.storage.transactionSync(() => {
          fn();
          throw new Error("commit failed");
        });
      const group = new GroupCommit({ outer: failingCommit, inner: tx, traffic: new Traffic(() => 1000) });
      const outcomes = await Promise.all(
        [1, 2, 3].map((v) => settle(group.submit(() => sql.exec("INSERT INTO scratch VALUES (?, ?)", `k${v}`, v).rowsWritten))),
      );
      const rows = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM scratch").one().n;
      return { outcomes, rows };
    });
    expect(result.outcomes).toEqual([1, 2, 3].map(() => ({ ok: false, message: "commit failed" })));
    expect(result.rows).toBe(0);
  });

  it("flushes a full batch without waiting for the timer", async () => {
    const result = await runInDurableObject(freshShard(), async (_, state) => {
      const { group } = scratch(state, 3);
      const writes = Array.from({ length: 7 }, (_, i) => group.submit(() => i));
      // 1 alone, then 3 + 3 flushed by size, all before anything was awaited.
      const beforeAwait = { ...group.counts };
      const values = await Promise.all(writes);
      return { beforeAwait, values, counts: { ...group.counts } };
    });
    expect(result.beforeAwait).toEqual({ batches: 3, writes: 7, largest: 3 });
    expect(result.values).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe("Traffic", () => {
  it("calls a write busy when another arrived in the same millisecond or still waits", () => {
    let t = 0;
    const traffic = new Traffic(() => t);
    expect(traffic.arrive()).toBe(false);
    traffic.flushed(1);
    t = 0.5;
    expect(traffic.arrive()).toBe(true); // same millisecond as the last arrival
    t = 10;
    expect(traffic.arrive()).toBe(true); // the previous one has not been flushed yet
    traffic.flushed(2);
    t = 20;
    expect(traffic.arrive()).toBe(false);
  });

  it("forgets a batch that never flushes (its object was aborted) after STALE_MS", () => {
    let t = 0;
    const traffic = new Traffic(() => t);
    traffic.arrive(); // queued, then abandoned: never flushed
    t = 5;
    expect(traffic.arrive()).toBe(true);
    traffic.flushed(1);
    t = 5 + STALE_MS + 1;
    expect(traffic.arrive()).toBe(false);
    expect(traffic.pending).toBe(1);
  });
});

describe("shard writes under group commit", () => {
  it("64 concurrent creates of one key: exactly one wins, all others see the winner", async () => {
    const shard = freshShard();
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) => shard.put({ key: "seat/1", json: body(`user-${i}`), expectedIndex: 0, expiresAt: null })),
    );
    const winners = results.filter((r) => r.successful);
    expect(winners).toHaveLength(1);
    // The calls arrived together: they went through shared commits, not one each.
    const counts = await runInDurableObject(shard, (instance) => ({ ...(instance as unknown as { writes: GroupCommit }).writes.counts }));
    expect(counts.writes).toBe(64);
    expect(counts.batches).toBeLessThan(64);
    for (const r of results.filter((r) => !r.successful)) {
      expect(r).toEqual({ index: winners[0]!.index, json: winners[0]!.json, successful: false });
    }
  });

  it("concurrent creates of distinct keys get distinct indexes, and every acknowledged one survives eviction", async () => {
    const shard = freshShard();
    const keys = Array.from({ length: 100 }, (_, i) => `k/${i}`);
    const results = await Promise.all(keys.map((key) => shard.put({ key, json: body(key), expectedIndex: 0, expiresAt: null })));
    expect(results.every((r) => r.successful)).toBe(true);
    expect(new Set(results.map((r) => r.index)).size).toBe(keys.length);
    await evictDurableObject(shard);
    const stored = await shard.get(keys);
    stored.forEach((item, i) => expect(item).toEqual({ key: keys[i], index: results[i]!.index, json: body(keys[i]) }));
  });

  it("a chain of CAS updates on one key from many callers never loses an update", async () => {
    const shard = freshShard();
    await shard.put({ key: "counter", json: body(0), expectedIndex: 0, expiresAt: null });
    let applied = 0;
    // 16 callers, each looping read → CAS until it has added 5; conflicts retry.
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let done = 0; done < 5; ) {
          const [item] = await shard.get(["counter"]);
          const n = (JSON.parse(item!.json) as { Object: number }).Object;
          const r = await shard.put({ key: "counter", json: body(n + 1), expectedIndex: item!.index, expiresAt: null });
          if (r.successful) {
            done++;
            applied++;
          }
        }
      }),
    );
    const [final] = await shard.get(["counter"]);
    expect(JSON.parse(final!.json)).toEqual({ Object: 80 });
    expect(applied).toBe(80);
  });
});
