/**
 * Leader election on the fair lock's queue (as etcd's Election is built on its Mutex's keys):
 * candidates queue; the first live item is the leader; its ticket is the leader's fencing token.
 * `campaign` resolves when the caller leads, `proclaim` changes the leader's value without giving
 * up leadership, `resign` leaves, and `observe` streams every change of leader or value.
 *
 * A leader that dies stops renewing; when its lease lapses the next candidate (whose wait is
 * capped at that expiry) leads, and observers see the new leader.
 */
import { expiryOf, type CmpxchgApi } from "./api.js";
import { acquireFairLock, lockKeys, queueOf, ticketOf, type FairLock, type LockKeys, type QueueRecord } from "./fair-lock.js";
import { sleep } from "./retry.js";
import type { WatchOptions, WatchTarget } from "./types.js";
import type { ChangeStream } from "./watch.js";

export interface ElectionOptions {
  /** Lease length of each candidate's item (renewed at a third of it). */
  ttlMs: number;
  /** Key prefix (default `elections/`). */
  prefix?: string;
}

export interface CampaignOptions {
  /** Who campaigns, stored for observers (default: a random id). */
  owner?: string;
  /** Stop campaigning when aborted (the candidate's item is deleted). */
  signal?: AbortSignal;
  /** How long to wait to lead (default: until the signal). */
  waitMs?: number;
}

/** A leader as observers see it. */
export interface Leader<T = unknown> {
  owner: string;
  value: T;
  /** The leader's fencing token (its ticket), strictly increasing across leaders. */
  token: number;
  key: string;
}

/** Leadership held by this caller. */
export interface Leadership<T = unknown> {
  readonly token: number;
  readonly owner: string;
  /** Aborted when the lease is lost: stop acting as leader. */
  readonly signal: AbortSignal;
  /** Announces a new value while keeping leadership. Throws LockLostException if it was lost. */
  proclaim(value: T): Promise<void>;
  /** Steps down; the next candidate leads. */
  resign(): Promise<void>;
}

const EXPIRY_SLACK_MS = 25;
const MAX_WAIT_MS = 60_000;
/** How often an observer looks for a first candidate while nobody leads, with a client that cannot watch. */
const IDLE_LOOK_MS = 1_000;

export class Election<T = unknown> {
  private readonly keys: LockKeys;

  constructor(
    private readonly client: CmpxchgApi,
    readonly name: string,
    private readonly options: ElectionOptions,
  ) {
    this.keys = lockKeys(name, options.prefix ?? "elections/");
  }

  /** Queues as a candidate with `value` and resolves once leading. */
  async campaign(value: T, options: CampaignOptions = {}): Promise<Leadership<T>> {
    const lock = await acquireFairLock(this.client, this.name, {
      ttlMs: this.options.ttlMs,
      waitMs: options.waitMs ?? Number.MAX_SAFE_INTEGER,
      owner: options.owner,
      prefix: this.options.prefix ?? "elections/",
      signal: options.signal,
      value,
    });
    return new HeldLeadership<T>(lock);
  }

  /** The current leader, null when there is no candidate. */
  async leader(signal?: AbortSignal): Promise<Leader<T> | null> {
    const [first] = await queueOf<QueueRecord>(this.client, this.keys, signal);
    return first ? toLeader<T>(first) : null;
  }

  /**
   * Every leader (and every proclaimed value) from now on, until the signal aborts or the
   * iteration is left. Long-polls the leader's item, so a quiet election costs one open request,
   * not polling; while nobody leads it watches the queue's prefix (see `untilCandidate`).
   */
  async *observe(signal?: AbortSignal): AsyncGenerator<Leader<T>> {
    let last: string | null = null;
    while (!signal?.aborted) {
      let leader: Leader<T> | null = null;
      try {
        const queue = await queueOf<QueueRecord>(this.client, this.keys, signal);
        const first = queue[0];
        if (first) {
          leader = toLeader<T>(first);
          const seen = JSON.stringify([leader.token, leader.value]);
          if (seen === last) leader = null;
          else last = seen;
        }
        if (leader) yield leader;
        if (first) {
          const expiry = expiryOf(first.metadata);
          const timeoutMs = Math.max(1, Math.min(MAX_WAIT_MS, expiry === null ? MAX_WAIT_MS : expiry - Date.now() + EXPIRY_SLACK_MS));
          await this.client.waitForChange(first.key, first.index, { timeoutMs, signal });
        } else {
          await this.untilCandidate(signal);
        }
      } catch (err) {
        // Stopping through the signal ends the stream; anything else is the caller's to see.
        if (signal?.aborted) return;
        throw err;
      }
    }
  }

  /**
   * Nobody leads: resolves once a candidate may have queued. A candidate's enqueue is a create of
   * a key no one can name in advance (a random id, see fair-lock.ts), so no single key can be
   * long-polled: with a client that has change streams, the queue's prefix is watched (and listed
   * again once the watch is live, for a candidate that came in between); otherwise, or should the
   * watch fail, it looks again after IDLE_LOOK_MS.
   */
  private async untilCandidate(signal?: AbortSignal): Promise<void> {
    const watching = this.client as Partial<Watching>;
    if (typeof watching.watch !== "function") return sleep(IDLE_LOOK_MS, signal);
    const stop = new AbortController();
    try {
      const stream = watching.watch({ prefix: this.keys.queue }, { signal: signal ? AbortSignal.any([stop.signal, signal]) : stop.signal });
      await stream.ready;
      if ((await queueOf(this.client, this.keys, signal)).length > 0) return;
      await stream.next();
    } catch {
      if (!signal?.aborted) await sleep(IDLE_LOOK_MS, signal);
    } finally {
      stop.abort();
    }
  }
}

/** A client with change streams (CmpxchgClient; not every CmpxchgApi has them). */
interface Watching {
  watch(target: WatchTarget, options: WatchOptions): ChangeStream<unknown>;
}

function toLeader<T>(item: { key: string; index: number; value: QueueRecord }): Leader<T> {
  return { owner: item.value.owner, value: item.value.value as T, token: ticketOf(item), key: item.key };
}

class HeldLeadership<T> implements Leadership<T> {
  constructor(private readonly lock: FairLock) {}

  get token(): number {
    return this.lock.token;
  }
  get owner(): string {
    return this.lock.owner;
  }
  get signal(): AbortSignal {
    return this.lock.signal;
  }

  proclaim(value: T): Promise<void> {
    return this.lock.setValue(value);
  }

  async resign(): Promise<void> {
    await this.lock.release();
  }
}
