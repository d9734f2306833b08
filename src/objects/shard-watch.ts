/**
 * Change notification inside a shard: long-poll waiters (in memory, woken by every change of
 * their key and by their item's expiry) and hibernatable WebSockets subscribed to a key or a
 * prefix (the runtime keeps them across hibernation; their subscription is in the attachment).
 */
import type { TxOp } from "../core/transaction";

/** What subscribers receive, one JSON text message per change. */
export interface ChangeEvent {
  Type: "Put" | "Delete" | "Expire";
  /** Lower-cased key. */
  Key: string;
  Index: number;
  /** The stored body ({"Object":…,"@metadata":…}) as JSON text, null for Delete/Expire. */
  json: string | null;
}

export interface Subscription {
  key?: string;
  prefix?: string;
}

export class ShardWatch {
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly ctx: DurableObjectState) {}

  /** Resolves at the next change of `key`, at `wakeAt`, whichever comes first. */
  sleep(key: string, wakeAt: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const waiters = set;
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0 && this.waiters.get(key) === waiters) this.waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, wakeAt - Date.now()));
      waiters.add(wake);
    });
  }

  /** Accepts a WebSocket for a key or a prefix (both lower-cased). */
  subscribe(subscription: Subscription): Response {
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [subscription.key !== undefined ? "key" : "prefix"]);
    server.serializeAttachment(subscription);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Tells waiters and subscribers about committed changes. Call after the write is done. */
  publish(events: ChangeEvent[]): void {
    if (events.length === 0) return;
    for (const event of events) {
      const waiters = this.waiters.get(event.Key);
      if (waiters) for (const wake of [...waiters]) wake();
    }
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0) return;
    for (const socket of sockets) {
      const sub = socket.deserializeAttachment() as Subscription | null;
      for (const event of events) {
        if (sub && (sub.key !== undefined ? sub.key === event.Key : event.Key.startsWith(sub.prefix ?? ""))) {
          try {
            socket.send(eventJson(event));
          } catch {
            // A socket closing under us: its close handler cleans up.
          }
        }
      }
    }
  }

  /** Wakes every waiter (the shard's data was deleted). */
  wakeAll(): void {
    for (const waiters of this.waiters.values()) for (const wake of [...waiters]) wake();
  }
}

export function eventJson(event: ChangeEvent): string {
  return `{"Type":"${event.Type}","Key":${JSON.stringify(event.Key)},"Index":${event.Index},"Value":${event.json ?? "null"}}`;
}

/** The changes a committed transaction made to compare-exchange items. */
export function eventsOf(ops: TxOp[], index: number): ChangeEvent[] {
  return ops.flatMap((op): ChangeEvent[] =>
    op.kind === "cmpxchg-put"
      ? [{ Type: "Put", Key: op.key, Index: index, json: op.json }]
      : op.kind === "cmpxchg-delete"
        ? [{ Type: "Delete", Key: op.key, Index: index, json: null }]
        : [],
  );
}
