/**
 * CoordinatorObject: one of a database's COORDINATOR_COUNT log leaders for transactions that span
 * shards (one-shard transactions go straight to their shard, see src/transactions.ts). Each
 * coordinator leads the transactions whose raft-request-id hashes to it; nothing is shared
 * between coordinators, and transactions in one coordinator run side by side.
 *
 * Protocol (docs/ARCHITECTURE.md §4), presumed abort: nothing is written before the prepares —
 * a transaction with no decision in the log and not running here is aborted, whoever asks — so
 * the log holds decisions only. Prepare at every participant — a shard that meets another
 * transaction's undecided lock answers "busy" instead of waiting, and this coordinator retries
 * with jittered backoff until a deadline, wait-die deciding who keeps its locks; then one durable
 * write of the decision (grouped with concurrent ones) — the commit point — with the Lamport
 * commit index max(own last index, every participant's counter) + 1; the caller is answered
 * there, from what the shards said when they prepared; commit/abort at the shards follows,
 * re-driven by the alarm until all acknowledged. Shards that meet a lock ask `resolve`, which
 * waits for (or, asked not to wait, reports) a decision being taken here, or, when nobody here
 * is taking one, presumes abort.
 */
import { DurableObject } from "cloudflare:workers";
import { parseObjectName } from "../core/names";
import {
  opLabel,
  opResult,
  type Decision,
  type DocPreview,
  type ExecuteResult,
  type TransactionRequest,
  type TxMode,
  type TxOp,
  type TxOutcome,
  type Violation,
} from "../core/transaction";
import { shardStub } from "../stubs";
import { COORDINATOR_MIGRATIONS } from "./coordinator-schema";
import { Failpoints, type FailAction } from "./failpoints";
import { GroupCommit } from "./group-commit";
import { migrate } from "./migrations";
import { ShardLink } from "./shard-link";

/** How long after recording a transaction the alarm checks that it finished. */
export const RECOVERY_AFTER_MS = 5_000;
/** How long finished transactions stay in the log (dedupe by request id, the Studio's panel). */
export const LOG_TTL_MS = 24 * 60 * 60 * 1000;
/** How long a transaction keeps retrying prepares that met busy keys before it gives up. */
export const PREPARE_DEADLINE_MS = 3_000;
/** Backoff between prepare attempts: doubling from the first, capped, jittered ×0.5–1.5. */
const BACKOFF_FIRST_MS = 1;
const BACKOFF_MAX_MS = 32;
const SWEEP_BATCH = 500;

export type { ExecuteResult, TransactionRequest };

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

/** A transaction this instance is running: its decision once taken, and a promise of it. */
interface Running {
  decided: Decision | null;
  settled: Promise<Decision>;
  announce: (decision: Decision) => void;
}

export class CoordinatorObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly failpoints: Failpoints;
  private lastIndex = 0;
  /** Its own name, parsed once: database and number. */
  private name: { database: string; n: number } | undefined;
  /** When the alarm is set for, mirrored so that a transaction need not ask storage. */
  private alarmAt: number | null = null;
  /** Transactions being run by this instance, by id. */
  private readonly inflight = new Map<string, Running>();
  /** Transactions whose phase two every participant acknowledged, to be marked done in the next commit. */
  private finished: string[] = [];
  /** Requests being run, by raft-request-id, so a concurrent retry joins the first attempt. */
  private readonly byRequest = new Map<string, Promise<ExecuteResult>>();
  /** Lines to the shards, by number (shard-link.ts). */
  private readonly links = new Map<number, ShardLink>();
  /** Log records and decisions of concurrent transactions share a storage commit. */
  private readonly writes = new GroupCommit({ outer: (fn) => this.sync(fn), inner: (fn) => this.sync(fn) });

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.failpoints = new Failpoints(ctx, Failpoints.enabledIn(env));
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage, COORDINATOR_MIGRATIONS);
      // Only a floor for the next commit index (the participants' counters make the Lamport rule).
      this.lastIndex = this.sql
        .exec<{ value: number }>(
          "SELECT MAX(value) AS value FROM (SELECT value FROM counters UNION ALL SELECT MAX(commit_index) FROM txlog)",
        )
        .one().value;
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Runs a transaction once per request id and returns its outcome. */
  async execute(request: TransactionRequest): Promise<ExecuteResult> {
    const requestId = request.requestId;
    if (requestId) {
      const running = this.byRequest.get(requestId);
      if (running) return running;
      this.writes.flushPending();
      const logged = this.loggedRequest(requestId);
      if (logged) {
        // Finish it first if this instance is not running it (it crashed before deciding).
        if (logged.state === "preparing") await this.recover(logged);
        const settled = this.loggedRequest(requestId);
        if (settled?.outcome) return JSON.parse(settled.outcome) as TxOutcome;
        // Gone from the log: it was aborted by a failure, nothing applied. Run it anew.
      }
    }
    const run = this.run(request);
    if (requestId) {
      this.byRequest.set(requestId, run);
      void run.finally(() => this.byRequest.delete(requestId)).catch(() => undefined);
    }
    return run;
  }

  /**
   * The decision for a transaction, for a shard that met its lock. While this instance is running
   * it: the decision once taken; before that, waits for it — or, with `wait` false (a prepare,
   * which must never wait), answers "pending". Otherwise records ABORTED if nothing was decided
   * (presumed abort — the first writer of the decision wins, and a decision never changes).
   */
  async resolve(txnId: string, wait = true): Promise<Decision | { decision: "pending" }> {
    const running = this.inflight.get(txnId);
    if (running) return running.decided ?? (wait ? running.settled : { decision: "pending" });
    this.writes.flushPending();
    const row = this.sql
      .exec<{ state: string; commit_index: number | null; decided_at: number | null }>(
        "SELECT state, commit_index, decided_at FROM txlog WHERE txn_id = ?",
        txnId,
      )
      .toArray()[0];
    if (row?.state === "committed") return { decision: "committed", index: row.commit_index!, at: row.decided_at ?? undefined };
    // No decision and nobody here taking one: presumed abort, nothing to write. A `preparing` row
    // comes from a version that recorded transactions before preparing: decide it for good.
    if (row?.state === "preparing") {
      const decided = await this.decide(txnId, ABORTED, Date.now());
      if (decided.committed) return { decision: "committed", index: decided.index };
      // Other participants may still hold locks of the aborted transaction: let the alarm tell them.
      await this.scheduleAlarm(Date.now());
    }
    return { decision: "aborted" };
  }

  /** The most recent transactions, newest first (the Studio's read-only panel). */
  recent(limit: number): LoggedTransaction[] {
    this.writes.flushPending();
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

  /**
   * Where the ranges this coordinator handed out for a collection tag ended (0: none). Ranges now
   * come from the tag's HiLo document on its shard (objects/shard/hilo.ts); before that document
   * exists, its first range starts above this, so an id given out before the move is never given
   * again. Nothing writes this table any more.
   */
  hiloLegacyMax(tag: string): number {
    return this.sql.exec<{ max: number }>("SELECT max FROM hilo WHERE tag = ?", tag.toLowerCase()).toArray()[0]?.max ?? 0;
  }

  /** Deletes the log and HiLo state of a deleted database; the index counter stays (see ShardObject.destroy). */
  async destroy(): Promise<void> {
    this.writes.flushPending();
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM txlog");
      this.sql.exec("DELETE FROM hilo");
    });
    await this.ctx.storage.deleteAlarm();
    this.alarmAt = null;
  }

  /** Test hook: arm a failpoint (refused unless FAILPOINTS is "on"). */
  armFailpoint(name: string, action: FailAction, times = 1, delayMs?: number): void {
    this.failpoints.arm(name, action, times, delayMs);
  }

  /** Test hook: how many times each failpoint of this object fired, across crashes of the instance. */
  failpointsFired(): Record<string, number> {
    return this.failpoints.fired();
  }

  /** Re-drives every unfinished transaction and forgets old finished ones. Idempotent. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    this.writes.flushPending();
    const unfinished = this.sql.exec<LogRow>("SELECT * FROM txlog WHERE done = 0 ORDER BY seq").toArray();
    for (const row of unfinished) {
      // Being run here: it finishes by itself; the re-armed alarm looks again.
      if (this.inflight.has(row.txn_id)) continue;
      try {
        await this.recover(row);
      } catch (err) {
        console.warn("transaction recovery will be retried", row.txn_id, err);
      }
    }
    if (this.finished.length > 0) await this.writes.submit(() => this.markFinished());
    this.sql.exec(
      "DELETE FROM txlog WHERE seq IN (SELECT seq FROM txlog WHERE done = 1 AND decided_at <= ? ORDER BY decided_at LIMIT ?)",
      Date.now() - LOG_TTL_MS,
      SWEEP_BATCH,
    );
    const left = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM txlog WHERE done = 0").one().n;
    const oldest = this.sql.exec<{ at: number | null }>("SELECT MIN(decided_at) AS at FROM txlog WHERE done = 1").one().at;
    const next = left > 0 ? Date.now() + RECOVERY_AFTER_MS : oldest === null ? null : oldest + LOG_TTL_MS;
    if (next !== null) await this.scheduleAlarm(next);
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────

  private async run(request: TransactionRequest): Promise<ExecuteResult> {
    const { ops } = request;
    const txnId = crypto.randomUUID();
    const born = Date.now();
    const shards = [...new Set(ops.map((op) => op.shard))].sort((a, b) => a - b);
    // Known as running before anything is recorded: a shard can only ask once it was prepared.
    let announce!: (decision: Decision) => void;
    const running: Running = { decided: null, settled: new Promise<Decision>((resolve) => (announce = resolve)), announce };
    this.inflight.set(txnId, running);
    try {
      this.failpoints.hit("coordinator.before-prepare");
      return await this.twoPhase(txnId, born, request, shards, running);
    } finally {
      // Unblocks anyone waiting should this end without a decision (a thrown failure).
      running.announce(running.decided ?? { decision: "aborted" });
      this.inflight.delete(txnId);
    }
  }

  private async twoPhase(
    txnId: string,
    born: number,
    request: TransactionRequest,
    shards: number[],
    running: Running,
  ): Promise<ExecuteResult> {
    const { mode, ops } = request;
    const lead = { coordinator: this.number(), born };
    const opsOf = (shard: number) => ops.filter((op) => op.shard === shard);
    const yes = new Map<number, { counter: number; previews: DocPreview[] }>();
    const violations: Violation[] = [];
    let failed = false;
    let todo = shards;
    for (let attempt = 0; ; attempt++) {
      const votes = await Promise.allSettled(todo.map((shard) => this.shard(shard).prepare(txnId, mode, opsOf(shard), lead)));
      const busy: number[] = [];
      let die = false;
      votes.forEach((vote, i) => {
        const shard = todo[i]!;
        if (vote.status === "rejected") failed = true;
        else if (vote.value.vote === "no") violations.push(...vote.value.violations);
        else if (vote.value.vote === "busy") {
          busy.push(shard);
          die ||= !vote.value.wait;
        } else yes.set(shard, vote.value);
      });
      if (failed || violations.length > 0 || busy.length === 0) break;
      const pause = backoff(attempt);
      if (Date.now() + pause > born + PREPARE_DEADLINE_MS) {
        failed = true;
        break;
      }
      if (die) {
        // Wait-die: younger than a holder → release every lock taken, try all again later.
        await Promise.allSettled([...yes.keys()].map((shard) => this.shard(shard).release(txnId)));
        yes.clear();
        this.failpoints.hit("coordinator.after-release");
        todo = shards;
      } else todo = busy;
      await scheduler.wait(pause);
    }
    this.failpoints.hit("coordinator.after-prepare");
    const at = Date.now();
    let outcome: TxOutcome;
    if (failed || violations.length > 0) outcome = { committed: false, violations };
    else {
      const index = Math.max(this.lastIndex, ...[...yes.values()].map((vote) => vote.counter)) + 1;
      // Each shard previewed its own ops, in order: the results, as the shards will apply them.
      const previews = new Map([...yes].map(([shard, vote]) => [shard, [...vote.previews]]));
      const database = this.database();
      const lastModified = new Date(at).toISOString();
      const results = ops.map((op) => opResult(op, previews.get(op.shard)?.shift() ?? null, index, mode, database, lastModified));
      outcome = { committed: true, index, results };
    }
    // The commit point: one durable write of the decision, shared with concurrent ones; the alarm
    // that finishes phase two should this instance die is armed with it (one output gate).
    const decided = await this.decide(txnId, outcome, at, { request, shards, born });
    await this.scheduleAlarm(Date.now() + RECOVERY_AFTER_MS);
    running.decided = decided.committed ? { decision: "committed", index: decided.index, at } : { decision: "aborted" };
    running.announce(running.decided);
    this.failpoints.hit("coordinator.after-decision");
    // The caller is answered now; phase two follows (the alarm re-drives it if this fails).
    void this.phaseTwo(txnId, shards, decided, at).catch((err) => console.warn("phase two will be retried", txnId, err));
    return failedOrOutcome(txnId, decided);
  }

  /** Sends the decision to every participant; marks the transaction done when all applied it. */
  private async phaseTwo(txnId: string, shards: number[], decided: TxOutcome, at: number | undefined): Promise<void> {
    const acks = await Promise.allSettled(
      shards.map((shard) => (decided.committed ? this.shard(shard).commit(txnId, decided.index, at) : this.shard(shard).abort(txnId))),
    );
    // Marked done with the next commit of this log (or by the alarm): a crash before that only
    // makes the alarm send the decision again, which the shards ignore.
    if (acks.every((ack) => ack.status === "fulfilled" && !("unknown" in ack.value))) this.finished.push(txnId);
  }

  /**
   * Records the decision unless one is recorded already (then that one stands) and returns the
   * decision in force. `fresh` carries what a transaction run here logs with its decision (under
   * presumed abort nothing was logged before). An abort without violations was caused by a
   * failure, not a conflict: nothing was applied, so the request id is kept off the log and a
   * retry with it runs anew.
   */
  private decide(
    txnId: string,
    outcome: TxOutcome,
    at: number,
    fresh?: { request: TransactionRequest; shards: number[]; born: number },
  ): Promise<TxOutcome> {
    return this.writes.submit(() => {
      this.markFinished();
      const state = outcome.committed ? "committed" : "aborted";
      const index = outcome.committed ? outcome.index : null;
      const forget = !outcome.committed && outcome.violations.length === 0;
      let written: number;
      if (fresh) {
        written = this.sql.exec(
          `INSERT INTO txlog (txn_id, request_id, mode, ops, shards, state, commit_index, outcome, created_at, decided_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (txn_id) DO NOTHING`,
          txnId,
          forget ? null : (fresh.request.requestId ?? null),
          fresh.request.mode,
          JSON.stringify(fresh.request.ops),
          JSON.stringify(fresh.shards),
          state,
          index,
          JSON.stringify(outcome),
          fresh.born,
          at,
        ).rowsWritten;
      } else {
        written = this.sql.exec(
          `UPDATE txlog SET state = ?, commit_index = ?, outcome = ?, decided_at = ?,
             request_id = CASE WHEN ? THEN NULL ELSE request_id END
           WHERE txn_id = ? AND state = 'preparing'`,
          state,
          index,
          JSON.stringify(outcome),
          at,
          forget ? 1 : 0,
          txnId,
        ).rowsWritten;
      }
      if (written === 0) {
        const row = this.sql.exec<{ outcome: string | null }>("SELECT outcome FROM txlog WHERE txn_id = ?", txnId).toArray()[0];
        if (row?.outcome) return JSON.parse(row.outcome) as TxOutcome;
      }
      if (outcome.committed && outcome.index > this.lastIndex) this.lastIndex = outcome.index;
      return outcome;
    });
  }

  /** Marks the finished transactions done, inside the caller's storage transaction. */
  private markFinished(): void {
    if (this.finished.length === 0) return;
    const ids = this.finished;
    this.finished = [];
    // 100 bound parameters at most per statement.
    for (let i = 0; i < ids.length; i += 90) {
      const slice = ids.slice(i, i + 90);
      this.sql.exec(`UPDATE txlog SET done = 1 WHERE txn_id IN (${slice.map(() => "?").join(",")})`, ...slice);
    }
  }

  /** Finishes a transaction this instance is not running (it crashed, or phase two failed). */
  private async recover(row: LogRow): Promise<TxOutcome> {
    const shards = JSON.parse(row.shards) as number[];
    // No decision and nobody taking one: presumed abort.
    const decided =
      row.state === "preparing" ? await this.decide(row.txn_id, ABORTED, Date.now()) : (JSON.parse(row.outcome!) as TxOutcome);
    await this.phaseTwo(row.txn_id, shards, decided, row.decided_at ?? undefined);
    return decided;
  }

  private loggedRequest(requestId: string): LogRow | undefined {
    return this.sql.exec<LogRow>("SELECT * FROM txlog WHERE request_id = ?", requestId).toArray()[0];
  }

  /** One storage transaction; if it throws it rolls back, and so does the mirrored index. */
  private sync<T>(fn: () => T): T {
    const [index, finished] = [this.lastIndex, this.finished];
    try {
      return this.ctx.storage.transactionSync(fn);
    } catch (err) {
      // Rolled back: so is what it took from memory (marks not written are taken up again).
      this.lastIndex = index;
      if (finished !== this.finished) this.finished = [...finished, ...this.finished];
      throw err;
    }
  }

  private async scheduleAlarm(at: number): Promise<void> {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /** The line to a shard, made once per shard: many transactions' messages share its calls. */
  private shard(shard: number): ShardLink {
    let link = this.links.get(shard);
    if (!link) {
      link = new ShardLink(() => shardStub(this.env, this.database(), shard));
      this.links.set(shard, link);
    }
    return link;
  }

  private database(): string {
    return (this.name ??= parseObjectName(this.ctx.id.name ?? "")).database;
  }

  /** This coordinator's number among its database's coordinators (stored in the locks it takes). */
  private number(): number {
    return (this.name ??= parseObjectName(this.ctx.id.name ?? "")).n;
  }
}

const ABORTED: TxOutcome = { committed: false, violations: [] };

/** Doubling from BACKOFF_FIRST_MS up to BACKOFF_MAX_MS, jittered so that rivals drift apart. */
function backoff(attempt: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt) * (0.5 + Math.random());
}

/**
 * An abort with no violations was caused by a failure (a shard crashed or did not answer before
 * the decision, or rivals kept the keys busy past the deadline), not by a conflict: the caller is
 * told nothing was applied, not "conflict".
 */
function failedOrOutcome(txnId: string, outcome: TxOutcome): ExecuteResult {
  return !outcome.committed && outcome.violations.length === 0 ? { failed: "aborted", txnId } : outcome;
}
