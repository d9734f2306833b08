/**
 * ShardObject: owns one hash range of one database's compare-exchange items and documents.
 *
 * Every compare-and-write is a single `transactionSync`: read, compare and write with no `await`
 * in between, so no other call can interleave (input gates only hold across storage awaits; a
 * timer or an RPC would let a second writer in). After any RPC — asking the coordinator about a
 * lock — the state is read again before writing. Conflicts and misses are returned as values.
 *
 * A key locked by a prepared transaction is never answered from its pre-transaction state: the
 * shard first asks the coordinator for the decision (waiting while it is being taken, presuming
 * abort when nobody decided), applies it, and only then reads or writes.
 *
 * Layers (etcd's request → apply → storage): this class is the RPC surface (failpoints, group
 * commit, settling locks through the coordinator, change events, the alarm's schedule);
 * shard/steps.ts and shard/reads.ts are the decision steps, run inside one storage transaction;
 * shard/apply.ts checks and writes a transaction's ops; shard/store/*.ts hold every SQL statement
 * of the shard, one file per table or concern (schema: shard-schema.ts); lock keys are built by
 * core/lock-keys.ts only.
 */
import { DurableObject } from "cloudflare:workers";
import { parseObjectName } from "../core/names";
import { parseRetention, type Retention } from "../core/watch-history";
import type { Decision, PrepareVote, TxAge, TxMode, TxOp, TxOutcome } from "../core/transaction";
import { coordinatorStub } from "../stubs";
import { Failpoints, type FailAction } from "./failpoints";
import type { Reply } from "./batcher";
import { GroupCommit } from "./group-commit";
import { migrate } from "./migrations";
import { IndexCounter } from "./shard/counter";
import { deliverBatch, type DeliveryHost } from "./shard/deliver";
import { type HiloAnswer, type HiloDoc, hiloNextStep, hiloReturnStep } from "./shard/hilo";
import { collectionStatsStep, docChangeVectorStep, docsStep, itemsStep, listKeysStep, scanDocsStep, statsStep } from "./shard/reads";
import { finishStep, onePhaseStep, putStep, removeStep, type Ledger, type Step } from "./shard/steps";
import { deleteAll, holdsAnything } from "./shard/store/admin";
import * as identityStore from "./shard/store/identities";
import { itemExpiresAt } from "./shard/store/items";
import { recentListed } from "./shard/store/outcomes";
import { loggedResult, recentLoggedTransactions } from "./shard/store/requests";
import { bornOf, coordinatorOf, preparedBefore } from "./shard/store/prepared";
import { pruneHistory } from "./shard/store/history";
import { oldestEntries, sweepExpiredItems, sweepOutcomes, sweepRequests } from "./shard/store/sweeps";
import type {
  CollectionCount,
  DeleteCommand,
  Lead,
  ListQuery,
  OnePhaseEntry,
  PutCommand,
  ShardMessage,
  ShardReplies,
  ShardReply,
  StoredDoc,
  StoredItem,
  WriteResult,
} from "./shard/types";
import { SHARD_MIGRATIONS } from "./shard-schema";
import { ShardWatch, type ChangeEvent, eventsOf } from "./shard-watch";

/** The RPC value types, for callers of this object. */
export type * from "./shard/types";

/** Request ids of one-phase transactions, beside single-key ones in the request log. */
const TXN_REQUEST_PREFIX = "txn:";
/** How long a request id's first result is replayed to retries. */
export const REQUEST_LOG_TTL_MS = 24 * 60 * 60 * 1000;
/** How long a transaction's outcome is kept so that late or duplicate messages stay no-ops. */
export const OUTCOME_TTL_MS = 24 * 60 * 60 * 1000;
/** A prepare lock older than this is resolved by the shard's alarm (the coordinator may be gone). */
export const LOCK_RESOLVE_AFTER_MS = 10_000;
/** Rows the alarm deletes per table per run, so a sweep never holds the object for long. */
export const SWEEP_BATCH = 500;

export class ShardObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The shard's index counter, mirrored from the `counters` table. */
  private readonly counter: IndexCounter;
  /** What the decision steps work on (shard/steps.ts). */
  private readonly ledger: Ledger;
  private readonly failpoints: Failpoints;
  private readonly watch: ShardWatch;
  /** How much change history the shard keeps for resumable watches (WATCH_HISTORY_RETENTION). */
  private readonly retention: Retention;
  private databaseName: string | undefined;
  /** When the alarm is set for, mirrored so that writes need not ask storage. */
  private alarmAt: number | null = null;
  /** Single-key writes that arrive together share one storage commit (see group-commit.ts). */
  private readonly writes = new GroupCommit({ outer: (fn) => this.sync(fn), inner: (fn) => this.sync(fn) });
  /** What a coordinator's batched messages use of this object (shard/deliver.ts). */
  private readonly delivery: DeliveryHost;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.counter = new IndexCounter(this.sql);
    this.ledger = { sql: this.sql, counter: this.counter, database: () => this.database() };
    this.failpoints = new Failpoints(ctx, Failpoints.enabledIn(env));
    this.retention = parseRetention(env.WATCH_HISTORY_RETENTION);
    this.watch = new ShardWatch(ctx, {
      retention: this.retention,
      shard: () => parseObjectName(ctx.id.name ?? "").n,
      remind: (at) => void this.scheduleAlarm(at).catch(() => {}),
    });
    this.delivery = {
      ledger: this.ledger,
      failpoints: this.failpoints,
      grouped: (fn) => this.writes.submit(fn),
      sync: (fn) => this.sync(fn),
      publish: (events) => this.watch.publish(events),
      settleDecided: (txnIds) => this.settleDecided(txnIds),
      agesOf: (txnIds) => this.agesOf(txnIds),
      afterPrepared: () => this.scheduleAlarm(Date.now() + LOCK_RESOLVE_AFTER_MS),
      afterCommitted: () => this.scheduleAlarm(this.nextDeadline()),
    };
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage, SHARD_MIGRATIONS);
      this.counter.load();
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ── compare-exchange, single key ──────────────────────────────────────────────────────────

  /** Items for the given lower-cased keys, in order; null where absent or expired. */
  async get(keys: string[]): Promise<(StoredItem | null)[]> {
    const found = await this.getWithin(keys, Number.POSITIVE_INFINITY);
    return "items" in found ? found.items : [];
  }

  /**
   * `get`, unless the values together exceed `maxBytes` (characters of JSON): then only that
   * fact, so that no request makes the shard or the Worker hold more than the budget.
   */
  async getWithin(keys: string[], maxBytes: number): Promise<{ items: (StoredItem | null)[] } | { overBudget: true }> {
    return this.read(() => itemsStep(this.sql, keys, maxBytes));
  }

  /**
   * Keys (with the size of each value) of live items whose key starts with the prefix, in UTF-8
   * byte order: what a listing needs to choose its page before it reads any value.
   */
  async listKeys(query: ListQuery): Promise<{ key: string; bytes: number }[]> {
    return this.read(() => listKeysStep(this.sql, query));
  }

  /**
   * Create (expectedIndex 0) or update (expectedIndex = current index). RavenDB's outcomes:
   * success → the new index and value; mismatch on an existing item → its current index and value;
   * a non-zero expected index on a missing item → index 0, no value.
   */
  async put(cmd: PutCommand): Promise<WriteResult> {
    this.failpoints.hit("shard.write.before");
    const applied = await this.run(() => putStep(this.ledger, cmd), "grouped");
    const stored = applied.value.successful && !applied.replayed ? cmd.expiresAt : null;
    if (applied.value.successful && !applied.replayed) {
      this.watch.publish([{ Type: "Put", Key: cmd.key, Index: applied.value.index, json: cmd.json }]);
    }
    await this.scheduleAlarm(this.deadlineAfter(applied, cmd.requestId, stored));
    this.failpoints.hit("shard.write.after");
    return applied.value;
  }

  /**
   * Delete when expectedIndex matches. RavenDB's outcomes: success → a new index and the deleted
   * value; mismatch → the current index and value; a missing item → success with a new index.
   */
  async remove(cmd: DeleteCommand): Promise<WriteResult> {
    this.failpoints.hit("shard.write.before");
    const applied = await this.run(() => removeStep(this.ledger, cmd), "grouped");
    // Also when the row had expired unswept: its removal is in the history, for change streams.
    if (applied.value.successful && !applied.replayed) {
      this.watch.publish([{ Type: "Delete", Key: cmd.key, Index: applied.value.index, json: null }]);
    }
    await this.scheduleAlarm(this.deadlineAfter(applied, cmd.requestId, null));
    this.failpoints.hit("shard.write.after");
    return applied.value;
  }

  // ── watch ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Long-poll: answers as soon as the item's index differs from `index` (-1 = absent), including
   * by deletion or expiry, or at the timeout with `changed: false` and the current state.
   */
  async wait(key: string, index: number, timeoutMs: number): Promise<{ item: StoredItem | null; changed: boolean }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [item] = await this.get([key]);
      if ((item?.index ?? -1) !== index) return { item: item ?? null, changed: true };
      if (Date.now() >= deadline) return { item: item ?? null, changed: false };
      const expiresAt = itemExpiresAt(this.sql, key);
      await this.watch.sleep(key, Math.min(deadline, expiresAt ?? Infinity));
    }
  }

  /**
   * WebSocket upgrades for change streams: `/changes?key=<lower-cased key>` or `?prefix=<…>`,
   * with `seq=<n>` (resume after this shard's seq n; `until` = where its fromIndex replay ends),
   * else `from=<index>` (replay the changes above it), else from now; `ready=1` sends the
   * starting cursor first. The Worker checked the numbers.
   */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/changes" || request.headers.get("Upgrade") !== "websocket") {
      return new Response("expected a WebSocket upgrade on /changes", { status: 400 });
    }
    const number = (name: string) => (url.searchParams.has(name) ? Number(url.searchParams.get(name)) : null);
    const key = url.searchParams.get("key");
    return this.watch.subscribe({
      ...(key !== null ? { key } : { prefix: url.searchParams.get("prefix") ?? "" }),
      seq: number("seq"),
      until: number("until"),
      from: number("from"),
      ready: url.searchParams.get("ready") === "1",
    });
  }

  /** Subscribers only listen; a message from them is ignored. */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(socket: WebSocket, code: number, reason: string): Promise<void> {
    try {
      // 1005/1006 describe a close without a frame and cannot be sent back.
      socket.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  // ── documents ─────────────────────────────────────────────────────────────────────────────

  /** Documents for the given lower-cased ids, with the index of each one's atomic guard (0 if none). */
  async getDocs(keys: string[]): Promise<{ doc: StoredDoc | null; guardIndex: number }[]> {
    const found = await this.getDocsWithin(keys, Number.POSITIVE_INFINITY);
    return "docs" in found ? found.docs : [];
  }

  /** `getDocs`, unless the bodies together exceed `maxBytes` (see `getWithin`). */
  async getDocsWithin(
    keys: string[],
    maxBytes: number,
  ): Promise<{ docs: { doc: StoredDoc | null; guardIndex: number }[] } | { overBudget: true }> {
    return this.read(() => docsStep(this.sql, keys, maxBytes));
  }

  /** The change vector of the document with this lower-cased id, or null when there is none. */
  async getDocChangeVector(key: string): Promise<string | null> {
    return this.read(() => docChangeVectorStep(this.sql, key));
  }

  /**
   * Documents of a collection (case-insensitive; null = all), in id order after `after`, for
   * queries. Prepared writes to any document here are settled first.
   */
  async scanDocs(query: {
    collection: string | null;
    after?: string | undefined;
    limit: number;
    /** Stop once the bodies returned exceed this many characters (at least one row comes back). */
    maxBytes?: number;
  }): Promise<(StoredDoc & { key: string })[]> {
    return this.read(() => scanDocsStep(this.sql, query));
  }

  // ── transactions: one-phase and two-phase commit ──────────────────────────────────────────

  /**
   * All ops of a transaction live here: check and apply them in one storage transaction, with no
   * coordinator. A request id makes it exactly-once: a retry (under a new transaction id) gets the
   * first committed or conflicting outcome; a fenced-off attempt (`fence`) is not replayed, so a
   * retry of an attempt that never applied runs anew.
   */
  async commitOnePhase(txnId: string, mode: TxMode, ops: TxOp[], minIndex: number, requestId?: string): Promise<TxOutcome> {
    const requestKey = requestId ? TXN_REQUEST_PREFIX + requestId : null;
    const { outcome, applied } = await this.run(() => onePhaseStep(this.ledger, txnId, mode, ops, minIndex, requestKey), "grouped");
    if (applied && outcome.committed) this.watch.publish(eventsOf(ops, outcome.index));
    this.failpoints.hit("shard.commitOnePhase.after");
    await this.scheduleAlarm(this.expiryDeadline(ops, requestKey !== null));
    return outcome;
  }

  /**
   * A coordinator's messages to this shard — prepares, commits, aborts, releases of many
   * transactions — in one call, sharing one storage commit, each with its own reply
   * (shard/deliver.ts).
   */
  async deliver(batch: ShardMessage[]): Promise<Reply<ShardReply>[]> {
    return deliverBatch(this.delivery, batch);
  }

  /**
   * Phase one: check the ops and lock their keys durably, or vote no with the violations. Never
   * waits for another transaction (no-wait): a key locked by one whose decision is taken is
   * settled first; a key locked by one still undecided makes the vote "busy", no lock taken, and
   * the coordinator retries (see coordinator.ts and docs/ARCHITECTURE.md §4 for why this can
   * neither deadlock nor starve).
   */
  async prepare(txnId: string, mode: TxMode, ops: TxOp[], lead: Lead = { coordinator: 0, born: 0 }): Promise<PrepareVote> {
    return this.deliverOne({ kind: "prepare", txnId, mode, ops, lead });
  }

  /**
   * Drops the locks of a transaction whose coordinator gave up this attempt to prepare it (busy
   * elsewhere, wait-die told it to back off). Records no outcome: the same transaction prepares
   * again. Never touches a decided one.
   */
  async release(txnId: string): Promise<void> {
    await this.deliverOne({ kind: "release", txnId });
  }

  /** Phase two: apply a prepared transaction with its commit index. Idempotent by transaction id. */
  async commit(txnId: string, index: number, at?: number): Promise<TxOutcome | { unknown: true }> {
    return this.deliverOne({ kind: "commit", txnId, index, at });
  }

  /** Phase two of an abort: drop the locks, remember the outcome. Idempotent. */
  async abort(txnId: string): Promise<TxOutcome> {
    return this.deliverOne({ kind: "abort", txnId });
  }

  /**
   * What became of a one-phase attempt whose reply the entry point lost (transactions.ts): the
   * outcome logged for its request id, else its own outcome, or, when this shard never saw it, a
   * recorded abort so that a late delivery cannot commit it.
   */
  async fence(txnId: string, requestId?: string): Promise<TxOutcome> {
    if (requestId) {
      // With a request id a committed (or conflicting) attempt left its outcome only in the
      // request log. An earlier attempt's outcome there is also this attempt's answer: a late
      // delivery of this one would replay it, never apply again.
      const logged = this.sync(() => loggedResult(this.sql, TXN_REQUEST_PREFIX + requestId));
      if (logged !== null) return JSON.parse(logged) as TxOutcome;
    }
    return this.finish(txnId, { decision: "aborted" })!;
  }

  /** The most recent one-phase transactions applied here, newest first (the transactions panel). */
  recentOnePhase(limit: number): OnePhaseEntry[] {
    const n = Math.min(Math.max(limit, 1), 500);
    // Those with a request id are in the request log, those without in the outcomes table.
    const rows = [...recentListed(this.sql, n), ...recentLoggedTransactions(this.sql, n)].sort((a, b) => b.at - a.at).slice(0, n);
    return rows.map((row) => {
      const outcome = JSON.parse(row.outcome) as TxOutcome;
      return {
        txnId: row.txn_id,
        mode: row.mode as TxMode,
        committed: outcome.committed,
        index: outcome.committed ? outcome.index : null,
        keys: JSON.parse(row.keys) as string[],
        at: row.at,
      };
    });
  }

  /** Counts for database statistics: live items, documents. */
  async stats(): Promise<{ items: number; documents: number; identities: number }> {
    return this.read(() => statsStep(this.sql));
  }

  /**
   * Documents per collection here (`GET /collections/stats`); with `sizes` also their bodies'
   * bytes (the detailed form). Prepared writes to any document here are settled first.
   */
  async collectionStats(sizes: boolean): Promise<CollectionCount[]> {
    return this.read(() => collectionStatsStep(this.sql, sizes));
  }

  /**
   * Before a database is created with key hash tags (which routes braced keys elsewhere): whether
   * this shard already holds anything, and its index counter.
   */
  async occupancy(): Promise<{ holds: boolean; index: number }> {
    this.writes.flushPending();
    return { holds: holdsAnything(this.sql), index: this.counter.value };
  }

  /**
   * Raises the index counter to at least `to`: a key whose routing brings it here from another
   * shard (a database re-created with hash tags) never gets an index it had before.
   */
  async raiseIndex(to: number): Promise<number> {
    this.writes.flushPending();
    return this.sync(() => {
      this.counter.raise(to);
      return this.counter.value;
    });
  }

  // ── identities (shard/store/identities.ts) ───────────────────────────────────────────────

  /** Reserves `count` consecutive values of the identity `name` (lower-cased, ending in '|'); returns the last. */
  async nextIdentities(name: string, count: number): Promise<number> {
    return this.sync(() => identityStore.nextIdentities(this.sql, name, count));
  }

  async seedIdentity(name: string, value: number, force: boolean): Promise<number> {
    return this.sync(() => identityStore.seedIdentity(this.sql, name, value, force));
  }

  async identities(limit: number): Promise<{ name: string; value: number }[]> {
    return identityStore.listIdentities(this.sql, limit);
  }

  // ── HiLo (shard/hilo.ts): the document Raven/Hilo/<tag> lives on this shard ─────────────────

  /** The next range of ids for a collection tag, taken from its HiLo document. */
  async hiloNext(doc: HiloDoc, capacity: number, lastMax: number, legacyMax: number | null): Promise<HiloAnswer> {
    return this.run(() => hiloNextStep(this.ledger, doc, capacity, lastMax, legacyMax), "grouped");
  }

  /** Takes back the unused end of a range when nothing was handed out after it. */
  async hiloReturn(doc: HiloDoc, end: number, last: number): Promise<void> {
    await this.run(() => hiloReturnStep(this.ledger, doc, end, last), "grouped");
  }

  /** Reserves `count` numbers for server-generated ids (ids ending in '/'); returns the last. */
  async nextServerIds(count: number): Promise<number> {
    return this.sync(() => identityStore.nextServerIds(this.sql, count));
  }

  /**
   * Deletes the shard's data when its database is deleted. The index counter stays, so a database
   * created again under the same name never hands out an index a client may still hold.
   */
  async destroy(): Promise<void> {
    this.sync(() => deleteAll(this.sql));
    await this.ctx.storage.deleteAlarm();
    this.alarmAt = null;
    this.watch.wakeAll();
  }

  /** Test hook: arm a failpoint (refused unless FAILPOINTS is "on"). */
  armFailpoint(name: string, action: FailAction, times = 1, delayMs?: number): void {
    this.failpoints.arm(name, action, times, delayMs);
  }

  /** Test hook: how many times each failpoint of this object fired, across crashes of the instance. */
  failpointsFired(): Record<string, number> {
    return this.failpoints.fired();
  }

  // ── alarm ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Settles prepare locks that have waited too long (their coordinator may be gone), removes
   * expired items, old request-log and outcome entries and the watch history beyond its
   * retention in bounded batches, then re-arms.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const stale = preparedBefore(this.sql, now - LOCK_RESOLVE_AFTER_MS);
    if (stale.length) await this.settle(stale);
    const expiredEvents: ChangeEvent[] = [];
    // this.sync: an expiry takes an index from the counter, whose mirror must roll back too.
    const more = this.sync(() => {
      // Locked items wait for their transaction's decision before anything removes them.
      const removed = sweepExpiredItems(this.sql, now, SWEEP_BATCH, () => this.counter.next());
      for (const row of removed) expiredEvents.push({ Type: "Expire", Key: row.key, Index: row.idx, json: null });
      const expired = removed.length >= SWEEP_BATCH;
      const requests = sweepRequests(this.sql, now - REQUEST_LOG_TTL_MS, SWEEP_BATCH);
      const outcomes = sweepOutcomes(this.sql, now - OUTCOME_TTL_MS, SWEEP_BATCH);
      const history = pruneHistory(this.sql, this.retention, now, SWEEP_BATCH);
      return expired || requests || outcomes || history;
    });
    this.watch.pruned();
    this.watch.publish(expiredEvents);
    this.alarmAt = null;
    await this.scheduleAlarm(more ? now : this.nextDeadline());
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────

  /**
   * Runs a synchronous step in one storage transaction; while it reports locks held by other
   * transactions, settles those through the coordinator and runs it again on fresh state.
   * "grouped" steps (single-key writes) first run in the next group commit; a retry after
   * settling runs alone, at once.
   */
  private async run<T>(step: () => Step<T>, commit: "alone" | "grouped" | "read" = "alone"): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const result = commit === "read" ? step() : attempt === 0 && commit === "grouped" ? await this.writes.submit(step) : this.sync(step);
      if (!("blocked" in result)) return result.done;
      if (attempt >= 50) throw new Error(`keys stayed locked by ${result.blocked.join(", ")}`);
      await this.settle(result.blocked);
    }
  }

  /** One message through `deliver`, its error thrown as a call's would be. */
  private async deliverOne<K extends ShardMessage["kind"]>(m: Extract<ShardMessage, { kind: K }>): Promise<ShardReplies[K]> {
    const [reply] = await this.deliver([m]);
    if (!reply || "error" in reply) throw new Error(reply?.error ?? "no reply");
    return reply.ok as ShardReplies[K];
  }

  /**
   * `run` for steps that only read. One synchronous call cannot interleave with anything and
   * writes nothing, so it needs no transaction; skipping it saves the two savepoint statements
   * the runtime parses afresh for every transactionSync. Writes waiting for a group commit are
   * committed first (see `GroupCommit.flushPending`).
   */
  private read<T>(step: () => Step<T>): Promise<T> {
    this.writes.flushPending();
    return this.run(step, "read");
  }

  /**
   * Asks each transaction's coordinator (the one its lock names) for the decision, waiting while
   * it is being taken, and applies it here.
   */
  private async settle(txnIds: string[]): Promise<void> {
    await Promise.all(
      txnIds.map(async (txnId) => {
        const decision = await this.coordinatorOf(txnId).resolve(txnId, true);
        if (decision.decision !== "pending") this.finish(txnId, decision);
      }),
    );
    await this.scheduleAlarm(this.nextDeadline());
  }

  /** `settle` without waiting: applies the decisions already taken; returns the undecided. */
  private async settleDecided(txnIds: string[]): Promise<string[]> {
    const undecided: string[] = [];
    await Promise.all(
      txnIds.map(async (txnId) => {
        let decision: Decision | { decision: "pending" };
        try {
          decision = await this.coordinatorOf(txnId).resolve(txnId, false);
        } catch {
          // Its coordinator did not answer (restarting): as good as undecided, this time.
          decision = { decision: "pending" };
        }
        if (decision.decision === "pending") undecided.push(txnId);
        else this.finish(txnId, decision);
      }),
    );
    return undecided;
  }

  /** The coordinator leading a transaction that holds a lock here. */
  private coordinatorOf(txnId: string) {
    return coordinatorStub(this.env, this.database(), coordinatorOf(this.sql, txnId) ?? 0);
  }

  private agesOf(txnIds: string[]): TxAge[] {
    return txnIds.map((txnId) => {
      // A holder gone meanwhile counts as younger: the next attempt will not meet it.
      return { born: bornOf(this.sql, txnId) ?? Number.MAX_SAFE_INTEGER, txnId };
    });
  }

  /** One storage transaction; if it throws it rolls back, and so does the mirrored counter. */
  private sync<T>(fn: () => T): T {
    const counterBefore = this.counter.value;
    try {
      return this.ctx.storage.transactionSync(fn);
    } catch (err) {
      this.counter.reset(counterBefore);
      throw err;
    }
  }

  /** Applies a decision to a prepared transaction, once; returns its outcome (null: never prepared here). */
  private finish(txnId: string, decision: Decision): TxOutcome | null {
    const events: ChangeEvent[] = [];
    const outcome = this.sync(() => finishStep(this.ledger, txnId, decision, events));
    this.watch.publish(events);
    return outcome;
  }

  /** The alarm must cover a new expiry and the eviction of a new request-log entry. */
  private deadlineAfter(
    applied: { replayed: boolean; now: number },
    requestId: string | undefined,
    expiresAt: number | null,
  ): number | null {
    if (applied.replayed) return null;
    const requestDeadline = requestId ? applied.now + REQUEST_LOG_TTL_MS : null;
    if (expiresAt === null) return requestDeadline;
    return requestDeadline === null ? expiresAt : Math.min(expiresAt, requestDeadline);
  }

  /** A one-phase transaction's: its earliest expiry, else the eviction of its row (request log or outcomes). */
  private expiryDeadline(ops: TxOp[], logged: boolean): number | null {
    const times = ops.flatMap((op) => (op.kind === "cmpxchg-put" && op.expiresAt !== null ? [op.expiresAt] : []));
    return times.length ? Math.min(...times) : Date.now() + (logged ? REQUEST_LOG_TTL_MS : OUTCOME_TTL_MS);
  }

  /** Earliest instant the alarm has work: a lock to resolve, an expiry, or an entry to forget. */
  private nextDeadline(): number | null {
    const row = oldestEntries(this.sql);
    const candidates = [
      row.lock === null ? null : row.lock + LOCK_RESOLVE_AFTER_MS,
      row.expiry,
      row.request === null ? null : row.request + REQUEST_LOG_TTL_MS,
      row.outcome === null ? null : row.outcome + OUTCOME_TTL_MS,
      row.history === null || this.retention.maxAgeMs === null ? null : row.history + this.retention.maxAgeMs,
    ].filter((t): t is number => t !== null);
    return candidates.length ? Math.min(...candidates) : null;
  }

  private async scheduleAlarm(deadline: number | null): Promise<void> {
    if (deadline === null || (this.alarmAt !== null && this.alarmAt <= deadline)) return;
    this.alarmAt = deadline;
    await this.ctx.storage.setAlarm(deadline);
  }

  /** The database this shard belongs to, from its name (parsed once). */
  private database(): string {
    return (this.databaseName ??= parseObjectName(this.ctx.id.name ?? "").database);
  }
}
