// CompareExchangeCHECK, our extension of cluster-wide batches: an index condition on an item that
// writes nothing. Over HTTP, on the one-shard path and the two-phase path; its lock (a concurrent
// write of the checked key lands after the commit, or makes the check fail); its place in the
// index order (a property test against concurrent writers).
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseBulkDocs } from "../src/core/bulk-docs";
import { shardOf, plainRouting } from "../src/core/routing";
import type { TxOp } from "../src/core/transaction";
import { coordinatorFor, shardStub } from "../src/stubs";
import { runTransaction } from "../src/transactions";
import { bulk, call, cmpDelete, cmpPut, docPut, freshDb, getItem, putItem } from "./helpers";

const SHARDS = 16;
const cmpCheck = (key: string, index: number) => ({ Id: key, Index: index, Type: "CompareExchangeCHECK" });

/** A key on the same shard as `key` (same = true) or on another one. */
function keyBeside(key: string, prefix: string, same: boolean): string {
  for (let i = 0; ; i++) {
    const other = `${prefix}/${i}`;
    if (other !== key && (shardOf(other, SHARDS) === shardOf(key, SHARDS)) === same) return other;
  }
}

const paths = [
  { path: "one shard", same: true },
  { path: "two shards", same: false },
] as const;

describe.each(paths)("CompareExchangeCHECK, $path", ({ same }) => {
  it("commits when the index matches, writes nothing for the checked key and answers its index", async () => {
    const db = freshDb();
    const created = await putItem(db, "config/flag", 0, { on: true });
    const target = keyBeside("config/flag", "out", same);
    const { status, json } = await bulk(db, [cmpCheck("config/flag", created.Index), cmpPut(target, 0, "written")]);
    expect(status).toBe(201);
    expect(json.Results).toEqual([
      { Type: "CompareExchangeCHECK", Key: "config/flag", Index: created.Index },
      { Type: "CompareExchangePUT", Key: target, Index: json.TransactionIndex },
    ]);
    // The Lamport rule: the commit index is above the index the check read.
    expect(json.TransactionIndex).toBeGreaterThan(created.Index);
    expect(await getItem(db, "config/flag")).toEqual({ value: { on: true }, index: created.Index });
    expect(await getItem(db, target)).toEqual({ value: "written", index: json.TransactionIndex });
  });

  it("fails the whole batch with RavenDB's 409 when the index does not match, and writes nothing", async () => {
    const db = freshDb();
    const first = await putItem(db, "config/flag", 0, 1);
    const second = await putItem(db, "config/flag", first.Index, 2);
    const target = keyBeside("config/flag", "out", same);
    const { status, json } = await bulk(db, [cmpPut(target, 0, "never"), cmpCheck("config/flag", first.Index)]);
    expect(status).toBe(409);
    expect(json.Type).toBe("Raven.Client.Exceptions.ClusterTransactionConcurrencyException");
    expect(json.Message).toBe(
      `Failed to execute cluster transaction due to the following issues: Concurrency check failed for checking the key 'config/flag'. Requested index: ${first.Index}, actual index: ${second.Index}`,
    );
    expect(json.ConcurrencyViolations).toEqual([
      { Type: "CompareExchange", Id: "config/flag", Expected: first.Index, Actual: second.Index },
    ]);
    expect(await getItem(db, target)).toBeNull();
    expect(await getItem(db, "config/flag")).toEqual({ value: 2, index: second.Index });
  });

  it("index 0 means the key must not exist", async () => {
    const db = freshDb();
    const target = keyBeside("names/ada", "out", same);
    const absent = await bulk(db, [cmpCheck("names/ada", 0), cmpPut(target, 0, 1)]);
    expect(absent.status).toBe(201);
    expect(absent.json.Results[0]).toEqual({ Type: "CompareExchangeCHECK", Key: "names/ada", Index: 0 });
    expect(await getItem(db, "names/ada")).toBeNull();

    const taken = await putItem(db, "names/ada", 0, "x");
    const present = await bulk(db, [cmpCheck("names/ada", 0), cmpPut(target, absent.json.TransactionIndex, 2)]);
    expect(present.status).toBe(409);
    expect(present.json.ConcurrencyViolations).toEqual([{ Type: "CompareExchange", Id: "names/ada", Expected: 0, Actual: taken.Index }]);
    // A non-zero index on a missing key: Actual -1, as for a put.
    const missing = await bulk(db, [cmpCheck("names/bob", 7), cmpPut(target, absent.json.TransactionIndex, 3)]);
    expect(missing.json.ConcurrencyViolations).toEqual([{ Type: "CompareExchange", Id: "names/bob", Expected: 7, Actual: -1 }]);
    expect(await getItem(db, target)).toEqual({ value: 1, index: absent.json.TransactionIndex });
  });

  it("guards documents too: a document write conditional on an item", async () => {
    const db = freshDb();
    const owner = await putItem(db, "tenants/acme/owner", 0, "users/1");
    const doc = keyBeside("tenants/acme/owner", "orders", same);
    const ok = await bulk(db, [docPut(doc, { total: 5 }, "Orders"), cmpCheck("tenants/acme/owner", owner.Index)]);
    expect(ok.status).toBe(201);
    expect(ok.json.Results.map((r: { Type: string }) => r.Type)).toEqual(["PUT", "CompareExchangeCHECK"]);
    const moved = await putItem(db, "tenants/acme/owner", owner.Index, "users/2");
    expect(moved.Successful).toBe(true);
    const stale = await bulk(db, [docPut(`${doc}-2`, { total: 6 }, "Orders"), cmpCheck("tenants/acme/owner", owner.Index)]);
    expect(stale.status).toBe(409);
    expect((await call(`/databases/${db}/docs?id=${encodeURIComponent(`${doc}-2`)}`)).status).toBe(404);
  });
});

describe("CompareExchangeCHECK batches", () => {
  it("a batch of checks only commits with a TransactionIndex and writes nothing", async () => {
    const db = freshDb();
    const a = await putItem(db, "a", 0, "A");
    const b = keyBeside("a", "b", false);
    const { status, json } = await bulk(db, [cmpCheck("a", a.Index), cmpCheck(b, 0)]);
    expect(status).toBe(201);
    expect(json.TransactionIndex).toBeGreaterThan(a.Index);
    expect(json.Results).toEqual([
      { Type: "CompareExchangeCHECK", Key: "a", Index: a.Index },
      { Type: "CompareExchangeCHECK", Key: b, Index: 0 },
    ]);
    expect(await getItem(db, "a")).toEqual({ value: "A", index: a.Index });
    expect(await getItem(db, b)).toBeNull();
  });

  it("reports every failed check and put together", async () => {
    const db = freshDb();
    const a = await putItem(db, "a", 0, "A");
    const { status, json } = await bulk(db, [cmpCheck("a", a.Index + 1), cmpPut("b", 4, "x"), cmpCheck("c", 0)]);
    expect(status).toBe(409);
    expect(json.ConcurrencyViolations).toEqual(
      expect.arrayContaining([
        { Type: "CompareExchange", Id: "a", Expected: a.Index + 1, Actual: a.Index },
        { Type: "CompareExchange", Id: "b", Expected: 4, Actual: -1 },
      ]),
    );
    expect(json.ConcurrencyViolations).toHaveLength(2);
  });

  it("refuses what it cannot honour, in RavenDB's envelope, with nothing stored", async () => {
    const db = freshDb();
    const cases: [unknown[], { clusterWide?: boolean }, string][] = [
      // A check beside a write of the same key (any case): one command per key, as for two puts.
      [[cmpCheck("k", 0), cmpPut("K", 0, 1)], {}, "System.InvalidOperationException"],
      [[cmpDelete("k", 3), cmpCheck("k", 3)], {}, "System.InvalidOperationException"],
      [[cmpCheck("k", 0), cmpCheck("k", 0)], {}, "System.InvalidOperationException"],
      // Only cluster-wide: a single-node batch would not honour it.
      [[cmpCheck("k", 0)], { clusterWide: false }, "System.InvalidOperationException"],
      [[{ Key: "k", Index: 0, Type: "CompareExchangeCHECK" }], {}, "System.ArgumentException"],
      [[{ Id: "k", Type: "CompareExchangeCHECK" }], {}, "System.IO.InvalidDataException"],
      [[cmpCheck("k", -1)], {}, "System.IO.InvalidDataException"],
      [[cmpCheck("rvn-atomic/users/1", 0)], {}, "Raven.Client.Exceptions.Documents.CompareExchange.CompareExchangeInvalidKeyException"],
      [[cmpCheck("a".repeat(513), 0)], {}, "Raven.Client.Exceptions.Documents.CompareExchange.CompareExchangeKeyTooBigException"],
    ];
    for (const [commands, options, type] of cases) {
      const { status, json } = await bulk(db, commands, options);
      expect([status, json.Type], JSON.stringify(commands).slice(0, 80)).toEqual([400, type]);
      expect(typeof json.Message).toBe("string");
    }
    const single = await bulk(db, [cmpCheck("k", 0)], { clusterWide: false });
    expect(single.json.Message).toContain('CompareExchangeCHECK needs "TransactionMode": "ClusterWide"');
    const listed = (await (await call(`/databases/${db}/cmpxchg`)).json()) as { Results: unknown[] };
    expect(listed.Results).toEqual([]);
  });
});

/** Parsed ops of a cluster-wide batch, as the Worker builds them. */
function ops(commands: unknown[]): TxOp[] {
  return parseBulkDocs(JSON.stringify({ Commands: commands, TransactionMode: "ClusterWide" }), {
    routing: plainRouting(SHARDS),
    atomicGuards: true,
  }).ops;
}

const lockCount = (db: string, shard: number) =>
  runInDurableObject(
    shardStub(env, db, shard),
    (_, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM locks").one().n,
  );

describe("the checked key is locked from prepare to commit", () => {
  it("a write of the checked key waits for the decision and lands above the commit index", async () => {
    const db = freshDb("check_lock");
    const checked = "lock/checked";
    const written = keyBeside(checked, "lock/written", false);
    const sc = shardOf(checked, SHARDS);
    const before = await putItem(db, checked, 0, "v1");
    // The checked key's shard never hears the commit (its commit throws, the coordinator's
    // re-drive is held back): the prepare lock stays over the pre-commit state.
    await shardStub(env, db, sc).armFailpoint("shard.commit.before", "throw");
    const requestId = `check-lock-${crypto.randomUUID()}`;
    const result = await runTransaction(env, db, {
      requestId,
      mode: "ClusterWide",
      ops: ops([cmpCheck(checked, before.Index), cmpPut(written, 0, "w")]),
    });
    if (!("committed" in result) || !result.committed) throw new Error(`expected a commit, got ${JSON.stringify(result)}`);
    await runInDurableObject(coordinatorFor(env, db, requestId).stub, (_, state) => state.storage.deleteAlarm());
    const fired = await shardStub(env, db, sc).failpointsFired();
    expect(fired["shard.commit.before"]).toBe(1);
    expect(await lockCount(db, sc)).toBe(1);
    // The write of the checked key settles the lock first (the coordinator answers "committed"):
    // in index order it comes after the transaction that saw the key at its old index.
    const after = await putItem(db, checked, before.Index, "v2");
    expect(after.Successful).toBe(true);
    expect(after.Index).toBeGreaterThan(result.index);
    expect(await lockCount(db, sc)).toBe(0);
  });

  it("a one-shard check holds against a write that comes after it", async () => {
    const db = freshDb("check_one");
    const a = await putItem(db, "one/a", 0, 1);
    const result = await bulk(db, [cmpCheck("one/a", a.Index), cmpPut(keyBeside("one/a", "one/b", true), 0, 1)]);
    const next = await putItem(db, "one/a", a.Index, 2);
    expect([result.status, next.Successful]).toEqual([201, true]);
    expect(next.Index).toBeGreaterThan(result.json.TransactionIndex);
  });
});

/**
 * Linearizability of a check against concurrent writers of the checked key. Every writer expects
 * the key's starting index; transactions check it and write a key of their own. In index order a
 * committed check must see the key unchanged: no successful write of the key has an index in
 * (start, commit index]. At most one writer wins (plain compare-exchange).
 */
describe("checks and concurrent writers of the checked key (property)", () => {
  it("no committed check is overtaken in index order by a write of its key", { timeout: 120_000 }, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          same: fc.boolean(),
          checkers: fc.integer({ min: 1, max: 3 }),
          writers: fc.array(fc.record({ txn: fc.boolean(), delay: fc.integer({ min: 0, max: 6 }) }), { minLength: 1, maxLength: 3 }),
          checkerDelays: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 3, maxLength: 3 }),
        }),
        async ({ same, checkers, writers, checkerDelays }) => {
          const db = freshDb(`check_prop_${++run}`);
          const key = "race/k";
          const start = (await putItem(db, key, 0, "start")).Index;
          const checks = Array.from({ length: checkers }, async (_, n) => {
            await scheduler.wait(checkerDelays[n]!);
            const own = keyBeside(key, `race/own${n}`, same);
            const res = await bulk(db, [cmpCheck(key, start), cmpPut(own, 0, n)]);
            return {
              status: res.status,
              index: res.json.TransactionIndex as number | undefined,
              own,
              violations: res.json.ConcurrencyViolations,
            };
          });
          const writes = writers.map(async ({ txn, delay }, n) => {
            await scheduler.wait(delay);
            if (txn) {
              const res = await bulk(db, [cmpPut(key, start, `txn${n}`), cmpPut(keyBeside(key, `race/w${n}`, !same), 0, n)]);
              return { ok: res.status === 201, index: res.json.TransactionIndex as number | undefined, status: res.status };
            }
            const res = await putItem(db, key, start, `put${n}`);
            return { ok: res.Successful, index: res.Index, status: 200 };
          });
          const [checked, written] = await Promise.all([Promise.all(checks), Promise.all(writes)]);
          for (const c of [...checked.map((c) => c.status), ...written.map((w) => w.status)]) expect([200, 201, 409]).toContain(c);
          const won = written.filter((w) => w.ok);
          expect(won.length).toBeLessThanOrEqual(1);
          for (const c of checked) {
            if (c.status === 201) {
              for (const w of won) expect(w.index! < start || w.index! > c.index!, JSON.stringify({ start, c, w })).toBe(true);
              expect(await getItem(db, c.own)).toEqual({ value: expect.any(Number), index: c.index });
            } else {
              // A failed check saw the winner's write, never a phantom.
              expect(c.violations).toEqual([{ Type: "CompareExchange", Id: key, Expected: start, Actual: won[0]?.index }]);
              expect(await getItem(db, c.own)).toBeNull();
            }
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
