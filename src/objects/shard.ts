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
 */
import { DurableObject } from "cloudflare:workers";
import {
  atomicGuardKey,
  DOC_LOCK_PREFIX,
  DOC_LOCKS_END,
  docReadLockKeys,
  ITEM_LOCK_PREFIX,
  itemLockKey,
  itemLockRange,
  lockKey,
} from "../core/lock-keys";
import { parseObjectName } from "../core/names";
import {
  olderThan,
  opLabel,
  type Decision,
  type OpResult,
  type PrepareVote,
  type TxAge,
  type TxMode,
  type TxOp,
  type TxOutcome,
} from "../core/transaction";
import { coordinatorStub } from "../stubs";
import { Failpoints, type FailAction } from "./failpoints";
import { GroupCommit } from "./group-commit";
import { migrate } from "./migrations";
import * as identityStore from "./shard-identities";
import { SHARD_MIGRATIONS } from "./shard-schema";
import { eventsOf, ShardWatch, type ChangeEvent } from "./shard-watch";
import { applyOps, blockingTxns, findViolations, previewsOf, readDoc, readItem, writeItem, type DocRow } from "./shard-tx";

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

export interface StoredItem {
  /** Lower-cased key. */
  key: string;
  index: number;
  /** The stored body, `{"Object":…,"@metadata":…}` as JSON text. */
  json: string;
}

/** RavenDB's `{Index, Value, Successful}`, with the value still as JSON text. */
export interface WriteResult {
  index: number;
  json: string | null;
  successful: boolean;
}

export interface PutCommand {
  key: string;
  json: string;
  expectedIndex: number;
  expiresAt: number | null;
  requestId?: string | undefined;
}

export interface DeleteCommand {
  key: string;
  expectedIndex: number;
  requestId?: string | undefined;
}

export interface ListQuery {
  /** Lower-cased prefix; "" lists everything. */
  prefix: string;
  /** Exclusive upper bound of the prefix range (see core/keys prefixUpperBound), or null. */
  upper: string | null;
  /** Return only keys after this lower-cased key. */
  after?: string | undefined;
  /** At most this many items; -1 for all. */
  limit: number;
}

export interface StoredDoc {
  id: string;
  collection: string | null;
  body: string;
  changeVector: string;
  lastModified: string;
  fromCluster: boolean;
}

/** The coordinator leading a prepared transaction and the transaction's age (wait-die). */
export interface Lead {
  coordinator: number;
  born: number;
}

/** One-phase transactions applied here, for the transactions panel. */
export interface OnePhaseEntry {
  txnId: string;
  mode: TxMode;
  committed: boolean;
  index: number | null;
  keys: string[];
  at: number;
}

/** A value from a synchronous step, or the transactions that must be settled before it can run. */
type Step<T> = { done: T } | { blocked: string[] };

export class ShardObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly failpoints: Failpoints;
  private readonly watch: ShardWatch;
  /** The shard's index counter, mirrored from the `counters` table. */
  private counter = 0;
  private databaseName: string | undefined;
  /** When the alarm is set for, mirrored so that writes need not ask storage. */
  private alarmAt: number | null = null;
  /** Single-key writes that arrive together share one storage commit (see group-commit.ts). */
  private readonly writes = new GroupCommit({ outer: (fn) => this.sync(fn), inner: (fn) => this.sync(fn) });

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.failpoints = new Failpoints(ctx, Failpoints.enabledIn(env));
    this.watch = new ShardWatch(ctx);
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage, SHARD_MIGRATIONS);
      this.counter = this.sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = 'index'").one().value;
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
    return this.read<{ items: (StoredItem | null)[] } | { overBudget: true }>(() => {
      const blocked = blockingTxns(this.sql, keys.map(itemLockKey));
      if (blocked.length) return { blocked };
      const now = Date.now();
      const items: (StoredItem | null)[] = [];
      let bytes = 0;
      for (const key of keys) {
        const row = readItem(this.sql, key, now);
        bytes += row?.value.length ?? 0;
        if (bytes > maxBytes) return { done: { overBudget: true } };
        items.push(row ? { key: row.key, index: row.idx, json: row.value } : null);
      }
      return { done: { items } };
    });
  }

  /**
   * Keys (with the size of each value) of live items whose key starts with the prefix, in UTF-8
   * byte order: what a listing needs to choose its page before it reads any value.
   */
  async listKeys(query: ListQuery): Promise<{ key: string; bytes: number }[]> {
    const resume = query.after !== undefined && query.after >= query.prefix;
    const from = resume ? query.after! : query.prefix;
    const range = itemLockRange(from, query.upper);
    return this.read<{ key: string; bytes: number }[]>(() => {
      const blocked = this.sql
        .exec<{ txn_id: string }>(
          `SELECT DISTINCT txn_id FROM locks
           WHERE lock_key ${resume ? ">" : ">="} ?1 AND (?2 IS NULL OR lock_key < ?2)`,
          range.from,
          range.to,
        )
        .toArray()
        .map((row) => row.txn_id);
      if (blocked.length) return { blocked };
      const rows = this.sql
        .exec<{ key: string; bytes: number }>(
          `SELECT key, length(value) AS bytes FROM items
           WHERE key ${resume ? ">" : ">="} ?1 AND (?2 IS NULL OR key < ?2)
             AND (expires_at IS NULL OR expires_at > ?3)
           ORDER BY key LIMIT ?4`,
          from,
          query.upper,
          Date.now(),
          query.limit,
        )
        .toArray();
      return { done: rows };
    });
  }

  /**
   * Create (expectedIndex 0) or update (expectedIndex = current index). RavenDB's outcomes:
   * success → the new index and value; mismatch on an existing item → its current index and value;
   * a non-zero expected index on a missing item → index 0, no value.
   */
  async put(cmd: PutCommand): Promise<WriteResult> {
    this.failpoints.hit("shard.write.before");
    const applied = await this.run(() => this.putStep(cmd), "grouped");
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
    const applied = await this.run(() => this.removeStep(cmd), "grouped");
    if (applied.value.successful && !applied.replayed && applied.value.json !== null) {
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
      const expiresAt = this.sql.exec<{ e: number | null }>("SELECT expires_at AS e FROM items WHERE key = ?", key).toArray()[0]?.e ?? null;
      await this.watch.sleep(key, Math.min(deadline, expiresAt ?? Infinity));
    }
  }

  /** WebSocket upgrades for change streams: `/changes?key=<lower-cased key>` or `?prefix=<…>`. */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/changes" || request.headers.get("Upgrade") !== "websocket") {
      return new Response("expected a WebSocket upgrade on /changes", { status: 400 });
    }
    const key = url.searchParams.get("key");
    return this.watch.subscribe(key !== null ? { key } : { prefix: url.searchParams.get("prefix") ?? "" });
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
    return this.read<{ docs: { doc: StoredDoc | null; guardIndex: number }[] } | { overBudget: true }>(() => {
      const lockKeys = keys.flatMap(docReadLockKeys);
      const blocked = blockingTxns(this.sql, lockKeys);
      if (blocked.length) return { blocked };
      const now = Date.now();
      const docs: { doc: StoredDoc | null; guardIndex: number }[] = [];
      let bytes = 0;
      for (const key of keys) {
        const row = readDoc(this.sql, key);
        bytes += row?.body.length ?? 0;
        if (bytes > maxBytes) return { done: { overBudget: true } };
        const guard = readItem(this.sql, atomicGuardKey(key), now);
        docs.push({ doc: row ? toStoredDoc(row) : null, guardIndex: guard?.idx ?? 0 });
      }
      return { done: { docs } };
    });
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
    return this.read<(StoredDoc & { key: string })[]>(() => {
      const blocked = this.sql
        .exec<{ txn_id: string }>(
          `SELECT DISTINCT txn_id FROM locks WHERE lock_key >= '${DOC_LOCK_PREFIX}' AND lock_key < '${DOC_LOCKS_END}'`,
        )
        .toArray()
        .map((row) => row.txn_id);
      if (blocked.length) return { blocked };
      const cursor = this.sql.exec<DocRow>(
        `SELECT * FROM docs WHERE (?1 IS NULL OR collection = ?1 COLLATE NOCASE) AND key > ?2
         ORDER BY key LIMIT ?3`,
        query.collection,
        query.after ?? "",
        query.limit,
      );
      // Rows are read one at a time, so stopping early leaves the rest unread.
      const docs: (StoredDoc & { key: string })[] = [];
      let bytes = 0;
      for (const row of cursor) {
        docs.push({ key: row.key, ...toStoredDoc(row) });
        bytes += row.body.length;
        if (bytes >= (query.maxBytes ?? Number.POSITIVE_INFINITY)) break;
      }
      return { done: docs };
    });
  }

  // ── transactions: one-phase and two-phase commit ──────────────────────────────────────────

  /**
   * All ops of a transaction live here: check and apply them in one storage transaction, with no
   * coordinator. A request id makes it exactly-once: a retry (under a new transaction id) gets the
   * first committed or conflicting outcome; a fenced-off attempt (`fence`) is not replayed, so a
   * retry of an attempt that never applied runs anew.
   */
  async commitOnePhase(txnId: string, mode: TxMode, ops: TxOp[], minIndex: number, requestId?: string): Promise<TxOutcome> {
    let applied = false;
    const requestKey = requestId ? TXN_REQUEST_PREFIX + requestId : null;
    const outcome = await this.run((): Step<TxOutcome> => {
      const known = this.outcomeOf(txnId);
      if (known) return { done: known };
      if (requestKey) {
        const seen = this.sql.exec<{ result: string }>("SELECT result FROM requests WHERE id = ?", requestKey).toArray()[0];
        if (seen) return { done: JSON.parse(seen.result) as TxOutcome };
      }
      const blocked = blockingTxns(this.sql, ops.map(lockKey), txnId);
      if (blocked.length) return { blocked };
      const now = Date.now();
      const violations = findViolations(this.sql, ops, now);
      let result: TxOutcome;
      if (violations.length) {
        result = { committed: false, violations };
      } else {
        const index = Math.max(this.counter + 1, minIndex);
        this.raiseCounter(index);
        result = { committed: true, index, results: applyOps(this.sql, ops, index, mode, this.database(), now) };
        applied = true;
      }
      this.recordOutcome(txnId, result, now, { mode, keys: ops.map(opLabel) });
      if (requestKey) {
        this.sql.exec("INSERT INTO requests (id, result, at) VALUES (?, ?, ?)", requestKey, JSON.stringify(result), now);
      }
      return { done: result };
    }, "grouped");
    if (applied && outcome.committed) this.watch.publish(eventsOf(ops, outcome.index));
    this.failpoints.hit("shard.commitOnePhase.after");
    await this.scheduleAlarm(this.expiryDeadline(ops));
    return outcome;
  }

  /**
   * Phase one: check the ops and lock their keys durably, or vote no with the violations. Never
   * waits for another transaction (no-wait): a key locked by one whose decision is taken is
   * settled first; a key locked by one still undecided makes the vote "busy", no lock taken, and
   * the coordinator retries (see coordinator.ts and docs/ARCHITECTURE.md §4 for why this can
   * neither deadlock nor starve).
   */
  async prepare(txnId: string, mode: TxMode, ops: TxOp[], lead: Lead = { coordinator: 0, born: 0 }): Promise<PrepareVote> {
    await this.failpoints.pause("shard.prepare.before");
    let vote: PrepareVote | null = null;
    for (let attempt = 0; vote === null; attempt++) {
      const prepareStep = (): Step<PrepareVote> => {
        const seen = this.sql
          .exec<{ outcome: string | null; prepared: number }>(
            "SELECT (SELECT outcome FROM outcomes WHERE txn_id = ?1) AS outcome, EXISTS (SELECT 1 FROM prepared WHERE txn_id = ?1) AS prepared",
            txnId,
          )
          .one();
        const known = seen.outcome === null ? null : (JSON.parse(seen.outcome) as TxOutcome);
        // Already finished (a late or duplicate prepare): never lock again.
        if (known) return { done: known.committed ? { vote: "yes", counter: this.counter, previews: [] } : { vote: "no", violations: [] } };
        const exists = seen.prepared === 1;
        // Locked since it was checked: nothing can have changed under the lock.
        if (exists) return { done: { vote: "yes", counter: this.counter, previews: previewsOf(this.sql, ops) } };
        const blocked = blockingTxns(this.sql, ops.map(lockKey), txnId);
        if (blocked.length) return { blocked };
        const violations = findViolations(this.sql, ops, Date.now());
        if (violations.length) return { done: { vote: "no", violations } };
        this.sql.exec(
          "INSERT INTO prepared (txn_id, mode, ops, at, coordinator, born) VALUES (?, ?, ?, ?, ?, ?)",
          txnId,
          mode,
          JSON.stringify(ops),
          Date.now(),
          lead.coordinator,
          lead.born,
        );
        for (const op of ops) this.sql.exec("INSERT INTO locks (lock_key, txn_id) VALUES (?, ?)", lockKey(op), txnId);
        this.failpoints.hit("shard.prepare.inside");
        return { done: { vote: "yes", counter: this.counter, previews: previewsOf(this.sql, ops) } };
      };
      // The first try joins the next group commit; a retry after settling locks runs alone.
      const step = attempt === 0 ? await this.writes.submit(prepareStep) : this.sync(prepareStep);
      if ("done" in step) {
        vote = step.done;
        break;
      }
      const undecided = await this.settleDecided(step.blocked);
      if (undecided.length === 0 && attempt < 3) continue;
      // Wait-die: older than every holder still deciding → may wait (keep its other locks).
      const me: TxAge = { born: lead.born, txnId };
      const holders = this.agesOf(undecided.length ? undecided : step.blocked);
      vote = { vote: "busy", wait: holders.every((holder) => olderThan(me, holder)) };
    }
    if (vote.vote === "yes") await this.scheduleAlarm(Date.now() + LOCK_RESOLVE_AFTER_MS);
    this.failpoints.hit("shard.prepare.after");
    return vote;
  }

  /**
   * Drops the locks of a transaction whose coordinator gave up this attempt to prepare it (busy
   * elsewhere, wait-die told it to back off). Records no outcome: the same transaction prepares
   * again. Never touches a decided one.
   */
  async release(txnId: string): Promise<void> {
    this.sync(() => {
      if (this.outcomeOf(txnId)) return;
      this.sql.exec("DELETE FROM locks WHERE txn_id = ?", txnId);
      this.sql.exec("DELETE FROM prepared WHERE txn_id = ?", txnId);
    });
    this.failpoints.hit("shard.release.after");
  }

  /** Phase two: apply a prepared transaction with its commit index. Idempotent by transaction id. */
  async commit(txnId: string, index: number, at?: number): Promise<TxOutcome | { unknown: true }> {
    await this.failpoints.pause("shard.commit.before");
    const events: ChangeEvent[] = [];
    // Grouped: commits arriving together at this shard share one storage commit.
    const outcome = await this.writes.submit(() => this.finishStep(txnId, { decision: "committed", index, at }, events));
    this.watch.publish(events);
    this.failpoints.hit("shard.commit.after");
    if (outcome?.committed) await this.scheduleAlarm(this.nextDeadline());
    return outcome ?? { unknown: true };
  }

  /** Phase two of an abort: drop the locks, remember the outcome. Idempotent. */
  async abort(txnId: string): Promise<TxOutcome> {
    return this.finish(txnId, { decision: "aborted" })!;
  }

  /**
   * What became of a one-phase transaction, for the coordinator's recovery: its outcome, or, when
   * this shard never saw it, a recorded abort so that a late delivery cannot commit it.
   */
  async fence(txnId: string): Promise<TxOutcome> {
    return this.finish(txnId, { decision: "aborted" })!;
  }

  /** The most recent one-phase transactions applied here, newest first (the transactions panel). */
  recentOnePhase(limit: number): OnePhaseEntry[] {
    return this.sql
      .exec<{ txn_id: string; outcome: string; at: number; mode: string; keys: string }>(
        "SELECT txn_id, outcome, at, mode, keys FROM outcomes WHERE keys IS NOT NULL ORDER BY at DESC LIMIT ?",
        Math.min(Math.max(limit, 1), 500),
      )
      .toArray()
      .map((row) => {
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
    return this.read<{ items: number; documents: number; identities: number }>(() => {
      const blocked = this.sql
        .exec<{ txn_id: string }>("SELECT DISTINCT txn_id FROM locks")
        .toArray()
        .map((r) => r.txn_id);
      if (blocked.length) return { blocked };
      return {
        done: this.sql
          .exec<{ items: number; documents: number; identities: number }>(
            `SELECT (SELECT COUNT(*) FROM items WHERE expires_at IS NULL OR expires_at > ?) AS items,
                    (SELECT COUNT(*) FROM docs) AS documents,
                    (SELECT COUNT(*) FROM identities) AS identities`,
            Date.now(),
          )
          .one(),
      };
    });
  }

  /**
   * Deletes the shard's data when its database is deleted. The index counter stays, so a database
   * created again under the same name never hands out an index a client may still hold.
   */
  // ── identities (shard-identities.ts) ──────────────────────────────────────────────────────

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

  /** Reserves `count` numbers for server-generated ids (ids ending in '/'); returns the last. */
  async nextServerIds(count: number): Promise<number> {
    return this.sync(() => identityStore.nextServerIds(this.sql, count));
  }

  async destroy(): Promise<void> {
    this.sync(() => {
      for (const table of ["items", "docs", "prepared", "locks", "outcomes", "requests", "identities"])
        this.sql.exec(`DELETE FROM ${table}`);
    });
    await this.ctx.storage.deleteAlarm();
    this.alarmAt = null;
    this.watch.wakeAll();
  }

  /** Test hook: arm a failpoint (refused unless FAILPOINTS is "on"). */
  armFailpoint(name: string, action: FailAction, times = 1): void {
    this.failpoints.arm(name, action, times);
  }

  /** Test hook: how many times each failpoint of this object fired, across crashes of the instance. */
  failpointsFired(): Record<string, number> {
    return this.failpoints.fired();
  }

  // ── alarm ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Settles prepare locks that have waited too long (their coordinator may be gone), removes
   * expired items and old request-log and outcome entries in bounded batches, then re-arms.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const stale = this.sql
      .exec<{ txn_id: string }>("SELECT txn_id FROM prepared WHERE at <= ?", now - LOCK_RESOLVE_AFTER_MS)
      .toArray()
      .map((row) => row.txn_id);
    if (stale.length) await this.settle(stale);
    const expiredEvents: ChangeEvent[] = [];
    const more = this.ctx.storage.transactionSync(() => {
      const sweep = (sql: string, before: number) => this.sql.exec(sql, before, SWEEP_BATCH).rowsWritten >= SWEEP_BATCH;
      // Locked items wait for their transaction's decision before anything removes them.
      const removed = this.sql
        .exec<{ key: string; idx: number }>(
          `DELETE FROM items WHERE key IN (
             SELECT key FROM items WHERE expires_at <= ?1
               AND NOT EXISTS (SELECT 1 FROM locks WHERE lock_key = '${ITEM_LOCK_PREFIX}' || items.key)
             ORDER BY expires_at LIMIT ?2)
           RETURNING key, idx`,
          now,
          SWEEP_BATCH,
        )
        .toArray();
      for (const row of removed) expiredEvents.push({ Type: "Expire", Key: row.key, Index: row.idx, json: null });
      const expired = removed.length >= SWEEP_BATCH;
      const requests = sweep(
        "DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE at <= ?1 ORDER BY at LIMIT ?2)",
        now - REQUEST_LOG_TTL_MS,
      );
      const outcomes = sweep(
        "DELETE FROM outcomes WHERE txn_id IN (SELECT txn_id FROM outcomes WHERE at <= ?1 ORDER BY at LIMIT ?2)",
        now - OUTCOME_TTL_MS,
      );
      return expired || requests || outcomes;
    });
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
    const row = this.sql.exec<{ coordinator: number }>("SELECT coordinator FROM prepared WHERE txn_id = ?", txnId).toArray()[0];
    return coordinatorStub(this.env, this.database(), row?.coordinator ?? 0);
  }

  private agesOf(txnIds: string[]): TxAge[] {
    return txnIds.map((txnId) => {
      const row = this.sql.exec<{ born: number }>("SELECT born FROM prepared WHERE txn_id = ?", txnId).toArray()[0];
      // A holder gone meanwhile counts as younger: the next attempt will not meet it.
      return { born: row?.born ?? Number.MAX_SAFE_INTEGER, txnId };
    });
  }

  /** One storage transaction; if it throws it rolls back, and so does the mirrored counter. */
  private sync<T>(fn: () => T): T {
    const counterBefore = this.counter;
    try {
      return this.ctx.storage.transactionSync(fn);
    } catch (err) {
      this.counter = counterBefore;
      throw err;
    }
  }

  /** Applies a decision to a prepared transaction, once; returns its outcome (null: never prepared here). */
  private finish(txnId: string, decision: Decision): TxOutcome | null {
    const events: ChangeEvent[] = [];
    const outcome = this.sync(() => this.finishStep(txnId, decision, events));
    this.watch.publish(events);
    return outcome;
  }

  /** `finish` inside the caller's storage transaction; the change events go to `events`. */
  private finishStep(txnId: string, decision: Decision, events: ChangeEvent[]): TxOutcome | null {
    // A prepared row and an outcome never coexist (finishing swaps one for the other).
    const prepared = this.sql.exec<{ mode: string; ops: string }>("SELECT mode, ops FROM prepared WHERE txn_id = ?", txnId).toArray()[0];
    if (!prepared) {
      const known = this.outcomeOf(txnId);
      if (known) return known;
    }
    const now = Date.now();
    let outcome: TxOutcome;
    if (decision.decision === "committed") {
      // A commit for a transaction never prepared here is a bug upstream: refuse, change nothing.
      if (!prepared) return null;
      this.raiseCounter(decision.index);
      const ops = JSON.parse(prepared.ops) as TxOp[];
      const at = decision.at ?? now;
      const results: OpResult[] = applyOps(this.sql, ops, decision.index, prepared.mode as TxMode, this.database(), at);
      outcome = { committed: true, index: decision.index, results };
      events.push(...eventsOf(ops, decision.index));
    } else {
      outcome = { committed: false, violations: [] };
    }
    this.sql.exec("DELETE FROM locks WHERE txn_id = ?", txnId);
    this.sql.exec("DELETE FROM prepared WHERE txn_id = ?", txnId);
    this.recordOutcome(txnId, outcome, now);
    return outcome;
  }

  private outcomeOf(txnId: string): TxOutcome | null {
    const row = this.sql.exec<{ outcome: string }>("SELECT outcome FROM outcomes WHERE txn_id = ?", txnId).toArray()[0];
    return row ? (JSON.parse(row.outcome) as TxOutcome) : null;
  }

  /** `listed`: a one-phase transaction, shown in the transactions panel. */
  private recordOutcome(txnId: string, outcome: TxOutcome, now: number, listed?: { mode: TxMode; keys: string[] }): void {
    this.sql.exec(
      "INSERT INTO outcomes (txn_id, outcome, at, mode, keys) VALUES (?, ?, ?, ?, ?)",
      txnId,
      JSON.stringify(outcome),
      now,
      listed?.mode ?? null,
      listed ? JSON.stringify(listed.keys) : null,
    );
  }

  /** The compare-and-write of `put`, run inside one (possibly grouped) storage transaction. */
  private putStep(cmd: PutCommand) {
    return this.applyWrite(cmd.key, cmd.requestId, (now) => {
      const current = readItem(this.sql, cmd.key, now);
      if (current ? current.idx !== cmd.expectedIndex : cmd.expectedIndex !== 0) {
        return current ? { index: current.idx, json: current.value, successful: false } : { index: 0, json: null, successful: false };
      }
      const index = this.nextIndex();
      writeItem(this.sql, cmd.key, index, cmd.json, cmd.expiresAt);
      return { index, json: cmd.json, successful: true };
    });
  }

  /** The compare-and-delete of `remove`. */
  private removeStep(cmd: DeleteCommand) {
    return this.applyWrite(cmd.key, cmd.requestId, (now) => {
      const current = readItem(this.sql, cmd.key, now);
      if (current && current.idx !== cmd.expectedIndex) {
        return { index: current.idx, json: current.value, successful: false };
      }
      // An expired row is already gone as far as anyone can see; remove it for good either way.
      this.sql.exec("DELETE FROM items WHERE key = ?", cmd.key);
      return { index: this.nextIndex(), json: current ? current.value : null, successful: true };
    });
  }

  /**
   * One single-key write in one storage transaction, replaying the first result for a known
   * request id; blocked while a prepared transaction holds the key.
   */
  private applyWrite(
    key: string,
    requestId: string | undefined,
    write: (now: number) => WriteResult,
  ): Step<{ value: WriteResult; replayed: boolean; now: number }> {
    const now = Date.now();
    if (requestId) {
      const seen = this.sql.exec<{ result: string }>("SELECT result FROM requests WHERE id = ?", requestId).toArray()[0];
      if (seen) return { done: { value: JSON.parse(seen.result) as WriteResult, replayed: true, now } };
    }
    const blocked = blockingTxns(this.sql, [itemLockKey(key)]);
    if (blocked.length) return { blocked };
    const value = write(now);
    if (requestId) {
      this.sql.exec("INSERT INTO requests (id, result, at) VALUES (?, ?, ?)", requestId, JSON.stringify(value), now);
    }
    return { done: { value, replayed: false, now } };
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

  private expiryDeadline(ops: TxOp[]): number | null {
    const times = ops.flatMap((op) => (op.kind === "cmpxchg-put" && op.expiresAt !== null ? [op.expiresAt] : []));
    return times.length ? Math.min(...times) : Date.now() + OUTCOME_TTL_MS;
  }

  /** Earliest instant the alarm has work: a lock to resolve, an expiry, or an entry to forget. */
  private nextDeadline(): number | null {
    const row = this.sql
      .exec<{ lock: number | null; expiry: number | null; request: number | null; outcome: number | null }>(
        `SELECT (SELECT MIN(at) FROM prepared) AS lock,
                (SELECT MIN(expires_at) FROM items WHERE expires_at IS NOT NULL) AS expiry,
                (SELECT MIN(at) FROM requests) AS request,
                (SELECT MIN(at) FROM outcomes) AS outcome`,
      )
      .one();
    const candidates = [
      row.lock === null ? null : row.lock + LOCK_RESOLVE_AFTER_MS,
      row.expiry,
      row.request === null ? null : row.request + REQUEST_LOG_TTL_MS,
      row.outcome === null ? null : row.outcome + OUTCOME_TTL_MS,
    ].filter((t): t is number => t !== null);
    return candidates.length ? Math.min(...candidates) : null;
  }

  private async scheduleAlarm(deadline: number | null): Promise<void> {
    if (deadline === null || (this.alarmAt !== null && this.alarmAt <= deadline)) return;
    this.alarmAt = deadline;
    await this.ctx.storage.setAlarm(deadline);
  }

  /** Next index of this shard's Lamport clock, persisted in the same transaction as the write. */
  private nextIndex(): number {
    this.raiseCounter(this.counter + 1);
    return this.counter;
  }

  private raiseCounter(to: number): void {
    if (to <= this.counter) return;
    this.counter = to;
    this.sql.exec("UPDATE counters SET value = ? WHERE name = 'index'", to);
  }

  /** The database this shard belongs to, from its name (parsed once). */
  private database(): string {
    return (this.databaseName ??= parseObjectName(this.ctx.id.name ?? "").database);
  }
}

function toStoredDoc(row: DocRow): StoredDoc {
  return {
    id: row.id,
    collection: row.collection,
    body: row.body,
    changeVector: row.change_vector,
    lastModified: row.last_modified,
    fromCluster: row.from_cluster === 1,
  };
}
