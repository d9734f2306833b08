/**
 * ShardObject: owns one hash range of one database's compare-exchange keys.
 *
 * Every compare-and-write is a single `transactionSync`: read, compare and write with no `await`
 * in between, so no other call can interleave (input gates only hold across storage awaits; a
 * timer or an RPC would let a second writer in). Conflicts and misses are returned as values.
 */
import { DurableObject } from "cloudflare:workers";
import { migrate } from "./migrations";
import { SHARD_MIGRATIONS } from "./shard-schema";

/** How long a request id's first result is replayed to retries. */
export const REQUEST_LOG_TTL_MS = 24 * 60 * 60 * 1000;
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

interface Row extends Record<string, SqlStorageValue> {
  key: string;
  idx: number;
  value: string;
}

export class ShardObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The shard's index counter, mirrored from the `counters` table. */
  private counter = 0;
  /** When the alarm is set for, mirrored so that writes need not ask storage. */
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage, SHARD_MIGRATIONS);
      this.counter = this.sql
        .exec<{ value: number }>("SELECT value FROM counters WHERE name = 'index'")
        .one().value;
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Items for the given lower-cased keys, in order; null where absent or expired. */
  get(keys: string[]): (StoredItem | null)[] {
    const now = Date.now();
    return keys.map((key) => {
      const row = this.readLive(key, now);
      return row ? { key: row.key, index: row.idx, json: row.value } : null;
    });
  }

  /** Live items whose key starts with the prefix, in UTF-8 byte order. */
  list(query: ListQuery): StoredItem[] {
    const now = Date.now();
    const from = query.after !== undefined && query.after >= query.prefix ? query.after : query.prefix;
    const fromOp = query.after !== undefined && query.after >= query.prefix ? ">" : ">=";
    const rows = this.sql
      .exec<Row>(
        `SELECT key, idx, value FROM items
         WHERE key ${fromOp} ?1 AND (?2 IS NULL OR key < ?2)
           AND (expires_at IS NULL OR expires_at > ?3)
         ORDER BY key LIMIT ?4`,
        from,
        query.upper,
        now,
        query.limit,
      )
      .toArray();
    return rows.map((row) => ({ key: row.key, index: row.idx, json: row.value }));
  }

  /**
   * Create (expectedIndex 0) or update (expectedIndex = current index). RavenDB's outcomes:
   * success → the new index and value; mismatch on an existing item → its current index and value;
   * a non-zero expected index on a missing item → index 0, no value.
   */
  async put(cmd: PutCommand): Promise<WriteResult> {
    const result = this.apply(cmd.requestId, (now) => {
      const current = this.readLive(cmd.key, now);
      if (current ? current.idx !== cmd.expectedIndex : cmd.expectedIndex !== 0) {
        return current
          ? { index: current.idx, json: current.value, successful: false }
          : { index: 0, json: null, successful: false };
      }
      const index = this.nextIndex();
      this.sql.exec(
        `INSERT INTO items (key, idx, value, expires_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO UPDATE SET idx = ?2, value = ?3, expires_at = ?4`,
        cmd.key,
        index,
        cmd.json,
        cmd.expiresAt,
      );
      return { index, json: cmd.json, successful: true };
    });
    const stored = result.value.successful && !result.replayed ? cmd.expiresAt : null;
    await this.scheduleAlarm(this.deadlineAfter(result, cmd.requestId, stored));
    return result.value;
  }

  /**
   * Delete when expectedIndex matches. RavenDB's outcomes: success → a new index and the deleted
   * value; mismatch → the current index and value; a missing item → success with a new index.
   */
  async remove(cmd: DeleteCommand): Promise<WriteResult> {
    const result = this.apply(cmd.requestId, (now) => {
      const current = this.readLive(cmd.key, now);
      if (current && current.idx !== cmd.expectedIndex) {
        return { index: current.idx, json: current.value, successful: false };
      }
      // An expired row is already gone as far as anyone can see; remove it for good either way.
      this.sql.exec("DELETE FROM items WHERE key = ?", cmd.key);
      return { index: this.nextIndex(), json: current ? current.value : null, successful: true };
    });
    await this.scheduleAlarm(this.deadlineAfter(result, cmd.requestId, null));
    return result.value;
  }

  /** Removes expired items and old request-log entries in bounded batches, then re-arms. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const more = this.ctx.storage.transactionSync(() => {
      const expired = this.sql.exec(
        `DELETE FROM items WHERE key IN (
           SELECT key FROM items WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)`,
        now,
        SWEEP_BATCH,
      ).rowsWritten;
      const forgotten = this.sql.exec(
        `DELETE FROM requests WHERE id IN (
           SELECT id FROM requests WHERE at <= ?1 ORDER BY at LIMIT ?2)`,
        now - REQUEST_LOG_TTL_MS,
        SWEEP_BATCH,
      ).rowsWritten;
      return expired >= SWEEP_BATCH || forgotten >= SWEEP_BATCH;
    });
    this.alarmAt = null;
    await this.scheduleAlarm(more ? now : this.nextDeadline());
  }

  /** Earliest instant the alarm has work: the next expiry or the next request-log eviction. */
  private nextDeadline(): number | null {
    const row = this.sql
      .exec<{ expiry: number | null; oldest: number | null }>(
        `SELECT (SELECT MIN(expires_at) FROM items WHERE expires_at IS NOT NULL) AS expiry,
                (SELECT MIN(at) FROM requests) AS oldest`,
      )
      .one();
    const candidates = [row.expiry, row.oldest === null ? null : row.oldest + REQUEST_LOG_TTL_MS];
    const present = candidates.filter((t): t is number => t !== null);
    return present.length ? Math.min(...present) : null;
  }

  private async scheduleAlarm(deadline: number | null): Promise<void> {
    if (deadline === null || (this.alarmAt !== null && this.alarmAt <= deadline)) return;
    this.alarmAt = deadline;
    await this.ctx.storage.setAlarm(deadline);
  }

  /**
   * Runs one write in one storage transaction, replaying the first result for a known request id.
   * Returns the result and whether it is a replay (a replay changes nothing, so needs no alarm).
   */
  private apply(
    requestId: string | undefined,
    write: (now: number) => WriteResult,
  ): { value: WriteResult; replayed: boolean; now: number } {
    const now = Date.now();
    const counterBefore = this.counter;
    try {
      return this.ctx.storage.transactionSync(() => {
        if (requestId) {
          const seen = this.sql
            .exec<{ result: string }>("SELECT result FROM requests WHERE id = ?", requestId)
            .toArray()[0];
          if (seen) return { value: JSON.parse(seen.result) as WriteResult, replayed: true, now };
        }
        const value = write(now);
        if (requestId) {
          this.sql.exec(
            "INSERT INTO requests (id, result, at) VALUES (?, ?, ?)",
            requestId,
            JSON.stringify(value),
            now,
          );
        }
        return { value, replayed: false, now };
      });
    } catch (err) {
      // The transaction rolled back; so does the mirrored counter.
      this.counter = counterBefore;
      throw err;
    }
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

  /** Next index of this shard's Lamport clock, persisted in the same transaction as the write. */
  private nextIndex(): number {
    this.counter += 1;
    this.sql.exec("UPDATE counters SET value = ? WHERE name = 'index'", this.counter);
    return this.counter;
  }

  private readLive(key: string, now: number): Row | null {
    return (
      this.sql
        .exec<Row>(
          "SELECT key, idx, value FROM items WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
          key,
          now,
        )
        .toArray()[0] ?? null
    );
  }
}
