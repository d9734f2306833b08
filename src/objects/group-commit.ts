/**
 * Group commit for a shard's single-key writes.
 *
 * Every storage transaction of a SQLite-backed object ends in a WAL append and an fsync on the
 * object's thread: about 0.4 ms here, as much as all the rest of a write's work (BENCHMARKS.md).
 * Writes that arrive while earlier ones wait are therefore queued and applied together, in
 * arrival order, inside ONE outer storage transaction, so N writes pay for one commit.
 *
 * What this does not change:
 *  - each write still runs as its own nested transaction (a savepoint): it reads, compares and
 *    writes with nothing interleaved, and if it throws only its own changes roll back and only its
 *    caller sees the error;
 *  - a write is answered only after the outer transaction has committed (the object's output gate
 *    holds every reply until storage confirms), so nothing acknowledged can be lost, and a crash
 *    before the commit loses only unacknowledged writes — all of the batch or none of it;
 *  - the order of the writes is the order they were submitted in; each write's effect takes place
 *    between its call and its reply, so the history stays linearizable.
 *
 * Waiting costs latency: the runtime's timers have a granularity of about a millisecond, so even
 * a zero-delay timer adds ~1.2 ms, which at one client would halve throughput (measured). So a
 * write waits only when its thread is busy with writes: when another write (to any object of this
 * isolate) arrived in the same millisecond — Date.now() advances only between I/O events, so
 * writes delivered in one burst see the same instant — or is already waiting in a batch.
 * Otherwise it commits at once, alone, exactly as without grouping. The signal is per isolate,
 * not per object, because objects that share an isolate share its one thread (locally: every
 * shard of every database): when that thread is the bottleneck, fewer commits is the gain.
 *
 * A waiting batch is flushed by a zero-delay timer, which fires once the runtime has worked
 * through the calls already queued: exactly the set that can share the commit. A full batch is
 * flushed at once, so a flood cannot grow a batch (and its replies' latency) without bound.
 */

/** Writes arriving less than this far apart (ms) are grouped; sparser ones commit at once. */
export const BUSY_MS = 1;
/**
 * Waiting writes but no flush anywhere for this long (ms) means a batch was abandoned — its
 * object was aborted before the timer fired — and must stop counting as traffic.
 */
export const STALE_MS = 1_000;

/** The write traffic of one isolate: when a write last arrived, and how many wait in batches. */
export class Traffic {
  private lastArrival = -Infinity;
  /** When writes last started waiting from none, or a batch last flushed. */
  private progressAt = -Infinity;
  /** Writes queued in any batch of this isolate and not yet committed. */
  private waiting = 0;

  /** `now` is the clock that tells arrivals apart (tests pin it). */
  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Records an arrival; true when the thread is busy with writes, so this one should wait. */
  arrive(): boolean {
    const now = this.now();
    // Only a heuristic: forgetting an abandoned batch costs nothing but a missed grouping.
    if (this.waiting > 0 && now - this.progressAt > STALE_MS) this.waiting = 0;
    const busy = this.waiting > 0 || now - this.lastArrival < BUSY_MS;
    this.lastArrival = now;
    if (this.waiting === 0) this.progressAt = now;
    this.waiting += 1;
    return busy;
  }

  /** A batch of `count` writes was committed or failed: they no longer wait. */
  flushed(count: number): void {
    this.waiting = Math.max(0, this.waiting - count);
    this.progressAt = this.now();
  }

  /** Writes counted as waiting (for tests). */
  get pending(): number {
    return this.waiting;
  }
}

/** Shared by every GroupCommit of this isolate. */
const isolateTraffic = new Traffic();

interface Pending<T> {
  step: () => T;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  /** Runs the whole batch: one storage transaction (the shard's `sync`, which also restores its counter mirror). */
  outer: <R>(fn: () => R) => R;
  /** Runs one write inside the batch: a nested transaction, rolled back alone when it throws. */
  inner: <R>(fn: () => R) => R;
  /** Largest batch; a queue this long is flushed without waiting for the timer. */
  maxBatch?: number;
  /** Whose traffic decides when to wait: the isolate's by default (tests bring their own). */
  traffic?: Traffic;
}

export class GroupCommit {
  private queue: Pending<unknown>[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly maxBatch: number;
  private readonly traffic: Traffic;
  /** Batches flushed, writes in them and the largest batch so far (for tests and diagnosis). */
  readonly counts = { batches: 0, writes: 0, largest: 0 };

  constructor(private readonly options: GroupCommitOptions) {
    this.maxBatch = options.maxBatch ?? 128;
    this.traffic = options.traffic ?? isolateTraffic;
  }

  /** Queues a synchronous write step; resolves with its result after the batch has committed. */
  submit<T>(step: () => T): Promise<T> {
    const busy = this.traffic.arrive();
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ step, resolve, reject } as Pending<unknown>);
      if (this.queue.length >= this.maxBatch || (!busy && this.timer === null)) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), 0);
    });
  }

  /**
   * Commits the queued writes now, if any. A read calls this first: it then sees every write that
   * arrived before it instead of the state before the batch (a stale read would be legal, since
   * none of those writes has answered yet, but it turns the read-then-write cycles of contended
   * keys into conflicts), and the batch stops waiting for the timer.
   */
  flushPending(): void {
    if (this.queue.length > 0) this.flush();
  }

  /** Applies every queued write in one outer transaction and settles each caller. */
  private flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.traffic.flushed(batch.length);
    let results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[];
    try {
      // A batch of one needs no savepoint of its own: the outer transaction is exactly its own.
      results =
        batch.length === 1
          ? [{ ok: true, value: this.options.outer(batch[0]!.step) }]
          : this.options.outer(() =>
              batch.map((p) => {
                try {
                  return { ok: true as const, value: this.options.inner(p.step) };
                } catch (error) {
                  return { ok: false as const, error };
                }
              }),
            );
    } catch (error) {
      // The commit (or a lone write) failed: nothing of the batch is stored, every caller hears so.
      for (const p of batch) p.reject(error);
      return;
    }
    this.counts.batches += 1;
    this.counts.writes += batch.length;
    this.counts.largest = Math.max(this.counts.largest, batch.length);
    batch.forEach((p, i) => {
      const r = results[i]!;
      if (r.ok) p.resolve(r.value);
      else p.reject(r.error);
    });
  }
}
