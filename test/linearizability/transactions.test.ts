// Cluster-wide transactions, checked for strict serializability: the
// atomic-pair workload (writers compare-and-set 2–3 keys on different shards to one unique token
// in one transaction; readers read the keys one after another) through the Worker, while a
// nemesis arms the two-phase-commit failpoints and resets every Durable Object; then the
// dependency graph must have no cycle (no fractured read: G-single; no G0/G1c/G2), no aborted
// read, no lost update. Synthetic histories and a torn in-memory store prove the checker finds
// each of those.
import { env } from "cloudflare:workers";
import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { shardOf } from "../../src/core/routing";
import type { FailAction } from "../../src/objects/failpoints";
import { coordinatorCount, coordinatorStub, shardStub } from "../../src/stubs";
import { bulk, call, cmpPut, freshDb } from "../helpers";
import { checkTransactions, type TxnCheckResult, type TxnOp } from "./txn-checker";
import { FakeTxnStore, runTxnWorkload, type ReadReply, type TxnService, type TxnWorkloadResult } from "./txn-workload";

const SHARDS = 16;

function workerTxnService(db: string): TxnService {
  const toReply = (value: { Object: string } | null, index: number): ReadReply =>
    value === null ? { kind: "answer", value: null, index: 0 } : { kind: "answer", value: value.Object, index };
  return {
    async read(key) {
      try {
        const res = await call(`/databases/${db}/cmpxchg?key=${encodeURIComponent(key)}`);
        if (res.status === 404) {
          await res.body?.cancel();
          return { kind: "answer", value: null, index: 0 };
        }
        if (res.status !== 200) return { kind: "unknown", detail: `${res.status} ${await res.text()}` };
        const item = ((await res.json()) as { Results: { Value: { Object: string }; Index: number }[] }).Results[0]!;
        return toReply(item.Value, item.Index);
      } catch (err) {
        return { kind: "unknown", detail: String(err) };
      }
    },
    async readMany(keys) {
      try {
        const res = await call(`/databases/${db}/cmpxchg?${keys.map((k) => `key=${encodeURIComponent(k)}`).join("&")}`);
        if (res.status !== 200) {
          await res.body?.cancel();
          return null;
        }
        const json = (await res.json()) as { Results: { Value: { Object: string } | null; Index: number }[] };
        return json.Results.map((r) => toReply(r.Value, r.Index));
      } catch {
        return null;
      }
    },
    async commit(writes, requestId) {
      try {
        const res = await bulk(
          db,
          writes.map((w) => cmpPut(w.key, w.expected, w.value)),
          { requestId },
        );
        if (res.status === 201) return { kind: "committed", index: res.json.TransactionIndex as number };
        if (res.status === 409) return { kind: "conflict" };
        if (res.status >= 500) return { kind: "unknown", detail: `${res.status} ${JSON.stringify(res.json).slice(0, 200)}` };
        throw new Error(`unexpected ${res.status}: ${JSON.stringify(res.json)}`);
      } catch (err) {
        if (String(err).includes("unexpected")) throw err;
        return { kind: "unknown", detail: String(err) };
      }
    },
  };
}

function keysOnDistinctShards(prefix: string, count: number): string[] {
  const keys: string[] = [];
  const used = new Set<number>();
  for (let i = 0; keys.length < count; i++) {
    const key = `${prefix}/${i}`;
    if (!used.has(shardOf(key, SHARDS))) {
      used.add(shardOf(key, SHARDS));
      keys.push(key);
    }
  }
  return keys;
}

type Fault = { target: "shard" | "coordinator"; name: string; action: FailAction; times: number } | { target: "all" };
const TXN_FAULTS: Fault[] = [
  // Holds the window between the decision and a shard's commit open: readers meet the lock.
  { target: "shard", name: "shard.commit.before", action: "delay", times: 4 },
  { target: "shard", name: "shard.prepare.after", action: "throw", times: 1 },
  { target: "shard", name: "shard.prepare.inside", action: "abort", times: 1 },
  { target: "shard", name: "shard.commit.after", action: "throw", times: 1 },
  { target: "coordinator", name: "coordinator.after-decision", action: "throw", times: 1 },
  { target: "coordinator", name: "coordinator.after-prepare", action: "abort", times: 1 },
  { target: "coordinator", name: "coordinator.before-prepare", action: "abort", times: 1 },
  { target: "all" },
];

function txnNemesis(db: string, keys: string[]) {
  return {
    every: 3,
    inject: async (rng: () => number): Promise<string | null> => {
      const fault = TXN_FAULTS[Math.floor(rng() * TXN_FAULTS.length)]!;
      try {
        if (fault.target === "all") {
          await abortAllDurableObjects();
          return "abort-all";
        }
        // Any of the database's coordinators: each leads the transactions whose request id hashes to it.
        const stub =
          fault.target === "coordinator"
            ? coordinatorStub(env, db, Math.floor(rng() * coordinatorCount(env)))
            : shardStub(env, db, shardOf(keys[Math.floor(rng() * keys.length)]!, SHARDS));
        await stub.armFailpoint(fault.name, fault.action, fault.times);
        return `${fault.name}/${fault.action}`;
      } catch {
        return null;
      }
    },
  };
}

function report(label: string, run: TxnWorkloadResult, result: TxnCheckResult) {
  const s = run.stats;
  console.log(
    `${label}: ${run.history.length} ops checked (${s.txns} txns: ${s.committed} committed, ${s.conflicts} conflicts, ${s.unknown} unknown` +
      ` [${result.stats.unknownSeen} of them seen]; ${s.reads} reads, ${s.failedReads} failed), ${s.faults} faults ${JSON.stringify(s.faultKinds)}, ` +
      `${s.lostAnswers} lost answers, ${s.retries} retries; graph ${result.stats.versions} versions, edges ${JSON.stringify(result.stats.edges)}; ` +
      `${result.anomalies.length} anomalies; load ${s.elapsedMs} ms`,
  );
  for (const a of result.anomalies.slice(0, 5)) console.log(`  ${a.type}: ${a.detail}`);
}

describe("cluster-wide transactions through the Worker", () => {
  it("atomic pairs on 3 shards under 2PC faults: no fractured read, no lost update, no cycle", { timeout: 40_000 }, async () => {
    const db = freshDb("lin_pairs");
    const keys = keysOnDistinctShards("pair", 3);
    const run = await runTxnWorkload(workerTxnService(db), {
      keys,
      writers: 3,
      readers: 2,
      maxTxns: 60,
      maxMs: 15_000,
      seed: 303,
      readerPauseMs: 1,
      nemesis: txnNemesis(db, keys),
    });
    const result = checkTransactions(run.history);
    report("worker/pairs", run, result);
    expect(result.anomalies).toEqual([]);
    expect(run.stats.committed).toBeGreaterThan(10);
    expect(run.stats.faults).toBeGreaterThan(3);
    // Every write transaction's fate is known: retries with the same id resolve unknown outcomes.
    expect(run.stats.unknown).toBe(0);
  });
});

describe("the pair workload against in-memory stores", () => {
  const options = { keys: ["a", "b", "c"], writers: 3, readers: 2, maxTxns: 40, maxMs: 10_000, seed: 5, readerPauseMs: 1 };

  it("an atomic store has no anomalies", async () => {
    const run = await runTxnWorkload(new FakeTxnStore(), options);
    const result = checkTransactions(run.history);
    report("fake/atomic", run, result);
    expect(result.anomalies).toEqual([]);
  });

  it("a store that applies a transaction key by key is caught: fractured reads", async () => {
    // The torn store holds each half-applied commit open until a reader has been served a
    // fractured pair (see FakeTxnStore), so this does not depend on timers: one run, one seed.
    const store = new FakeTxnStore({ torn: true });
    const run = await runTxnWorkload(store, options);
    const result = checkTransactions(run.history);
    report("fake/torn", run, result);
    expect(store.fracturedServed).toBeGreaterThan(0);
    const found = result.anomalies.map((a) => a.type);
    expect(found).toContain("G-single-realtime");
  });
});

describe("the transaction checker on synthetic histories", () => {
  let id = 0;
  const txn = (
    call: number,
    ret: number,
    index: number | undefined,
    writes: [string, string, number][],
    outcome: TxnOp["outcome"] = "ok",
  ): TxnOp => ({
    id: id++,
    process: 0,
    call,
    ret,
    outcome,
    reads: [],
    writes: writes.map(([key, value, expected]) => ({ key, value, expected })),
    ...(index === undefined ? {} : { index }),
  });
  const read = (call: number, ret: number, key: string, value: string | null, index: number): TxnOp => ({
    id: id++,
    process: 1,
    call,
    ret,
    outcome: "ok",
    reads: [{ key, value, index }],
    writes: [],
  });
  const init = () =>
    txn(0, 1, 5, [
      ["a", "t0", 0],
      ["b", "t0", 0],
    ]);
  const types = (h: TxnOp[]) => checkTransactions(h).anomalies.map((a) => a.type);

  it("a clean history: reads see whole transactions, in order", () => {
    const h = [
      init(),
      txn(2, 3, 8, [
        ["a", "t1", 5],
        ["b", "t1", 5],
      ]),
      read(4, 5, "a", "t1", 8),
      read(6, 7, "b", "t1", 8),
      read(2, 9, "b", "t0", 5),
    ];
    expect(types(h)).toEqual([]);
  });

  it("a fractured read: the new a, then (later) the old b — G-single with a realtime edge", () => {
    const h = [
      init(),
      txn(2, 3, 8, [
        ["a", "t1", 5],
        ["b", "t1", 5],
      ]),
      read(4, 5, "a", "t1", 8),
      read(6, 7, "b", "t0", 5),
    ];
    const result = checkTransactions(h);
    expect(result.anomalies.map((a) => a.type)).toEqual(["G-single-realtime"]);
    expect(result.anomalies[0]!.detail).toMatch(/read#\d+\(b=t0@5\) -rw-> txn#\d+\(a:=t1 b:=t1 @8\)/);
  });

  it("the same reads in one request (a multi-key GET, no snapshot): fine while the transaction runs, stale after it", () => {
    // Concurrent with the transaction, the two reads may fall on either side of it.
    const concurrent = [
      init(),
      txn(2, 8, 8, [
        ["a", "t1", 5],
        ["b", "t1", 5],
      ]),
      read(4, 7, "a", "t1", 8),
      read(4, 7, "b", "t0", 5),
    ];
    expect(types(concurrent)).toEqual([]);
    // Invoked after the transaction completed, b=t0 is stale.
    const after = [
      init(),
      txn(2, 3, 8, [
        ["a", "t1", 5],
        ["b", "t1", 5],
      ]),
      read(4, 7, "a", "t1", 8),
      read(4, 7, "b", "t0", 5),
    ];
    expect(types(after)).toEqual(["G-single-realtime"]);
  });

  it("read skew without real time: two transactions each seen before the other — G-single", () => {
    // T1 writes a; T2 (which read T1's a) writes a and b. A reader that sees T2's b but the a of
    // before T1 saw T2 without its predecessor: r → T1 (rw) → T2 (ww) → r (wr).
    const t1 = txn(2, 20, 8, [["a", "t1", 5]]);
    const t2 = txn(2, 20, 9, [
      ["a", "t2", 8],
      ["b", "t2", 5],
    ]);
    const r1 = read(3, 19, "b", "t2", 9);
    const r2 = read(3, 19, "a", "t0", 5);
    const both: TxnOp = { ...r1, reads: [...r1.reads, ...r2.reads] };
    expect(types([init(), t1, t2, both])).toEqual(["G-single"]);
  });

  it("a lost update: two transactions commit on top of the same version", () => {
    const h = [init(), txn(2, 4, 8, [["a", "t1", 5]]), txn(3, 5, 9, [["a", "t2", 5]])];
    expect(types(h)).toContain("lost-update");
  });

  it("an aborted read: a value from a transaction that answered 409", () => {
    const h = [
      init(),
      txn(
        2,
        3,
        undefined,
        [
          ["a", "t1", 5],
          ["b", "t1", 5],
        ],
        "fail",
      ),
      read(4, 5, "a", "t1", 8),
    ];
    expect(types(h)).toEqual(["G1a"]);
  });

  it("an acknowledged transaction lost: the final read shows the version before it", () => {
    const h = [
      init(),
      txn(2, 3, 8, [
        ["a", "t1", 5],
        ["b", "t1", 5],
      ]),
      read(10, 11, "a", "t0", 5),
    ];
    expect(types(h)).toEqual(["G-single-realtime"]);
  });

  it("a read of a value nobody wrote, and a read at the wrong index", () => {
    expect(types([init(), read(2, 3, "a", "ghost", 5)])).toEqual(["garbage-read"]);
    expect(types([init(), read(2, 3, "a", "t0", 6)])).toEqual(["index-mismatch"]);
  });

  it("an unknown transaction: committed when read (at the index read), otherwise left out", () => {
    const seen = [
      init(),
      txn(
        2,
        Infinity,
        undefined,
        [
          ["a", "t1", 5],
          ["b", "t1", 5],
        ],
        "info",
      ),
      read(4, 5, "a", "t1", 8),
      read(6, 7, "b", "t1", 8),
    ];
    expect(types(seen)).toEqual([]);
    const torn = [
      init(),
      txn(
        2,
        Infinity,
        undefined,
        [
          ["a", "t1", 5],
          ["b", "t1", 5],
        ],
        "info",
      ),
      read(4, 5, "a", "t1", 8),
      read(6, 7, "b", "t0", 5),
    ];
    expect(types(torn)).toEqual(["G-single-realtime"]);
    const unseen = [init(), txn(2, Infinity, undefined, [["a", "t1", 5]], "info"), read(4, 5, "a", "t0", 5)];
    expect(types(unseen)).toEqual([]);
  });
});
