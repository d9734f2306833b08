/**
 * Batching of one object's messages to another (docs/ARCHITECTURE.md §4.5): a coordinator's
 * prepares, commits, aborts and releases to one shard travel together in one call.
 *
 * An RPC between objects costs the runtime more CPU than the work most of these messages ask for
 * (serialization and dispatch on each side: BENCHMARKS.md, "Where the time goes"), and locally
 * every object shares one thread, so that cost is the ceiling. One call is in flight per
 * destination at a time: a message sent while none is goes at once, alone, with no added wait;
 * messages sent while one is in flight queue and leave together when it returns. Under load the
 * batches grow by themselves and at one client nothing changes (Nagle's algorithm without the
 * timer).
 *
 * Only inside a Durable Object: a stub kept in a field serves later and concurrent requests there,
 * and a flush started by one request goes on if that request is cancelled (measured, see the
 * architecture document); a stateless Worker may not share I/O between requests.
 *
 * Each message gets its own reply, an error as a value, so one message failing fails no other;
 * a call that fails as a whole (the destination crashed) fails every message it carried, exactly
 * as separate calls to a crashed object would.
 */

/** One message's reply across the call: its value, or why it failed. */
export type Reply<R> = { ok: R } | { error: string };

/** At most this many messages in one call; more wait for the next. */
export const MAX_BATCH = 128;

interface Pending<M, R> {
  message: M;
  resolve: (value: R) => void;
  reject: (err: Error) => void;
}

export class Batcher<M, R> {
  private queue: Pending<M, R>[] = [];
  private flushing = false;

  /** `send` carries one batch to the destination and returns a reply per message, in order. */
  constructor(private readonly send: (batch: M[]) => Promise<Reply<R>[]>) {}

  /** Sends a message with the next batch; settles with its own reply. */
  submit(message: M): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Sends batches until the queue is empty: whoever finds no flush running starts one. */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        let replies: Reply<R>[];
        try {
          replies = await this.send(batch.map((p) => p.message));
        } catch (err) {
          const failure = err instanceof Error ? err : new Error(String(err));
          for (const p of batch) p.reject(failure);
          continue;
        }
        batch.forEach((p, i) => {
          const reply = replies[i];
          if (reply && "ok" in reply) p.resolve(reply.ok);
          else p.reject(new Error(reply?.error ?? "no reply for this message"));
        });
      }
    } finally {
      this.flushing = false;
    }
  }
}
