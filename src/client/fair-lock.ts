/**
 * Fair locks: waiters queue in arrival order and each waits only for its predecessor, as etcd's
 * Mutex does by revision, so a release wakes exactly one waiter.
 *
 * Layout under `<prefix>{<name>}/` (the name is the keys' hash tag), one item per waiter or
 * holder under `queue/`, with an `@expires` lease. Every item has a ticket; the holder is the live
 * item with the smallest ticket, and the ticket is the fencing token (strictly increasing per
 * lock, since holders take the lock in ticket order). Two ways to hand out tickets, chosen by how
 * the database routes keys (asked once per client, `CmpxchgApi.routing`; fixed for the
 * database's life, so every client of one database uses the same):
 *
 * - **Key hash tags** (README, "Co-located keys"): every key of the lock lies on one shard, whose
 *   indexes are one total order of its writes. A waiter creates `queue/<random id>` with one
 *   plain create, which never conflicts, and its ticket is the index that create returned (as
 *   etcd's Mutex orders waiters by create revision). The item's index changes when it is renewed,
 *   so every later write of the item stores the ticket in its value (`ticket`); an item without
 *   one was never rewritten and its index is still its ticket.
 * - **Whole-key routing**: the queue's keys lie on different shards, and two items' indexes say
 *   nothing about which came first. `seq` is a ticket counter: taking a ticket and creating
 *   `queue/<ticket, 16 digits>` happen in ONE cluster-wide transaction (write `seq` if its index
 *   is still i, create the item of ticket i+1; the ticket is also stored in the value).
 *
 * Either way, when a waiter's item is created every smaller ticket's item already exists or is
 * gone for good, so one listing names all of its predecessors and none can appear later.
 *
 * A holder releases with one write that marks its item released (`released: true`, a lease of
 * half a second), not a delete: the successor's long-poll on it answers with that value, and it
 * tells the successor more than a delete would — its predecessor held the lock, so every earlier
 * item is gone too, and the successor holds the lock without asking about them. An item that
 * disappears (a waiter that gave up deletes its item; a dead one's lease lapses) says nothing
 * about the earlier ones, which the successor then reads again. Released items are not waiters:
 * listings skip them.
 *
 * A waiter that dies stops renewing; its item expires and its successor (whose wait is capped at
 * that expiry) moves on. A waiter that gives up deletes its item.
 */
import { expiresIn, expiryOf, type CmpxchgApi } from "./api.js";
import { ClusterTransactionConcurrencyException, LockLostException, LockTimeoutException } from "./errors.js";
import { KeepAlive } from "./lease.js";
import { EXPIRY_SLACK_MS, type Lock } from "./lock.js";
import { backoffDelay, sleep } from "./retry.js";
import type { ChangeResult, CompareExchangeValue, Metadata } from "./types.js";

export interface FairLockOptions {
  /** Lease length of the queue item (waiting and holding). */
  ttlMs: number;
  /** How long to wait for the turn (0: only if free now; Infinity: until the signal). */
  waitMs: number;
  /** Stored in the item for operators and observers (default: a random id). */
  owner?: string;
  /** Key prefix (default `locks/`; the keys are `<prefix>{<name>}/seq` and `<prefix>{<name>}/queue/…`). */
  prefix?: string;
  /** Renew the lease at a third of its TTL while waiting and holding (default true). */
  keepAlive?: boolean;
  /** Gives up waiting (the item is deleted) when aborted. */
  signal?: AbortSignal;
  /** A value stored in the queue item (an election's candidate value). */
  value?: unknown;
}

/** What a queue item stores. */
export interface QueueRecord {
  owner: string;
  value?: unknown;
  enqueuedAt: string;
  /** The item's ticket (absent only from an item that was never rewritten: its index is the ticket). */
  ticket?: number;
  /** Written by the holder's release: the lock was held and given up (the item lapses soon after). */
  released?: true;
}

/** How long a released item stays visible: its successor's long-poll reads it at once. */
const RELEASED_LINGER_MS = 500;

function isReleased(item: { value: unknown } | null): boolean {
  return (item?.value as Partial<QueueRecord> | null)?.released === true;
}

/**
 * A held fair lock: a `Lock` whose `key` is the holder's queue item, whose `token` is its ticket
 * (larger than every earlier holder's), and whose `release` leaves the queue.
 */
export interface FairLock extends Lock {
  /** Replaces the stored value (an election's proclaim); throws LockLostException when lost. */
  setValue(value: unknown): Promise<void>;
}

/** Tickets are zero-padded so that key order (what a listing returns) is ticket order. */
const TICKET_DIGITS = 16;
/** The server's longest long-poll. */
const MAX_WAIT_MS = 60_000;
const ENQUEUE_BACKOFF = { baseMs: 2, maxMs: 100 };

export interface LockKeys {
  seq: string;
  queue: string;
}

/**
 * The keys of the lock `name`: the name in braces is their hash tag, so that a database routing by
 * tags keeps them on one shard. (Every key of the lock has the same first `{` and next `}`, both
 * inside `<prefix>{<name>}`, also when the prefix or the name holds braces of its own: so they
 * share the tag, whatever it is. Only an empty name gives `{}`, which is no tag.)
 */
export function lockKeys(name: string, prefix = "locks/"): LockKeys {
  const base = `${prefix}{${name}}/`;
  return { seq: `${base}seq`, queue: `${base}queue/` };
}

export function ticketKey(keys: LockKeys, ticket: number): string {
  return keys.queue + String(ticket).padStart(TICKET_DIGITS, "0");
}

/** The ticket of a queue item: the one its value records, else its index (see the header). */
export function ticketOf(item: { index: number; value: unknown }): number {
  const stored = (item.value as Partial<QueueRecord> | null)?.ticket;
  return typeof stored === "number" ? stored : item.index;
}

/** Per client: whether its database routes by key hash tags (the queue's indexes are then one order). */
const taggedRouting = new WeakMap<CmpxchgApi, Promise<boolean>>();

export function routesByTags(client: CmpxchgApi, signal?: AbortSignal): Promise<boolean> {
  let known = taggedRouting.get(client);
  if (!known) {
    known = client.routing({ signal }).then((routing) => routing.keyHashTags);
    taggedRouting.set(client, known);
    // A failed question is asked again next time, not remembered.
    known.catch(() => taggedRouting.delete(client));
  }
  return known;
}

/** A place in the queue. */
export interface Ticket {
  ticket: number;
  key: string;
  /** The queue item's index after the enqueue. */
  index: number;
  expiresAt: number;
  record: QueueRecord;
}

/** Per client and lock: the index `seq` had after this client's last enqueue (the next one's first guess). */
const seqIndexSeen = new WeakMap<CmpxchgApi, Map<string, number>>();

/**
 * Takes a ticket and creates the queue item: in a database with key hash tags one create whose
 * index is the ticket, else the `seq` transaction. Exported for tests that simulate a waiter
 * dying right after it queued.
 */
export async function enqueue(
  client: CmpxchgApi,
  keys: LockKeys,
  record: QueueRecord,
  ttlMs: number,
  signal?: AbortSignal,
): Promise<Ticket> {
  if (!(await routesByTags(client, signal))) return enqueueWithCounter(client, keys, record, ttlMs, signal);
  const key = keys.queue + crypto.randomUUID();
  const metadata = expiresIn(ttlMs);
  const created = await client.create(key, record, metadata, { signal });
  // A random key that exists already: not this waiter's, never overwritten.
  if (!created.successful) throw new Error(`The queue item '${key}' of a new waiter already existed.`);
  return { ticket: created.index, key, index: created.index, expiresAt: expiryOf(metadata)!, record: { ...record, ticket: created.index } };
}

/**
 * The ticket counter's enqueue (whole-key routing), one transaction, retried on a lost race.
 *
 * The ticket is one more than the index of `seq` the transaction compares against: `seq`'s index
 * grows with every write of it and never repeats (indexes grow strictly per key), and every
 * enqueue writes it, so tickets are unique and grow in commit order. A lost race reports `seq`'s
 * actual index (the conflict's violation), which is the next attempt's guess: no read of `seq`
 * before a retry (only before a client's first enqueue for the lock), one round trip per attempt.
 */
async function enqueueWithCounter(
  client: CmpxchgApi,
  keys: LockKeys,
  record: QueueRecord,
  ttlMs: number,
  signal?: AbortSignal,
): Promise<Ticket> {
  let seen = seqIndexSeen.get(client);
  if (!seen) seqIndexSeen.set(client, (seen = new Map()));
  // A client that never queued for this lock reads `seq` once (its guess would be wrong);
  // afterwards the index from its last enqueue is the first guess.
  let expected = seen.get(keys.seq) ?? (await client.get<number>(keys.seq, { signal }))?.index ?? 0;
  for (let attempt = 0; ; attempt++) {
    const ticket = expected + 1;
    const key = ticketKey(keys, ticket);
    const metadata = expiresIn(ttlMs);
    const stored: QueueRecord = { ...record, ticket };
    try {
      const committed = await client.transaction().put(keys.seq, ticket, expected).create(key, stored, metadata).commit({ signal });
      seen.set(keys.seq, committed.index);
      return { ticket, key, index: committed.index, expiresAt: expiryOf(metadata)!, record: stored };
    } catch (err) {
      if (!(err instanceof ClusterTransactionConcurrencyException)) throw err;
      const onSeq = err.violations.find((v) => v.id.toLowerCase() === keys.seq.toLowerCase());
      // Only `seq` can conflict (a ticket's key is never used twice); should anything else, read it.
      expected = onSeq ? Math.max(0, onSeq.actual) : ((await client.get<number>(keys.seq, { signal }))?.index ?? 0);
      seen.set(keys.seq, expected);
      // A first loss is retried at once with the index just learned; a crowd arriving together
      // then spreads out with short jittered pauses.
      if (attempt > 0) await sleep(backoffDelay(Math.min(attempt - 1, 6), ENQUEUE_BACKOFF), signal);
    }
  }
}

interface Predecessor {
  key: string;
  index: number;
  expiresAt: number | null;
}

/**
 * Queues for the lock `name` and resolves once every earlier waiter is gone.
 *
 * @throws LockTimeoutException when the turn did not come within `waitMs` (the item is deleted).
 * @throws LockLostException when the waiter's own lease was lost while it waited.
 */
export async function acquireFairLock(client: CmpxchgApi, name: string, options: FairLockOptions): Promise<FairLock> {
  const keys = lockKeys(name, options.prefix);
  const record: QueueRecord = { owner: options.owner ?? crypto.randomUUID(), enqueuedAt: new Date().toISOString() };
  if (options.value !== undefined) record.value = options.value;
  const deadline = Date.now() + Math.max(0, options.waitMs);
  const ticket = await enqueue(client, keys, record, options.ttlMs, options.signal);
  const lock = new HeldFairLock(client, name, ticket, options.ttlMs, options.keepAlive ?? true);
  try {
    await waitForTurn(client, keys, ticket, deadline, lock.signal, options.signal, name);
    return lock;
  } catch (err) {
    // Leave the queue, so the successor does not wait for our lease to run out.
    await lock.leave().catch(() => false);
    throw err;
  }
}

/** Runs `fn` under the fair lock and releases it afterwards; `fn` gets the lease-loss signal. */
export async function withFairLock<R>(
  client: CmpxchgApi,
  name: string,
  options: FairLockOptions,
  fn: (lock: FairLock, signal: AbortSignal) => Promise<R>,
): Promise<R> {
  const lock = await acquireFairLock(client, name, options);
  try {
    return await fn(lock, lock.signal);
  } finally {
    await lock.release();
  }
}

async function waitForTurn(
  client: CmpxchgApi,
  keys: LockKeys,
  ticket: Ticket,
  deadline: number,
  leaseSignal: AbortSignal,
  callerSignal: AbortSignal | undefined,
  name: string,
): Promise<void> {
  const ahead = new Map<number, Predecessor>();
  for await (const item of client.listAll<QueueRecord>(keys.queue, { pageSize: 0, signal: callerSignal })) {
    const n = ticketOf(item);
    if (n < ticket.ticket && !isReleased(item)) ahead.set(n, { key: item.key, index: item.index, expiresAt: expiryOf(item.metadata) });
  }
  while (ahead.size > 0) {
    if (leaseSignal.aborted) throw leaseSignal.reason;
    callerSignal?.throwIfAborted();
    // Only the nearest predecessor is watched: its going is the only event that can make us next.
    const nearest = Math.max(...ahead.keys());
    const pred = ahead.get(nearest)!;
    const remaining = deadline - Date.now();
    if (remaining <= 0)
      throw new LockTimeoutException(`The lock '${name}' still had ${ahead.size} waiter(s) ahead of ticket ${ticket.ticket}; gave up.`);
    const untilExpiry = pred.expiresAt === null ? MAX_WAIT_MS : pred.expiresAt - Date.now() + EXPIRY_SLACK_MS;
    const timeoutMs = Math.max(1, Math.min(remaining, untilExpiry, MAX_WAIT_MS));
    const signal = anySignal(leaseSignal, callerSignal);
    let change: ChangeResult<QueueRecord>;
    try {
      change = await client.waitForChange<QueueRecord>(pred.key, pred.index, { timeoutMs, signal });
    } catch (err) {
      // An abort of the wait because our own lease was lost reports that, not a bare abort.
      if (leaseSignal.aborted) throw leaseSignal.reason;
      throw err;
    }
    // Released by a holder: every earlier item was gone when it took the lock. Ours now.
    if (isReleased(change.item)) return;
    if (change.item) {
      // Renewed (or not yet changed): wait again with what it is now.
      ahead.set(nearest, { key: pred.key, index: change.item.index, expiresAt: expiryOf(change.item.metadata) });
      continue;
    }
    ahead.delete(nearest);
    if (ahead.size === 0) return;
    // The nearest left while earlier ones may remain (it died or gave up while waiting):
    // find out which of them are still there.
    const tickets = [...ahead.keys()];
    const items = await client.getMany<QueueRecord>(
      tickets.map((n) => ahead.get(n)!.key),
      { signal: callerSignal },
    );
    tickets.forEach((n, i) => {
      const item = items[i];
      if (item && !isReleased(item)) ahead.set(n, { key: item.key, index: item.index, expiresAt: expiryOf(item.metadata) });
      else ahead.delete(n);
    });
  }
}

/** The first of two signals to abort (AbortSignal.any where present). */
function anySignal(a: AbortSignal, b: AbortSignal | undefined): AbortSignal {
  return b ? AbortSignal.any([a, b]) : a;
}

class HeldFairLock implements FairLock {
  index: number;
  expiresAt: number;
  readonly keepAlive: KeepAlive;
  private record: QueueRecord;
  /** Writes on our own item run one after another, so each compares against the last index. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: CmpxchgApi,
    readonly name: string,
    private readonly ticket: Ticket,
    private readonly ttlMs: number,
    renewing: boolean,
  ) {
    this.index = ticket.index;
    this.expiresAt = ticket.expiresAt;
    this.record = ticket.record;
    this.keepAlive = new KeepAlive(
      () => this.write(this.record, this.ttlMs),
      { ttlMs, expiresAt: ticket.expiresAt },
      `the lock '${name}' (ticket ${ticket.ticket})`,
      renewing,
    );
  }

  get key(): string {
    return this.ticket.key;
  }
  get token(): number {
    return this.ticket.ticket;
  }
  get owner(): string {
    return this.record.owner;
  }
  get signal(): AbortSignal {
    return this.keepAlive.signal;
  }

  async renew(ttlMs = this.ttlMs): Promise<void> {
    const expiry = await this.write(this.record, ttlMs);
    if (expiry === null) this.lost();
    this.keepAlive.extended(expiry!);
  }

  async setValue(value: unknown): Promise<void> {
    const expiry = await this.write({ ...this.record, value }, this.ttlMs);
    if (expiry === null) this.lost();
    this.keepAlive.extended(expiry!);
  }

  /** Marks the item released (see the header): conditional on our index, so a lapsed lease fails. */
  async release(): Promise<boolean> {
    await this.keepAlive.stop();
    const released: QueueRecord = { ...this.record, released: true };
    const result = await this.serial(() => this.client.put(this.key, released, this.index, expiresIn(RELEASED_LINGER_MS)));
    return result.successful && !this.signal.aborted && Date.now() < this.expiresAt;
  }

  /**
   * Leaves the queue without having held the lock (gave up, or its lease was lost while waiting):
   * a delete, which tells the successor nothing about the items before ours.
   */
  async leave(): Promise<void> {
    await this.keepAlive.stop();
    await this.serial(() => this.client.delete(this.key, this.index));
  }

  private lost(): never {
    const err = new LockLostException(`The lock '${this.name}' (ticket ${this.token}) was lost: its lease expired.`);
    this.keepAlive.lose(err.message);
    throw err;
  }

  /** Conditional on our index: an expired item (absent) or someone else's fails, never overwritten. */
  private write(record: QueueRecord, ttlMs: number): Promise<number | null> {
    return this.serial(async () => {
      const metadata: Metadata = expiresIn(ttlMs);
      const result = await this.client.put(this.key, record, this.index, metadata);
      if (!result.successful) return null;
      this.index = result.index;
      this.record = record;
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

/** The live queue items of a lock, in ticket order (the first is the holder or leader). */
export async function queueOf<T = QueueRecord>(
  client: CmpxchgApi,
  keys: LockKeys,
  signal?: AbortSignal,
): Promise<CompareExchangeValue<T>[]> {
  const items: CompareExchangeValue<T>[] = [];
  for await (const item of client.listAll<T>(keys.queue, { pageSize: 0, signal })) if (!isReleased(item)) items.push(item);
  return items.sort((a, b) => ticketOf(a) - ticketOf(b));
}
