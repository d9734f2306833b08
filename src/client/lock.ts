/**
 * Locks as leases. A lock is the item `locks/<name>` with an `@expires`; taking it is a create
 * (index 0), so at most one holder exists at a time, and a holder that dies frees it at expiry
 * because the server treats an expired item as absent from that instant.
 *
 * The fencing token is the index the create returned. Indexes grow strictly per key, also across
 * delete and re-create, so every later holder gets a larger token: a resource that remembers the
 * largest token it saw can refuse a stale holder that still believes it owns the lock.
 */
import { expiresIn, expiryOf, type CmpxchgApi } from "./api.js";
import { LockLostException, LockTimeoutException } from "./errors.js";
import { KeepAlive } from "./lease.js";

export interface LockOptions {
  /** Lease length: the lock frees itself this long after the last acquire or renew. */
  ttlMs: number;
  /** How long to wait for a held lock before giving up (0: try once). */
  waitMs: number;
  /** Who holds it, stored in the item for operators (default: a random id). */
  owner?: string;
  /** Key prefix of lock items (default `locks/`). */
  prefix?: string;
  /**
   * Renew the lease at a third of its TTL until release (default: false for acquireLock, true for
   * withLock). Loss of the lease is reported through `lock.signal` either way.
   */
  keepAlive?: boolean;
}

/** What a lock item stores. */
export interface LockRecord {
  owner: string;
  acquiredAt: string;
}

/** A held lock. */
export interface Lock {
  readonly name: string;
  /** The item's key (`locks/<name>`). */
  readonly key: string;
  readonly owner: string;
  /** Fencing token: the index of the acquisition, larger than every earlier holder's. */
  readonly token: number;
  /** The item's current index (changes on renew); what renew and release compare against. */
  readonly index: number;
  /** When the lease ends unless renewed (ms since the epoch). */
  readonly expiresAt: number;
  /** Aborted (reason: LockLostException) when the lease is lost: a renew refused, or its end passed. */
  readonly signal: AbortSignal;
  /** Extends the lease by `ttlMs` (default: the acquire's) from now; throws LockLostException if it was lost. */
  renew(ttlMs?: number): Promise<void>;
  /**
   * Gives the lock up. True when it was ours (or already gone); false when someone else holds it
   * now, i.e. our lease had expired.
   */
  release(): Promise<boolean>;
}

/** The time a lease may be expired before a waiter tries again, covering clock skew and delivery. */
export const EXPIRY_SLACK_MS = 25;

/**
 * Takes the lock `name`, waiting up to `waitMs` for the current holder to release it or for its
 * lease to end. Waiting is a long-poll on the item (`waitForChange`), not polling: a waiter wakes
 * when the item is deleted or replaced, and at the holder's expiry at the latest.
 *
 * @throws LockTimeoutException when the lock stayed held for the whole `waitMs`.
 */
export async function acquireLock(client: CmpxchgApi, name: string, options: LockOptions): Promise<Lock> {
  const key = (options.prefix ?? "locks/") + name;
  const owner = options.owner ?? crypto.randomUUID();
  const deadline = Date.now() + Math.max(0, options.waitMs);
  for (;;) {
    const record: LockRecord = { owner, acquiredAt: new Date().toISOString() };
    const metadata = expiresIn(options.ttlMs);
    const attempt = await client.create(key, record, metadata);
    if (attempt.successful) {
      return new HeldLock(client, name, key, record, attempt.index, expiryOf(metadata)!, options.ttlMs, options.keepAlive ?? false);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new LockTimeoutException(`The lock '${name}' is held by ${describeHolder(attempt.value)}; gave up after ${options.waitMs} ms.`);
    }
    // A failed create reports the holder's index: wait for that to change. Cap the wait at the
    // holder's expiry too, so an expiry is noticed even if no one writes the key.
    const holderExpiry = expiryOf(attempt.metadata);
    const untilExpiry = holderExpiry === null ? remaining : holderExpiry - Date.now() + EXPIRY_SLACK_MS;
    const timeoutMs = Math.max(1, Math.min(remaining, untilExpiry));
    await client.waitForChange(key, attempt.index, { timeoutMs });
  }
}

/**
 * Runs `fn` while holding the lock, and releases it afterwards whatever happened. The lease is
 * kept alive meanwhile (unless `keepAlive: false`); `fn` gets the signal that reports its loss.
 */
export async function withLock<R>(
  client: CmpxchgApi,
  name: string,
  options: LockOptions,
  fn: (lock: Lock, signal: AbortSignal) => Promise<R>,
): Promise<R> {
  const lock = await acquireLock(client, name, { ...options, keepAlive: options.keepAlive ?? true });
  try {
    return await fn(lock, lock.signal);
  } finally {
    await lock.release();
  }
}

class HeldLock implements Lock {
  index: number;
  expiresAt: number;
  private readonly keepAlive: KeepAlive;
  /** Renews and the release run one after another, so each compares against the last index. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: CmpxchgApi,
    readonly name: string,
    readonly key: string,
    private readonly record: LockRecord,
    readonly token: number,
    expiresAt: number,
    private readonly ttlMs: number,
    renewing: boolean,
  ) {
    this.index = token;
    this.expiresAt = expiresAt;
    this.keepAlive = new KeepAlive(
      async () => {
        const expiry = await this.write(this.ttlMs);
        return typeof expiry === "number" ? expiry : null;
      },
      { ttlMs, expiresAt },
      `the lock '${name}'`,
      renewing,
    );
  }

  get signal(): AbortSignal {
    return this.keepAlive.signal;
  }

  get owner(): string {
    return this.record.owner;
  }

  async renew(ttlMs = this.ttlMs): Promise<void> {
    const expiry = await this.write(ttlMs);
    if (typeof expiry !== "number") {
      const err = new LockLostException(`The lock '${this.name}' was lost: it is now held by ${describeHolder(expiry.holder)}.`);
      this.keepAlive.lose(err.message);
      throw err;
    }
    this.keepAlive.extended(expiry);
  }

  async release(): Promise<boolean> {
    await this.keepAlive.stop();
    const result = await this.serial(() => this.client.delete(this.key, this.index));
    return result.successful;
  }

  /** The new expiry, or who holds the lock now when the lease was lost. */
  private write(ttlMs: number): Promise<number | { holder: unknown }> {
    return this.serial(async () => {
      const metadata = expiresIn(ttlMs);
      // Conditional on our index: if the lease expired (item absent, index 0) or someone else took
      // it (another index), this fails and we must not pretend to still hold it.
      const result = await this.client.put(this.key, this.record, this.index, metadata);
      if (!result.successful) return { holder: result.value };
      this.index = result.index;
      this.expiresAt = expiryOf(metadata)!;
      return this.expiresAt;
    });
  }

  private serial<R>(fn: () => Promise<R>): Promise<R> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => {});
    return next;
  }
}

function describeHolder(value: unknown): string {
  const owner = (value as Partial<LockRecord> | null)?.owner;
  return owner ? `'${owner}'` : "nobody (it expired)";
}
