/**
 * Fair locks: waiters queue in arrival order and each waits only for its predecessor, as etcd's
 * Mutex does by revision, so a release wakes exactly one waiter.
 *
 * Layout under `<prefix>{<name>}/` (the name is the keys' hash tag), one item per waiter or
 * holder under `queue/`, with an `@expires` lease. Every item has a ticket; the holder is the live
 * item with the smallest ticket, and the ticket is the fencing token (strictly increasing per
 * lock, since holders take the lock in ticket order).
 *
 * Every queue item of a lock lies on ONE shard, whose indexes are one total order of its writes: a
 * waiter creates `queue/<random id>` with one plain create, which never conflicts, and its ticket
 * is the index that create returned (as etcd's Mutex orders waiters by create revision). How the
 * keys get onto one shard depends on how the database routes keys (asked once per client,
 * `CmpxchgApi.routing`; fixed for the database's life, so every client of one database agrees):
 *
 * - **Key hash tags** (README, "Co-located keys"): every key of the lock shares the tag `<name>`,
 *   so any random id will do.
 * - **Whole-key routing** (the default): the waiter draws random ids until the key's shard is the
 *   shard of the lock's anchor key `<prefix>{<name>}/seq` (about `shardCount` draws, local hashing
 *   only). The client computes shards with the server's own routing function (src/core/key-hash.ts:
 *   FNV-1a + fmix32 over the lower-cased key, `shardCount` contiguous ranges), which is why that
 *   function and the shard count are a documented contract (README, "Routing contract").
 *
 * The item's index changes when it is renewed, so every later write of the item stores the ticket
 * in its value (`ticket`); an item without one was never rewritten and its index is still its
 * ticket.
 *
 * Earlier versions queued differently in databases without tags: a ticket counter `seq`, taken in
 * one cluster-wide transaction together with the create of `queue/<ticket, 16 digits>` (ticket in
 * the value), so those items lie on any shard. Such items are still honoured, by their stored
 * ticket, like any other: the anchor is the counter's own key, so the anchor shard's index counter
 * (a Lamport clock raised by every transaction that wrote `seq`) is above every ticket the counter
 * ever handed out, and every new ticket is larger than every old one. A lock whose old-scheme
 * items are still queued is thus drained in order before new waiters, and fencing tokens keep
 * increasing across the upgrade. Old and new clients queueing on ONE lock at the same time is not
 * supported (an old client's ticket may fall below a new one's, and each may then think the other
 * is behind it): stop the old clients of a lock before the new ones start.
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
import { wholeKeyShard } from "../core/key-hash.js";
import { lowerKey } from "../core/keys.js";
import { expiresIn, expiryOf, type CmpxchgApi } from "./api.js";
import { LockLostException, LockTimeoutException } from "./errors.js";
import { KeepAlive } from "./lease.js";
import { EXPIRY_SLACK_MS, type Lock } from "./lock.js";
import type { ChangeResult, CompareExchangeValue, DatabaseRouting, Metadata } from "./types.js";

export interface FairLockOptions {
  /** Lease length of the queue item (waiting and holding). */
  ttlMs: number;
  /** How long to wait for the turn (0: only if free now; Infinity: until the signal). */
  waitMs: number;
  /** Stored in the item for operators and observers (default: a random id). */
  owner?: string;
  /** Key prefix (default `locks/`; the queue's keys are `<prefix>{<name>}/queue/…`). */
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

/** The server's longest long-poll. */
const MAX_WAIT_MS = 60_000;

export interface LockKeys {
  /**
   * The key whose shard holds the queue in a database without key hash tags. Never written by
   * this version: it is the name of the earlier versions' ticket counter, kept as the anchor so
   * that new tickets exceed the counter's (see the header).
   */
  anchor: string;
  /** The queue items' prefix. */
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
  return { anchor: `${base}seq`, queue: `${base}queue/` };
}

/** The ticket of a queue item: the one its value records, else its index (see the header). */
export function ticketOf(item: { index: number; value: unknown }): number {
  const stored = (item.value as Partial<QueueRecord> | null)?.ticket;
  return typeof stored === "number" ? stored : item.index;
}

/** Per client: how its database routes keys (fixed for the database's life). */
const routings = new WeakMap<CmpxchgApi, Promise<DatabaseRouting>>();

export function routingOf(client: CmpxchgApi, signal?: AbortSignal): Promise<DatabaseRouting> {
  let known = routings.get(client);
  if (!known) {
    known = client.routing({ signal });
    routings.set(client, known);
    // A failed question is asked again next time, not remembered.
    known.catch(() => routings.delete(client));
  }
  return known;
}

/**
 * Draws a queue key on the anchor's shard (whole-key routing): each random id lands there with
 * probability 1/shardCount, so this takes about shardCount draws of local hashing. The cap is
 * never reached in practice (at 1/shardCount per draw, missing it 64 × shardCount times in a row
 * has probability below e^-64); it only turns a broken routing into an error instead of a spin.
 */
export function queueKeyOnAnchorShard(keys: LockKeys, shardCount: number): string {
  const target = wholeKeyShard(lowerKey(keys.anchor), shardCount);
  for (let draw = 0; draw < 64 * shardCount; draw++) {
    const key = keys.queue + crypto.randomUUID();
    if (wholeKeyShard(lowerKey(key), shardCount) === target) return key;
  }
  throw new Error(`No queue key on shard ${target} of ${shardCount} found for '${keys.queue}'.`);
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

/**
 * Creates the queue item, on the lock's one shard (see the header): one create, whose index is
 * the ticket. Exported for tests that simulate a waiter dying right after it queued.
 */
export async function enqueue(
  client: CmpxchgApi,
  keys: LockKeys,
  record: QueueRecord,
  ttlMs: number,
  signal?: AbortSignal,
): Promise<Ticket> {
  const routing = await routingOf(client, signal);
  const key = routing.keyHashTags ? keys.queue + crypto.randomUUID() : queueKeyOnAnchorShard(keys, routing.shardCount);
  const metadata = expiresIn(ttlMs);
  const created = await client.create(key, record, metadata, { signal });
  // A random key that exists already: not this waiter's, never overwritten.
  if (!created.successful) throw new Error(`The queue item '${key}' of a new waiter already existed.`);
  return { ticket: created.index, key, index: created.index, expiresAt: expiryOf(metadata)!, record: { ...record, ticket: created.index } };
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
