// The crash-point matrix of the transaction protocol (docs/ARCHITECTURE.md §4): a failure injected
// at every step — a crash (ctx.abort(), which also drops writes not yet flushed), a thrown error,
// or a reply lost after the work — then the alarms of every coordinator and shard run, and the
// invariants must hold: no locks left, a committed transaction fully visible, an aborted one
// visible nowhere, late messages no-ops. The database has several coordinators (wrangler.toml's
// COORDINATOR_COUNT); the matrix runs alone, beside a concurrent rival on the same keys, and
// through the wait-die steps (a busy vote, a released attempt).
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseBulkDocs } from "../src/core/bulk-docs";
import { plainRouting, shardOf } from "../src/core/routing";
import type { ExecuteResult, TransactionRequest, TxOp } from "../src/core/transaction";
import type { FailAction } from "../src/objects/failpoints";
import { LOCK_RESOLVE_AFTER_MS } from "../src/objects/shard";
import { allCoordinators, coordinatorCount, coordinatorFor, shardStub } from "../src/stubs";
import { runTransaction } from "../src/transactions";
import { call, cmpDelete, cmpPut, docPut, freshDb } from "./helpers";

const SHARDS = 16;
/** The coordinator that runs (and on a retry, ran) the transaction with this request id. */
const coordinator = (db: string, requestId: string) => coordinatorFor(env, db, requestId).stub;
const shard = (db: string, n: number) => shardStub(env, db, n);
const run = (db: string, request: TransactionRequest) => runTransaction(env, db, request);

/** Two keys on different shards, both created with value "old". */
async function setup(label: string) {
  const db = freshDb(label);
  const a = "pair/a";
  let b = "pair/b0";
  for (let i = 1; shardOf(b, SHARDS) === shardOf(a, SHARDS); i++) b = `pair/b${i}`;
  const created = await run(db, {
    requestId: `setup-${db}`,
    mode: "ClusterWide",
    ops: ops(db, [cmpPut(a, 0, "old"), cmpPut(b, 0, "old")]),
  });
  if (!("committed" in created) || !created.committed) throw new Error("setup failed");
  // Phase two runs after the answer: a read at each shard settles it, so every test starts from
  // applied state (a fault injected next must not also take the setup's commit with it).
  await shardStub(env, db, shardOf(a, SHARDS)).get([a]);
  await shardStub(env, db, shardOf(b, SHARDS)).get([b]);
  return { db, a, b, index: created.index, sa: shardOf(a, SHARDS), sb: shardOf(b, SHARDS) };
}

function ops(_db: string, commands: unknown[], atomicGuards = true): TxOp[] {
  return parseBulkDocs(JSON.stringify({ Commands: commands, TransactionMode: "ClusterWide" }), {
    routing: plainRouting(SHARDS),
    atomicGuards,
  }).ops;
}

/** How often a failpoint fired in an object (counted across crashes of its instance). */
/**
 * How often the failpoint fired in the target object. Phase two runs after the caller's answer,
 * so a failpoint there fires a moment later, and an aborted object refuses calls until it has
 * restarted: asked again for up to 5 s until it has fired (a count, so it never over-reports).
 */
async function fired(target: () => { failpointsFired(): Promise<Record<string, number>> | Record<string, number> }, failpoint: string) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      const count = (await target().failpointsFired())[failpoint] ?? 0;
      if (count > 0 || Date.now() > deadline) return count;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await scheduler.wait(50);
  }
}

/** The transaction under test: move both keys from "old" to `to` ("new" unless a rival's). */
const moveBoth = (s: Awaited<ReturnType<typeof setup>>, to = "new") => ops(s.db, [cmpPut(s.a, s.index, to), cmpPut(s.b, s.index, to)]);

/** Raw shard state, read without going through lock resolution. */
function raw(db: string, n: number, key: string) {
  return runInDurableObject(shard(db, n), (_, state) => {
    const sql = state.storage.sql;
    const item = sql.exec<{ idx: number; value: string }>("SELECT idx, value FROM items WHERE key = ?", key).toArray()[0];
    return {
      value: item ? (JSON.parse(item.value) as { Object: unknown }).Object : null,
      index: item?.idx ?? null,
      locks: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM locks").one().n,
      prepared: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM prepared").one().n,
    };
  });
}

/** Lets every alarm run, with prepare locks aged past their resolve delay, until quiet. */
async function quiesce(db: string, shards: number[]) {
  for (let round = 0; round < 3; round++) {
    for (const stub of allCoordinators(env, db)) {
      try {
        await runDurableObjectAlarm(stub);
      } catch {
        // a failpoint may still be armed in a crashed instance: the next round runs on a fresh one
      }
    }
    for (const n of shards) {
      await runInDurableObject(shard(db, n), async (_, state) => {
        state.storage.sql.exec("UPDATE prepared SET at = at - ?", LOCK_RESOLVE_AFTER_MS * 2);
        if ((await state.storage.getAlarm()) === null) await state.storage.setAlarm(Date.now());
      });
      await runDurableObjectAlarm(shard(db, n));
    }
  }
}

/** Runs a transaction through the coordinator; a thrown error (an injected crash) becomes a value. */
async function attempt(fn: () => Promise<unknown>): Promise<{ ok: true; value: ExecuteResult } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: (await fn()) as ExecuteResult };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Every coordinator's log of the database. */
async function logs(db: string) {
  const all = await Promise.all(
    allCoordinators(env, db).map((stub) =>
      runInDurableObject(stub, (_, state) =>
        state.storage.sql.exec<{ state: string; done: number; ops: string }>("SELECT state, done, ops FROM txlog ORDER BY seq").toArray(),
      ),
    ),
  );
  return all.flat();
}

/**
 * The invariants after quiescence; returns what is visible ("old", "new" or a rival's value).
 * Every log agrees: a value other than "old" was committed exactly once, any other move never.
 */
async function checkInvariants(s: Awaited<ReturnType<typeof setup>>, moves = ["new"]) {
  const [ra, rb] = [await raw(s.db, s.sa, s.a), await raw(s.db, s.sb, s.b)];
  expect([ra.locks, ra.prepared, rb.locks, rb.prepared]).toEqual([0, 0, 0, 0]);
  // All or nothing, with one index for both.
  expect(ra.value).toBe(rb.value);
  expect(ra.index).toBe(rb.index);
  const log = await logs(s.db);
  expect(log.every((row) => row.done === 1 && row.state !== "preparing")).toBe(true);
  for (const to of moves) {
    const rows = log.filter((row) =>
      (JSON.parse(row.ops) as TxOp[]).some((op) => op.kind === "cmpxchg-put" && op.json.includes(`"${to}"`)),
    );
    expect(rows.filter((row) => row.state === "committed").length).toBe(ra.value === to ? 1 : 0);
  }
  return ra.value as string;
}

type Case = { where: "coordinator" | "a" | "b"; failpoint: string; action: FailAction; expect: "commit" | "abort" | "either" };

const matrix: Case[] = [
  // Presumed abort: nothing is logged before the prepares.
  { where: "coordinator", failpoint: "coordinator.before-prepare", action: "abort", expect: "abort" },
  { where: "coordinator", failpoint: "coordinator.before-prepare", action: "throw", expect: "abort" },
  { where: "a", failpoint: "shard.prepare.inside", action: "abort", expect: "abort" },
  { where: "a", failpoint: "shard.prepare.inside", action: "throw", expect: "abort" },
  { where: "b", failpoint: "shard.prepare.after", action: "drop-reply", expect: "abort" },
  { where: "b", failpoint: "shard.prepare.after", action: "abort", expect: "abort" },
  { where: "coordinator", failpoint: "coordinator.after-prepare", action: "abort", expect: "abort" },
  { where: "coordinator", failpoint: "coordinator.after-prepare", action: "throw", expect: "abort" },
  // A crash right after the decision may lose the unflushed decision (then: presumed abort).
  { where: "coordinator", failpoint: "coordinator.after-decision", action: "abort", expect: "either" },
  { where: "coordinator", failpoint: "coordinator.after-decision", action: "throw", expect: "commit" },
  { where: "a", failpoint: "shard.commit.before", action: "abort", expect: "commit" },
  { where: "b", failpoint: "shard.commit.before", action: "throw", expect: "commit" },
  { where: "a", failpoint: "shard.commit.after", action: "drop-reply", expect: "commit" },
  { where: "b", failpoint: "shard.commit.after", action: "abort", expect: "commit" },
];

/** What the caller was told never contradicts what happened. */
function agrees(result: Awaited<ReturnType<typeof attempt>>, committed: boolean) {
  if (result.ok && "committed" in result.value) expect(result.value.committed).toBe(committed);
  if (result.ok && "failed" in result.value && result.value.failed === "aborted") expect(committed).toBe(false);
}

describe("crash-point matrix, two shards", () => {
  it("the database has several coordinators", () => {
    expect(coordinatorCount(env)).toBeGreaterThan(1);
  });

  it.each(matrix)("$failpoint / $action", async (c) => {
    const s = await setup(c.failpoint.replace(/\W/g, "_"));
    const requestId = `move-${s.db}`;
    // A fresh stub per call: a stub whose object crashed keeps throwing the crash.
    const target = () => (c.where === "coordinator" ? coordinator(s.db, requestId) : shard(s.db, c.where === "a" ? s.sa : s.sb));
    await target().armFailpoint(c.failpoint, c.action);
    const result = await attempt(() => run(s.db, { requestId, mode: "ClusterWide", ops: moveBoth(s) }));
    // The fault really happened: a failpoint that is renamed or moved off the path fails its row.
    expect(await fired(target, c.failpoint)).toBe(1);
    await quiesce(s.db, [s.sa, s.sb]);
    const committed = (await checkInvariants(s)) === "new";
    if (c.expect !== "either") expect(committed).toBe(c.expect === "commit");
    agrees(result, committed);
  });
});

describe("crash-point matrix beside a concurrent rival on the same keys", () => {
  it.each(matrix)("$failpoint / $action", async (c) => {
    const s = await setup(`rival_${c.failpoint.replace(/\W/g, "_")}`);
    // Two request ids led by two different coordinators.
    const requestId = `move-${s.db}`;
    let rivalId = `rival-${s.db}`;
    for (let i = 0; coordinatorFor(env, s.db, rivalId).k === coordinatorFor(env, s.db, requestId).k; i++) rivalId = `rival-${s.db}-${i}`;
    const target = c.where === "coordinator" ? coordinator(s.db, requestId) : shard(s.db, c.where === "a" ? s.sa : s.sb);
    await target.armFailpoint(c.failpoint, c.action);
    const [result, rival] = await Promise.all([
      attempt(() => run(s.db, { requestId, mode: "ClusterWide", ops: moveBoth(s) })),
      attempt(() => run(s.db, { requestId: rivalId, mode: "ClusterWide", ops: moveBoth(s, "rival") })),
    ]);
    await quiesce(s.db, [s.sa, s.sb]);
    const visible = await checkInvariants(s, ["new", "rival"]);
    agrees(result, visible === "new");
    agrees(rival, visible === "rival");
  });
});

describe("wait-die: a younger transaction meets an undecided lock", () => {
  // The rival (older) moves b and a third key c whose prepare is held open: it holds b's lock,
  // undecided, while the move (younger) prepares a and b — b votes busy, the move releases a and
  // tries again; the failure is injected in that release or after it.
  const cases: { where: "coordinator" | "a"; failpoint: string; action: FailAction }[] = [
    { where: "coordinator", failpoint: "coordinator.after-release", action: "abort" },
    { where: "coordinator", failpoint: "coordinator.after-release", action: "throw" },
    { where: "a", failpoint: "shard.release.after", action: "abort" },
    { where: "a", failpoint: "shard.release.after", action: "drop-reply" },
  ];
  it.each(cases)("$failpoint / $action", async (c) => {
    const s = await setup(`wd_${c.failpoint.replace(/\W/g, "_")}_${c.action}`);
    let cKey = "pair/c0";
    for (let i = 1; [s.sa, s.sb].includes(shardOf(cKey, SHARDS)); i++) cKey = `pair/c${i}`;
    const sc = shardOf(cKey, SHARDS);
    const rivalId = `rival-${s.db}`;
    const requestId = `move-${s.db}`;
    await shard(s.db, sc).armFailpoint("shard.prepare.before", "delay", 1);
    const target = c.where === "coordinator" ? coordinator(s.db, requestId) : shard(s.db, s.sa);
    await target.armFailpoint(c.failpoint, c.action);
    const rivalOps = ops(s.db, [cmpPut(s.b, s.index, "rival"), cmpPut(cKey, 0, "rival")]);
    const rivalRun = attempt(() => run(s.db, { requestId: rivalId, mode: "ClusterWide", ops: rivalOps }));
    // Let the rival take b's lock first (its prepare at c is held open).
    for (let i = 0; i < 100 && (await raw(s.db, s.sb, s.b)).locks === 0; i++) await scheduler.wait(1);
    const result = await attempt(() => run(s.db, { requestId, mode: "ClusterWide", ops: moveBoth(s) }));
    const rival = await rivalRun;
    await quiesce(s.db, [s.sa, s.sb, sc]);
    const [ra, rb, rc] = [await raw(s.db, s.sa, s.a), await raw(s.db, s.sb, s.b), await raw(s.db, sc, cKey)];
    expect([ra.locks, rb.locks, rc.locks, ra.prepared, rb.prepared, rc.prepared]).toEqual([0, 0, 0, 0, 0, 0]);
    // The rival is all or nothing; the move too, and never both (they conflict on b).
    expect(rb.value === "rival").toBe(rc.value === "rival");
    const moved = ra.value === "new";
    expect(moved ? rb.value === "new" : rb.value !== "new").toBe(true);
    expect(moved && rb.value === "rival").toBe(false);
    agrees(result, moved);
    agrees(rival, rb.value === "rival");
    expect((await logs(s.db)).every((row) => row.done === 1 && row.state !== "preparing")).toBe(true);
  });
});

describe("reads that meet a lock", () => {
  it("roll a committed transaction forward instead of answering the old value", async () => {
    const s = await setup("read_forward");
    await shard(s.db, s.sb).armFailpoint("shard.commit.before", "throw");
    const result = await run(s.db, { requestId: "read-forward", mode: "ClusterWide", ops: moveBoth(s) });
    expect("committed" in result && result.committed).toBe(true);
    expect(await fired(() => shard(s.db, s.sb), "shard.commit.before")).toBe(1);
    // b still holds the prepare lock; a read there must see the committed value.
    expect((await raw(s.db, s.sb, s.b)).locks).toBe(1);
    const [item] = await shard(s.db, s.sb).get([s.b]);
    expect(JSON.parse(item!.json).Object).toBe("new");
    expect((await raw(s.db, s.sb, s.b)).locks).toBe(0);
  });

  it("presume abort for a transaction nobody decided", async () => {
    const s = await setup("read_abort");
    await coordinator(s.db, "read-abort").armFailpoint("coordinator.after-prepare", "abort");
    await attempt(() => run(s.db, { requestId: "read-abort", mode: "ClusterWide", ops: moveBoth(s) }));
    expect(await fired(() => coordinator(s.db, "read-abort"), "coordinator.after-prepare")).toBe(1);
    expect((await raw(s.db, s.sa, s.a)).locks).toBe(1);
    const [item] = await shard(s.db, s.sa).get([s.a]);
    expect(JSON.parse(item!.json).Object).toBe("old");
    // A single-key CAS on the other key also resolves the lock first, then succeeds on the old index.
    const cas = await shard(s.db, s.sb).put({ key: s.b, json: '{"Object":"cas"}', expectedIndex: s.index, expiresAt: null });
    expect(cas.successful).toBe(true);
    await quiesce(s.db, [s.sa, s.sb]);
    expect([(await raw(s.db, s.sa, s.a)).locks, (await raw(s.db, s.sb, s.b)).locks]).toEqual([0, 0]);
  });
});

describe("late and duplicate messages are no-ops", () => {
  it("after a commit: a second commit and a late prepare change nothing", async () => {
    const s = await setup("late_commit");
    const result = await run(s.db, { requestId: "late-commit", mode: "ClusterWide", ops: moveBoth(s) });
    if (!("committed" in result) || !result.committed) throw new Error("expected a commit");
    // The answer came at the commit point; wait for phase two to finish before replaying it.
    const logged = () =>
      runInDurableObject(coordinator(s.db, "late-commit"), (_, state) =>
        state.storage.sql.exec<{ txn_id: string; done: number }>("SELECT txn_id, done FROM txlog ORDER BY seq DESC LIMIT 1").one(),
      );
    // Done is marked with the log's next commit, or by the alarm.
    for (let i = 0; i < 200 && (await logged()).done === 0; i++) {
      await scheduler.wait(5);
      await runDurableObjectAlarm(coordinator(s.db, "late-commit"));
    }
    const { txn_id: txnId, done } = await logged();
    expect(done).toBe(1);
    const before = await raw(s.db, s.sa, s.a);
    await (shard(s.db, s.sa).commit(txnId, result.index + 50) as Promise<unknown>);
    const vote = await shard(s.db, s.sa).prepare(
      txnId,
      "ClusterWide",
      moveBoth(s).filter((op) => op.shard === s.sa),
    );
    expect(vote.vote).toBe("yes");
    expect(await raw(s.db, s.sa, s.a)).toEqual(before);
  });

  it("after an abort: a late prepare takes no lock and a late commit applies nothing", async () => {
    const s = await setup("late_abort");
    const txnId = crypto.randomUUID();
    await shard(s.db, s.sa).abort(txnId);
    const opsA = moveBoth(s).filter((op) => op.shard === s.sa);
    expect(await shard(s.db, s.sa).prepare(txnId, "ClusterWide", opsA)).toEqual({ vote: "no", violations: [] });
    expect(await (shard(s.db, s.sa).commit(txnId, 999) as Promise<unknown>)).toEqual({ committed: false, violations: [] });
    expect(await raw(s.db, s.sa, s.a)).toMatchObject({ value: "old", index: s.index, locks: 0, prepared: 0 });
  });
});

describe("one-phase commit", () => {
  it("learns the outcome by fencing when the shard's reply is lost", async () => {
    const s = await setup("one_phase_drop");
    await shard(s.db, s.sa).armFailpoint("shard.commitOnePhase.after", "drop-reply");
    const result = await run(s.db, { mode: "ClusterWide", ops: ops(s.db, [cmpPut(s.a, s.index, "solo")]) });
    expect(await fired(() => shard(s.db, s.sa), "shard.commitOnePhase.after")).toBe(1);
    expect("committed" in result && result.committed).toBe(true);
    expect((await raw(s.db, s.sa, s.a)).value).toBe("solo");
  });

  it("learns the outcome from the request log when the reply of a transaction with a request id is lost", async () => {
    // With a request id the outcome is only in the request log (one row per transaction): the
    // fence must find it there, or it would report a committed transaction as aborted.
    const s = await setup("one_phase_drop_logged");
    await shard(s.db, s.sa).armFailpoint("shard.commitOnePhase.after", "drop-reply");
    const request = { requestId: "solo-logged", mode: "ClusterWide" as const, ops: ops(s.db, [cmpPut(s.a, s.index, "solo")]) };
    const result = await run(s.db, request);
    expect(await fired(() => shard(s.db, s.sa), "shard.commitOnePhase.after")).toBe(1);
    expect("committed" in result && result.committed).toBe(true);
    expect((await raw(s.db, s.sa, s.a)).value).toBe("solo");
    // A retry gets the same outcome, and nothing is applied twice.
    const retry = await run(s.db, request);
    expect(retry).toEqual(result);
    expect((await raw(s.db, s.sa, s.a)).index).toBe("committed" in result && result.committed ? result.index : -1);
  });

  it("replays at the shard: a second attempt under the same request id gets the first outcome, applies nothing, fails nothing", async () => {
    // The entry point's fence would also find the logged outcome, so this asks the shard itself:
    // the step must replay, not run the ops again (a conflict) or fail on the logged id.
    const s = await setup("one_phase_replay");
    const request = { requestId: "solo-replay", mode: "ClusterWide" as const, ops: ops(s.db, [cmpPut(s.a, s.index, "solo")]) };
    const first = await run(s.db, request);
    expect("committed" in first && first.committed).toBe(true);
    const index = (await raw(s.db, s.sa, s.a)).index;
    let again: unknown;
    try {
      again = await shard(s.db, s.sa).commitOnePhase(crypto.randomUUID(), request.mode, request.ops, 0, request.requestId);
    } catch (err) {
      again = { threw: String(err) };
    }
    expect(again).toEqual(first);
    expect((await raw(s.db, s.sa, s.a)).index).toBe(index);
  });

  it("reports a shard crash as nothing applied, and a retry with the same id runs anew", async () => {
    const s = await setup("one_phase_crash");
    await shard(s.db, s.sa).armFailpoint("shard.commitOnePhase.after", "abort");
    const request = { requestId: "solo-1", mode: "ClusterWide" as const, ops: ops(s.db, [cmpPut(s.a, s.index, "solo")]) };
    const first = await run(s.db, request);
    expect(await fired(() => shard(s.db, s.sa), "shard.commitOnePhase.after")).toBe(1);
    expect(first).toMatchObject({ failed: "aborted" });
    expect((await raw(s.db, s.sa, s.a)).value).toBe("old");
    const retry = await run(s.db, request);
    expect("committed" in retry && retry.committed).toBe(true);
    expect((await raw(s.db, s.sa, s.a)).value).toBe("solo");
  });
});

describe("a retry after the coordinator crashed before deciding", () => {
  it("is told nothing was applied and then runs anew under the same request id — never a false conflict", async () => {
    const s = await setup("retry_after_crash");
    await coordinator(s.db, "retry-1").armFailpoint("coordinator.after-prepare", "abort");
    const request = { requestId: "retry-1", mode: "ClusterWide" as const, ops: moveBoth(s) };
    const first = await attempt(() => run(s.db, request));
    expect(await fired(() => coordinator(s.db, request.requestId), "coordinator.after-prepare")).toBe(1);
    // The crash surfaces as an error, or (when the runtime re-delivers the call to a fresh
    // instance) as the outcome of the recovered transaction; never as a conflict.
    if (first.ok) expect(first.value).not.toMatchObject({ committed: false });
    const retry = await attempt(() => run(s.db, request));
    expect(retry.ok && "committed" in retry.value && retry.value.committed).toBe(true);
    if (first.ok && "committed" in first.value) expect(retry.ok && retry.value).toEqual(first.value);
    await quiesce(s.db, [s.sa, s.sb]);
    expect(await checkInvariants(s)).toBe("new");
  });
});

describe("no global queue", () => {
  it("a transaction on other keys, led by the same coordinator, commits while one is held in its prepare", async () => {
    const db = freshDb("parallel");
    const used = new Set<number>();
    const keys: string[] = [];
    for (let i = 0; keys.length < 4; i++) {
      const key = `par/${i}`;
      if (!used.has(shardOf(key, SHARDS))) {
        used.add(shardOf(key, SHARDS));
        keys.push(key);
      }
    }
    const [a, b, c, d] = keys as [string, string, string, string];
    // Two request ids led by the same coordinator (before: its queue ran them one after the other).
    const slowId = `slow-${db}`;
    let fastId = `fast-${db}-0`;
    for (let i = 1; coordinatorFor(env, db, fastId).k !== coordinatorFor(env, db, slowId).k; i++) fastId = `fast-${db}-${i}`;
    // Held long enough for the fast one to finish on a busy machine (the order is the assertion).
    await shard(db, shardOf(a, SHARDS)).armFailpoint("shard.prepare.before", "delay", 1, 2_000);
    const order: string[] = [];
    const slow = run(db, { requestId: slowId, mode: "ClusterWide", ops: ops(db, [cmpPut(a, 0, "slow"), cmpPut(b, 0, "slow")]) }).then(
      (r) => {
        order.push("slow");
        return r;
      },
    );
    // Let the slow one reach its held prepare first.
    await scheduler.wait(1);
    const fast = await run(db, { requestId: fastId, mode: "ClusterWide", ops: ops(db, [cmpPut(c, 0, "fast"), cmpPut(d, 0, "fast")]) });
    order.push("fast");
    expect("committed" in fast && fast.committed).toBe(true);
    const slowResult = await slow;
    expect("committed" in slowResult && slowResult.committed).toBe(true);
    expect(order).toEqual(["fast", "slow"]);
  });
});

/**
 * A transaction that committed at the coordinator but whose commit has not reached shard b: b
 * still holds its prepare lock over the pre-transaction state. The coordinator's re-drive (its
 * alarm) is held back, so the window stays open for as long as the test needs, on any machine.
 * Every read and write path of b must answer as if the commit had been applied.
 */
async function committedUnapplied(s: Awaited<ReturnType<typeof setup>>, commands: unknown[], atomicGuards = true) {
  await shard(s.db, s.sb).armFailpoint("shard.commit.before", "throw");
  const requestId = `unapplied-${crypto.randomUUID()}`;
  const result = await run(s.db, { requestId, mode: "ClusterWide", ops: ops(s.db, commands, atomicGuards) });
  if (!("committed" in result) || !result.committed) throw new Error(`expected a commit, got ${JSON.stringify(result)}`);
  expect(await fired(() => shard(s.db, s.sb), "shard.commit.before")).toBe(1);
  await runInDurableObject(coordinator(s.db, requestId), (_, state) => state.storage.deleteAlarm());
  const locks = await runInDurableObject(
    shard(s.db, s.sb),
    (_, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM locks").one().n,
  );
  expect(locks).toBeGreaterThan(0);
  return result.index;
}

/** A key on a shard other than a's and b's. */
function thirdKey(s: Awaited<ReturnType<typeof setup>>) {
  let c = "pair/c0";
  for (let i = 1; [s.sa, s.sb].includes(shardOf(c, SHARDS)); i++) c = `pair/c${i}`;
  return c;
}

const _itemValue = (item: { json: string } | null | undefined) => (item ? (JSON.parse(item.json) as { Object: unknown }).Object : null);

describe("every path that meets a committed, unapplied transaction's lock sees the commit", () => {
  it("a single-key CAS with the pre-transaction index fails; one with the commit index wins and is not overwritten", async () => {
    const s = await setup("cas_on_lock");
    const commitIndex = await committedUnapplied(s, [cmpPut(s.a, s.index, "new"), cmpPut(s.b, s.index, "new")]);
    expect((await raw(s.db, s.sb, s.b)).value).toBe("old");
    const stale = await shard(s.db, s.sb).put({ key: s.b, json: '{"Object":"cas"}', expectedIndex: s.index, expiresAt: null });
    expect(stale).toEqual({ successful: false, index: commitIndex, json: '{"Object":"new"}' });
    const current = await shard(s.db, s.sb).put({ key: s.b, json: '{"Object":"cas"}', expectedIndex: commitIndex, expiresAt: null });
    expect(current.successful).toBe(true);
    expect(current.index).toBeGreaterThan(commitIndex);
    // The re-drive of the commit comes later and must not overwrite the acknowledged write.
    await quiesce(s.db, [s.sa, s.sb]);
    expect(await raw(s.db, s.sb, s.b)).toMatchObject({ value: "cas", index: current.index, locks: 0 });
  });

  it("a single-key delete with the pre-transaction index fails", async () => {
    const s = await setup("delete_on_lock");
    const commitIndex = await committedUnapplied(s, [cmpPut(s.a, s.index, "new"), cmpPut(s.b, s.index, "new")]);
    const stale = await shard(s.db, s.sb).remove({ key: s.b, expectedIndex: s.index });
    expect(stale).toEqual({ successful: false, index: commitIndex, json: '{"Object":"new"}' });
  });

  it("a read answers the committed value, over RPC and over HTTP", async () => {
    const s = await setup("get_on_lock");
    const commitIndex = await committedUnapplied(s, [cmpPut(s.a, s.index, "new"), cmpPut(s.b, s.index, "new")]);
    const res = await call(`/databases/${s.db}/cmpxchg?key=${encodeURIComponent(s.b)}`);
    const body = (await res.json()) as { Results: { Value: { Object: unknown }; Index: number }[] };
    expect(body.Results[0]).toMatchObject({ Value: { Object: "new" }, Index: commitIndex });
  });

  it("a prefix listing shows the committed values, over RPC and over HTTP", async () => {
    const s = await setup("list_on_lock");
    // A key the transaction creates on b's shard: a listing that skipped the lock would miss it.
    let c = "pair/c0";
    for (let i = 1; shardOf(c, SHARDS) !== s.sb; i++) c = `pair/c${i}`;
    const commitIndex = await committedUnapplied(s, [cmpPut(s.a, s.index, "new"), cmpPut(s.b, s.index, "new"), cmpPut(c, 0, "new")]);
    const listed = await shard(s.db, s.sb).listKeys({ prefix: "pair/", upper: "pair0", limit: -1 });
    expect(listed.map((entry) => entry.key)).toEqual([s.b, c].sort());
    // Resuming after a key (the continuation token's path) checks the locks too.
    const resumed = await shard(s.db, s.sb).listKeys({ prefix: "pair/", upper: "pair0", after: "pair/", limit: -1 });
    expect(resumed.map((entry) => entry.key)).toEqual([s.b, c].sort());
    const res = await call(`/databases/${s.db}/cmpxchg?startsWith=pair/`);
    const body = (await res.json()) as { Results: { Key: string; Value: { Object: unknown }; Index: number }[] };
    expect(body.Results.map((r) => [r.Key, r.Value.Object, r.Index])).toEqual(
      [
        [s.a, "new", commitIndex],
        [s.b, "new", commitIndex],
        [c, "new", commitIndex],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
  });

  it("the shard's statistics count the committed state", async () => {
    const s = await setup("stats_on_lock");
    await committedUnapplied(s, [cmpDelete(s.a, s.index), cmpDelete(s.b, s.index)]);
    expect(await shard(s.db, s.sb).stats()).toEqual({ items: 0, documents: 0, identities: 0 });
  });

  it("a one-phase transaction with the pre-transaction index conflicts", async () => {
    const s = await setup("one_phase_on_lock");
    const commitIndex = await committedUnapplied(s, [cmpPut(s.a, s.index, "new"), cmpPut(s.b, s.index, "new")]);
    const stale = await run(s.db, { mode: "ClusterWide", ops: ops(s.db, [cmpPut(s.b, s.index, "solo")]) });
    expect(stale).toMatchObject({ committed: false, violations: [{ Id: s.b, Expected: s.index, Actual: commitIndex }] });
    expect((await raw(s.db, s.sb, s.b)).value).toBe("new");
  });

  it("a prepare with the pre-transaction index votes no", async () => {
    const s = await setup("prepare_on_lock");
    const commitIndex = await committedUnapplied(s, [cmpPut(s.a, s.index, "new"), cmpPut(s.b, s.index, "new")]);
    const c = thirdKey(s);
    const stale = await run(s.db, { mode: "ClusterWide", ops: ops(s.db, [cmpPut(s.b, s.index, "two"), cmpPut(c, 0, "two")]) });
    expect(stale).toMatchObject({ committed: false, violations: [{ Id: s.b, Expected: s.index, Actual: commitIndex }] });
    expect((await raw(s.db, s.sb, s.b)).value).toBe("new");
  });

  /** Two documents on a's and b's shards, "old"; then a committed, unapplied move of both to "new". */
  async function docsUnapplied(label: string) {
    const s = await setup(label);
    const docA = s.a.replace("pair/", "users/");
    let docB = "users/b0";
    for (let i = 1; shardOf(docB, SHARDS) !== s.sb || shardOf(docB, SHARDS) === shardOf(docA, SHARDS); i++) docB = `users/b${i}`;
    const create = await run(s.db, {
      mode: "ClusterWide",
      ops: ops(s.db, [docPut(docA, { v: "old" }), docPut(docB, { v: "old" })], false),
    });
    expect("committed" in create && create.committed).toBe(true);
    await committedUnapplied(s, [docPut(docA, { v: "new" }), docPut(docB, { v: "new" })], false);
    return { ...s, docB };
  }

  it("a document load shows the committed document, over RPC and over HTTP", async () => {
    const s = await docsUnapplied("doc_load_on_lock");
    const [loaded] = await shard(s.db, s.sb).getDocs([s.docB]);
    expect(JSON.parse(loaded!.doc!.body)).toMatchObject({ v: "new" });
    const res = await call(`/databases/${s.db}/docs?id=${encodeURIComponent(s.docB)}`);
    expect(((await res.json()) as { Results: { v: string }[] }).Results[0]!.v).toBe("new");
  });

  it("a collection scan (queries) shows the committed documents", async () => {
    const s = await docsUnapplied("doc_scan_on_lock");
    const scanned = await shard(s.db, s.sb).scanDocs({ collection: "Users", limit: 100 });
    expect(scanned.map((doc) => JSON.parse(doc.body).v)).toEqual(["new"]);
  });
});

/**
 * A coordinator's messages reach a shard batched in one `deliver` call (src/objects/batcher.ts):
 * one message failing inside its step must roll back only itself, while the others of the same
 * call are applied and answered.
 */
describe("batched delivery", () => {
  it("a prepare that fails inside its step leaves no lock, and the prepare beside it in the batch holds its own", async () => {
    const db = freshDb("batch_savepoint");
    const first = "batch/0";
    let second = "batch/1";
    for (let i = 2; shardOf(second, SHARDS) !== shardOf(first, SHARDS); i++) second = `batch/${i}`;
    const n = shardOf(first, SHARDS);
    const lead = { coordinator: 0, born: Date.now() };
    await shard(db, n).armFailpoint("shard.prepare.inside", "throw", 1);
    const replies = await shard(db, n).deliver([
      { kind: "prepare", txnId: `t1-${db}`, mode: "ClusterWide", ops: ops(db, [cmpPut(first, 0, "one")]), lead },
      { kind: "prepare", txnId: `t2-${db}`, mode: "ClusterWide", ops: ops(db, [cmpPut(second, 0, "two")]), lead },
    ]);
    expect(replies[0]).toEqual({ error: "failpoint shard.prepare.inside: throw" });
    expect(replies[1]).toMatchObject({ ok: { vote: "yes" } });
    // Only the second transaction's prepare stands: its lock and its prepared row.
    expect(await raw(db, n, second)).toMatchObject({ locks: 1, prepared: 1 });
    await shard(db, n).release(`t2-${db}`);
    expect(await raw(db, n, second)).toMatchObject({ locks: 0, prepared: 0, index: null });
  });
});
