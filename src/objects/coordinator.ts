/**
 * CoordinatorObject: one per database, the log leader for transactions that span keys.
 *
 * Protocol: record the transaction durably as
 * `preparing` before any message leaves; one participant → one-phase commit at that shard;
 * several → prepare everywhere (locks), then one durable write of the decision — the commit
 * point — with the Lamport commit index max(own last index, every participant's counter) + 1;
 * then commit/abort at the shards, re-driven by the alarm until all acknowledged.
 *
 * Two-phase transactions of a database run one after another (as RavenDB's Raft log orders
 * them), so two of them never wait on each other's locks (which could deadlock). One-shard
 * transactions take no locks — their shard checks and applies them in one storage transaction,
 * waiting at most for a decision being taken — so they run beside everything else. Shards that
 * meet a lock ask `resolve`, which waits for a decision being taken or, when nobody is taking
 * one, presumes abort.
 */
import { DurableObject } from "cloudflare:workers";
import { clusterChangeVector, singleNodeChangeVector } from "../core/change-vector";
import { opLabel, type OpResult, type TxMode, type TxOp, type TxOutcome, type Violation } from "../core/transaction";
import { COORDINATOR_MIGRATIONS } from "./coordinator-schema";
import { Failpoints, type FailAction } from "./failpoints";
import { migrate } from "./migrations";
import type { Decision } from "./shard";

/** How long after recording a transaction the alarm checks that it finished. */
export const RECOVERY_AFTER_MS = 5_000;
/** How long finished transactions stay in the log (dedupe by request id, the Studio's panel). */
export const LOG_TTL_MS = 24 * 60 * 60 * 1000;
const SWEEP_BATCH = 500;

export interface TransactionRequest {
  requestId?: string | undefined;
  mode: TxMode;
  ops: TxOp[];
}

/**
 * A transaction's outcome; or `failed`: "unknown" when a participant could not be reached to learn
 * whether it committed (a retry with the same request id finds out), "aborted" when a participant
 * failed before the decision, so nothing was applied and a retry runs it anew.
 */
export type ExecuteResult = TxOutcome | { failed: "unknown" | "aborted"; txnId: string };

export interface LoggedTransaction {
  seq: number;
  txnId: string;
  mode: TxMode;
  state: "preparing" | "committed" | "aborted";
  done: boolean;
  index: number | null;
  keys: string[];
  createdAt: number;
  decidedAt: number | null;
}

interface LogRow extends Record<string, SqlStorageValue> {
  seq: number;
  txn_id: string;
  request_id: string | null;
  mode: string;
  ops: string;
  shards: string;
  state: string;
  done: number;
  commit_index: number | null;
  outcome: string | null;
  created_at: number;
  decided_at: number | null;
}

export class CoordinatorObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly failpoints: Failpoints;
  private lastIndex = 0;
  /** Transactions being run by this instance, by id → their decision once taken. */
  private readonly inflight = new Map<string, Promise<Decision>>();
  /** Requests being run, by raft-request-id, so a concurrent retry joins the first attempt. */
  private readonly byRequest = new Map<string, Promise<ExecuteResult>>();
  /** Serializes transactions: each waits for the one before it. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.failpoints = new Failpoints(ctx, Failpoints.enabledIn(env));
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage, COORDINATOR_MIGRATIONS);
      this.lastIndex = this.sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = 'index'").one().value;
    });
  }

  /** Runs a transaction once per request id and returns its outcome. */
  async execute(request: TransactionRequest): Promise<ExecuteResult> {
    const requestId = request.requestId;
    if (requestId) {
      const running = this.byRequest.get(requestId);
      if (running) return running;
      const logged = this.loggedRequest(requestId);
      if (logged) {
        // Finish it first if this instance is not running it (it crashed before deciding).
        if (logged.state === "preparing") await this.serialized(() => this.recover(logged));
        const settled = this.loggedRequest(requestId);
        if (settled?.outcome) return JSON.parse(settled.outcome) as TxOutcome;
        // Gone from the log: it was aborted by a failure, nothing applied. Run it anew.
      }
    }
    const onePhase = new Set(request.ops.map((op) => op.shard)).size === 1;
    const run = onePhase ? this.run(request) : this.serialized(() => this.run(request));
    if (requestId) {
      this.byRequest.set(requestId, run);
      void run.finally(() => this.byRequest.delete(requestId)).catch(() => undefined);
    }
    return run;
  }

  /**
   * The decision for a transaction, for a shard that met its lock: waits while this instance is
   * deciding it; otherwise records ABORTED if nothing was decided (presumed abort — the first
   * writer of the decision wins, and a decision never changes).
   */
  async resolve(txnId: string): Promise<Decision> {
    const running = this.inflight.get(txnId);
    if (running) return running;
    const row = this.sql
      .exec<{ state: string; commit_index: number | null }>("SELECT state, commit_index FROM txlog WHERE txn_id = ?", txnId)
      .toArray()[0];
    if (row?.state === "committed") return { decision: "committed", index: row.commit_index! };
    if (row?.state === "preparing") this.decide(txnId, ABORTED);
    const decision: Decision = { decision: "aborted" };
    // Other participants may still hold locks of an aborted transaction: let the alarm tell them.
    if (decision.decision === "aborted") await this.scheduleAlarm(Date.now());
    return decision;
  }

  /** The most recent transactions, newest first (the Studio's read-only panel). */
  recent(limit: number): LoggedTransaction[] {
    return this.sql
      .exec<LogRow>("SELECT * FROM txlog ORDER BY seq DESC LIMIT ?", Math.min(Math.max(limit, 1), 500))
      .toArray()
      .map((row) => ({
        seq: row.seq,
        txnId: row.txn_id,
        mode: row.mode as TxMode,
        state: row.state as LoggedTransaction["state"],
        done: row.done === 1,
        index: row.commit_index,
        keys: (JSON.parse(row.ops) as TxOp[]).map(opLabel),
        createdAt: row.created_at,
        decidedAt: row.decided_at,
      }));
  }

  /** HiLo: hands out the next range of ids for a collection tag. */
  hiloNext(tag: string, size: number, clientMax = 0): { low: number; high: number; lastRangeAt: string } {
    return this.ctx.storage.transactionSync(() => {
      const key = tag.toLowerCase();
      const row = this.sql.exec<{ max: number }>("SELECT max FROM hilo WHERE tag = ?", key).toArray()[0];
      // Never below what the client already used, should this coordinator have lost track.
      const low = Math.max(row?.max ?? 0, clientMax) + 1;
      const high = low + size - 1;
      const lastRangeAt = new Date().toISOString();
      this.sql.exec(
        "INSERT INTO hilo (tag, max, last_range_at) VALUES (?1, ?2, ?3) ON CONFLICT (tag) DO UPDATE SET max = ?2, last_range_at = ?3",
        key,
        high,
        lastRangeAt,
      );
      return { low, high, lastRangeAt };
    });
  }

  /** HiLo: a client returns the unused end of its range; taken back only if nothing came after it. */
  hiloReturn(tag: string, end: number, last: number): void {
    this.sql.exec("UPDATE hilo SET max = ?1 WHERE tag = ?2 AND max = ?3 AND ?1 < ?3", last, tag.toLowerCase(), end);
  }

  /** Deletes the log and HiLo state of a deleted database; the index counter stays (see ShardObject.destroy). */
  async destroy(): Promise<void> {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM txlog");
      this.sql.exec("DELETE FROM hilo");
    });
    await this.ctx.storage.deleteAlarm();
  }

  /** Test hook: arm a failpoint (refused unless FAILPOINTS is "on"). */
  armFailpoint(name: string, action: FailAction, times = 1): void {
    this.failpoints.arm(name, action, times);
  }

  /** Test hook: how many times each failpoint of this object fired, across crashes of the instance. */
  failpointsFired(): Record<string, number> {
    return this.failpoints.fired();
  }

  /** Re-drives every unfinished transaction and forgets old finished ones. Idempotent. */
  override async alarm(): Promise<void> {
    const unfinished = this.sql.exec<LogRow>("SELECT * FROM txlog WHERE done = 0 ORDER BY seq").toArray();
    let pending = false;
    for (const row of unfinished) {
      if (this.inflight.has(row.txn_id)) {
        pending = true;
        continue;
      }
      try {
        await this.recover(row);
      } catch (err) {
        console.warn("transaction recovery will be retried", row.txn_id, err);
        pending = true;
      }
    }
    this.sql.exec(
      "DELETE FROM txlog WHERE seq IN (SELECT seq FROM txlog WHERE done = 1 AND decided_at <= ? ORDER BY decided_at LIMIT ?)",
      Date.now() - LOG_TTL_MS,
      SWEEP_BATCH,
    );
    const oldest = this.sql.exec<{ at: number | null }>("SELECT MIN(decided_at) AS at FROM txlog WHERE done = 1").one().at;
    const next = pending ? Date.now() + RECOVERY_AFTER_MS : oldest === null ? null : oldest + LOG_TTL_MS;
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async run(request: TransactionRequest): Promise<ExecuteResult> {
    const { mode, ops } = request;
    const txnId = crypto.randomUUID();
    const shards = [...new Set(ops.map((op) => op.shard))].sort((a, b) => a - b);
    this.failpoints.hit("coordinator.before-record");
    this.sql.exec(
      `INSERT INTO txlog (txn_id, request_id, mode, ops, shards, state, created_at)
       VALUES (?, ?, ?, ?, ?, 'preparing', ?)`,
      txnId,
      request.requestId ?? null,
      mode,
      JSON.stringify(ops),
      JSON.stringify(shards),
      Date.now(),
    );
    // The record and the alarm are durable before any message leaves (output gate).
    await this.ctx.storage.setAlarm(Date.now() + RECOVERY_AFTER_MS);
    this.failpoints.hit("coordinator.after-record");

    let announce!: (decision: Decision) => void;
    this.inflight.set(txnId, new Promise<Decision>((resolve) => (announce = resolve)));
    try {
      return shards.length === 1
        ? await this.onePhase(txnId, mode, ops, shards[0]!, announce)
        : await this.twoPhase(txnId, mode, ops, shards, announce);
    } finally {
      this.inflight.delete(txnId);
    }
  }

  private async onePhase(
    txnId: string,
    mode: TxMode,
    ops: TxOp[],
    shard: number,
    announce: (decision: Decision) => void,
  ): Promise<ExecuteResult> {
    const stub = this.shard(shard);
    let outcome: TxOutcome;
    try {
      outcome = await stub.commitOnePhase(txnId, mode, ops, this.lastIndex + 1);
    } catch {
      // The reply was lost: the shard may or may not have committed. Fencing tells us, and makes
      // sure a delayed delivery can no longer commit it.
      try {
        outcome = await this.shard(shard).fence(txnId);
      } catch {
        announce({ decision: "aborted" });
        return { failed: "unknown", txnId };
      }
    }
    const decided = this.decide(txnId, outcome, { done: true });
    announce(decided.committed ? { decision: "committed", index: decided.index } : { decision: "aborted" });
    return failedOrOutcome(txnId, decided);
  }

  private async twoPhase(
    txnId: string,
    mode: TxMode,
    ops: TxOp[],
    shards: number[],
    announce: (decision: Decision) => void,
  ): Promise<ExecuteResult> {
    const votes = await Promise.allSettled(
      shards.map((shard) => this.shard(shard).prepare(txnId, mode, ops.filter((op) => op.shard === shard))),
    );
    this.failpoints.hit("coordinator.after-prepare");
    const violations: Violation[] = [];
    let allYes = true;
    let commitIndex = this.lastIndex;
    for (const vote of votes) {
      if (vote.status === "rejected") allYes = false;
      else if (vote.value.vote === "no") {
        allYes = false;
        violations.push(...vote.value.violations);
      } else commitIndex = Math.max(commitIndex, vote.value.counter);
    }
    commitIndex += 1;
    // The commit point: one durable write of the decision.
    const decided = this.decide(txnId, allYes ? { committed: true, index: commitIndex, results: [] } : { committed: false, violations });
    announce(decided.committed ? { decision: "committed", index: decided.index } : { decision: "aborted" });
    this.failpoints.hit("coordinator.after-decision");

    const acks = await this.phaseTwo(txnId, shards, decided);
    if (!decided.committed) return failedOrOutcome(txnId, decided);
    // Results by op, in the order of `ops`; each shard answered for its own ops, in order.
    const byShard = new Map<number, OpResult[]>();
    acks.forEach((ack, i) => {
      if (ack && "committed" in ack && ack.committed) byShard.set(shards[i]!, [...ack.results]);
    });
    const results = ops.map(
      (op) => byShard.get(op.shard)?.shift() ?? fallbackResult(op, mode, this.database(), decided.index),
    );
    const outcome: TxOutcome = { committed: true, index: decided.index, results };
    this.sql.exec("UPDATE txlog SET outcome = ? WHERE txn_id = ?", JSON.stringify(outcome), txnId);
    return outcome;
  }

  /** Sends the decision to every participant; marks the transaction done when all applied it. */
  private async phaseTwo(txnId: string, shards: number[], decided: TxOutcome) {
    const acks = await Promise.allSettled(
      shards.map((shard) =>
        decided.committed ? this.shard(shard).commit(txnId, decided.index) : this.shard(shard).abort(txnId),
      ),
    );
    const values = acks.map((ack) => (ack.status === "fulfilled" ? ack.value : null));
    if (values.every((value) => value !== null && !("unknown" in value))) {
      this.sql.exec("UPDATE txlog SET done = 1 WHERE txn_id = ?", txnId);
    }
    return values;
  }

  /**
   * Records the decision unless one is recorded already (then that one stands) and returns the
   * decision in force. `done` marks a one-phase transaction, finished once decided. An abort
   * without violations was caused by a failure, not a conflict: nothing was applied, so the
   * request id is forgotten and a retry with it runs the transaction anew.
   */
  private decide(txnId: string, outcome: TxOutcome, flags: { done?: boolean } = {}): TxOutcome {
    return this.ctx.storage.transactionSync(() => {
      const row = this.sql
        .exec<{ state: string; outcome: string | null }>("SELECT state, outcome FROM txlog WHERE txn_id = ?", txnId)
        .one();
      if (row.state !== "preparing") return JSON.parse(row.outcome!) as TxOutcome;
      this.sql.exec(
        `UPDATE txlog SET state = ?, commit_index = ?, outcome = ?, decided_at = ?, done = ?,
           request_id = CASE WHEN ? THEN NULL ELSE request_id END
         WHERE txn_id = ?`,
        outcome.committed ? "committed" : "aborted",
        outcome.committed ? outcome.index : null,
        JSON.stringify(outcome),
        Date.now(),
        flags.done ? 1 : 0,
        !outcome.committed && outcome.violations.length === 0 ? 1 : 0,
        txnId,
      );
      if (outcome.committed && outcome.index > this.lastIndex) {
        this.lastIndex = outcome.index;
        this.sql.exec("UPDATE counters SET value = ? WHERE name = 'index'", outcome.index);
      }
      return outcome;
    });
  }

  /** Finishes a transaction this instance is not running (it crashed, or a reply was lost). */
  private async recover(row: LogRow): Promise<TxOutcome> {
    const shards = JSON.parse(row.shards) as number[];
    if (row.state === "preparing" && shards.length === 1) {
      const outcome = await this.shard(shards[0]!).fence(row.txn_id);
      return this.decide(row.txn_id, outcome, { done: true });
    }
    // Several participants and no decision: presumed abort.
    const decided =
      row.state === "preparing" ? this.decide(row.txn_id, ABORTED) : (JSON.parse(row.outcome!) as TxOutcome);
    await this.phaseTwo(row.txn_id, shards, decided);
    return decided;
  }

  private loggedRequest(requestId: string): LogRow | undefined {
    return this.sql.exec<LogRow>("SELECT * FROM txlog WHERE request_id = ?", requestId).toArray()[0];
  }

  private async scheduleAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  private shard(shard: number) {
    return this.env.SHARD.getByName(`${this.database()}/shard-${shard}`);
  }

  /** The coordinator is named after its (lower-cased) database. */
  private database(): string {
    return this.ctx.id.name ?? "";
  }
}

const ABORTED: TxOutcome = { committed: false, violations: [] };

/**
 * An abort with no violations was caused by a failure (a shard crashed or did not answer before
 * the decision), not by a conflict: the caller is told nothing was applied, not "conflict".
 */
function failedOrOutcome(txnId: string, outcome: TxOutcome): ExecuteResult {
  return !outcome.committed && outcome.violations.length === 0 ? { failed: "aborted", txnId } : outcome;
}

/**
 * The result of a committed op whose shard did not acknowledge phase two in time (the alarm
 * finishes it). Change vectors follow from the commit index; a single-node document keeps a TRXN
 * part the coordinator cannot see, and a delete is reported as done.
 */
function fallbackResult(op: TxOp, mode: TxMode, database: string, index: number): OpResult {
  const changeVector =
    mode === "ClusterWide" ? clusterChangeVector(database, index) : singleNodeChangeVector(database, index, null);
  switch (op.kind) {
    case "doc-put":
      return { kind: "doc-put", id: op.id, changeVector, lastModified: new Date().toISOString(), collection: op.collection };
    case "doc-delete":
      return { kind: "doc-delete", id: op.id, deleted: true, changeVector };
    default:
      return { kind: "cmpxchg" };
  }
}
