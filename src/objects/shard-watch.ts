/**
 * Change notification inside a shard: long-poll waiters (in memory, woken by every change of
 * their key and by their item's expiry) and hibernatable WebSockets subscribed to a key or a
 * prefix (the runtime keeps them across hibernation; their subscription and position are in the
 * attachment).
 *
 * A change stream is a tail of the shard's change history (store/history.ts), not of the
 * in-memory events: each socket's attachment holds the last seq it was sent, and every publish
 * sends each socket the history rows after it. So a stream gets every change once, in commit
 * order, whatever order the writes' awaits resume in, and a stream that resumes from a cursor or
 * an index replays the history first through the same path.
 */
import { WATCH_REPLAY_BATCH } from "../core/limits";
import type { TxOp } from "../core/transaction";
import { COMPACTED_CLOSE, formatPosition, type Retention } from "../core/watch-history";
import { historyBounds, readHistory, type HistoryRow } from "./shard/store/history";

/** A committed change, as the shard's write paths know it: what wakes waiters and streams. */
export interface ChangeEvent {
  Type: "Put" | "Delete" | "Expire";
  /** Lower-cased key. */
  Key: string;
  Index: number;
  /** The stored body ({"Object":…,"@metadata":…}) as JSON text, null for Delete/Expire. */
  json: string | null;
}

/** A socket's subscription and position, in its attachment. */
export interface Subscription {
  key?: string;
  prefix?: string;
  /** The shard's number, which names the position in cursors. */
  shard: number;
  /** The last history seq sent to the socket (or passed over: it did not match). */
  seq: number;
  /** The watch's fromIndex: up to seq `until`, only changes with an index above it are sent. */
  from: number | null;
  /** Where the fromIndex replay ends (the last seq when the watch began); null once done. */
  until: number | null;
}

/**
 * What a subscriber asks for: where to start (a position in this shard, from a cursor; else the
 * changes above an index; else now).
 */
export interface SubscribeRequest {
  key?: string;
  prefix?: string;
  seq: number | null;
  until: number | null;
  from: number | null;
  /** Send a Ready message with the starting cursor first (key streams; the Worker sends one for a prefix). */
  ready: boolean;
}

export interface WatchSettings {
  retention: Retention;
  /** The shard's number (parsed from its name). */
  shard(): number;
  /** Asks for the alarm at `at` at the latest (it prunes the history). */
  remind(at: number): void;
}

export class ShardWatch {
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Changes, and their characters, since the alarm last pruned, roughly (see `noteChanges`). */
  private sincePrune = 0;
  private bytesSincePrune = 0;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly settings: WatchSettings,
  ) {}

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

  /**
   * Accepts a WebSocket for a key or a prefix (both lower-cased), from a seq of this shard, else
   * from an index, else from now. When the history no longer reaches back that far, the socket
   * gets one HistoryCompacted message and closes with COMPACTED_CLOSE.
   */
  subscribe(request: SubscribeRequest): Response {
    const sql = this.ctx.storage.sql;
    const shard = this.settings.shard();
    const bounds = historyBounds(sql);
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    let start: number;
    let until: number | null = null;
    let compacted: boolean;
    if (request.seq !== null) {
      start = request.seq;
      until = request.from !== null && request.until !== null && request.until > start ? request.until : null;
      // Changes up to bounds.seq are gone; that only matters if one of them would have been sent
      // (not when all were in the replay and at or below its fromIndex).
      const gone = start < bounds.seq && !(until !== null && request.from! >= bounds.index && bounds.seq <= until);
      compacted = gone || start > bounds.head;
    } else if (request.from !== null) {
      start = bounds.seq;
      until = bounds.head > start ? bounds.head : null;
      compacted = request.from < bounds.index;
    } else {
      start = bounds.head;
      compacted = false;
    }
    if (compacted) {
      server.accept();
      server.send(
        JSON.stringify({
          Type: "HistoryCompacted",
          Shard: shard,
          OldestIndex: bounds.index,
          Message: `This shard keeps changes with an index above ${bounds.index} only: read the current state again (a snapshot) and watch from there.`,
        }),
      );
      server.close(COMPACTED_CLOSE, "history compacted");
      return new Response(null, { status: 101, webSocket: client });
    }
    const subscription: Subscription = { shard, seq: start, from: until === null ? null : request.from, until };
    if (request.key !== undefined) subscription.key = request.key;
    else subscription.prefix = request.prefix ?? "";
    this.ctx.acceptWebSocket(server, [request.key !== undefined ? "key" : "prefix"]);
    server.serializeAttachment(subscription);
    const cursor = formatPosition(shard, { seq: start, until });
    if (request.ready) server.send(`{"Type":"Ready","Cursor":"${cursor}"}`);
    this.deliver(server, bounds.head);
    return new Response(null, { status: 101, webSocket: client, headers: { "Watch-Cursor": cursor } });
  }

  /** Tells waiters and subscribers about committed changes. Call after the write is done. */
  publish(events: ChangeEvent[]): void {
    if (events.length === 0) return;
    for (const event of events) {
      const waiters = this.waiters.get(event.Key);
      if (waiters) for (const wake of [...waiters]) wake();
    }
    this.pump();
    this.noteChanges(
      events.length,
      events.reduce((n, event) => n + event.Key.length + (event.json?.length ?? 0), 0),
    );
  }

  /** Sends every socket the history rows it has not been sent yet. */
  pump(): void {
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0) return;
    const { head } = historyBounds(this.ctx.storage.sql);
    for (const socket of sockets) this.deliver(socket, head);
  }

  /** Wakes every waiter (the shard's data was deleted). */
  wakeAll(): void {
    for (const waiters of this.waiters.values()) for (const wake of [...waiters]) wake();
  }

  /** The history was pruned: start counting again. */
  pruned(): void {
    this.sincePrune = 0;
    this.bytesSincePrune = 0;
  }

  /**
   * One socket's next rows, at most a batch per turn (a long replay continues on the next turn,
   * so other calls get the object in between).
   */
  private deliver(socket: WebSocket, head: number): void {
    const sub = socket.deserializeAttachment() as Subscription | null;
    if (!sub) return;
    if (typeof sub.seq !== "number") {
      // Subscribed before streams had positions (a socket kept across the upgrade): from now.
      socket.serializeAttachment({ ...sub, shard: this.settings.shard(), seq: head, from: null, until: null });
      return;
    }
    if (sub.seq >= head) return;
    let rows: HistoryRow[];
    try {
      rows = readHistory(
        this.ctx.storage.sql,
        sub.seq,
        { key: sub.key, prefix: sub.prefix, minIndex: sub.from, until: sub.until },
        WATCH_REPLAY_BATCH,
      );
      for (const row of rows) socket.send(changeJson(row, sub.shard, sub.until));
    } catch {
      return; // A socket closing under us: its close handler cleans up.
    }
    const full = rows.length === WATCH_REPLAY_BATCH;
    // Rows that did not match are passed over too, so that they are not read again.
    const seq = full ? rows[rows.length - 1]!.seq : head;
    const done = sub.until !== null && seq >= sub.until;
    socket.serializeAttachment({ ...sub, seq, ...(done ? { from: null, until: null } : {}) });
    if (full) setTimeout(() => this.pump(), 0);
  }

  /**
   * Asks for the alarm that prunes the history: at once every tenth of the count or size limit
   * (so the history stays near it), else at the latest when the newest change grows too old.
   */
  private noteChanges(count: number, bytes: number): void {
    const { retention } = this.settings;
    this.sincePrune += count;
    this.bytesSincePrune += bytes;
    if (this.sincePrune >= Math.max(1, Math.floor(retention.count / 10)) || this.bytesSincePrune >= retention.maxBytes / 10) {
      this.pruned();
      this.settings.remind(Date.now());
    } else if (retention.maxAgeMs !== null) {
      this.settings.remind(Date.now() + retention.maxAgeMs);
    }
  }
}

/** One change as sent to subscribers; `Cursor` is the stream's position in this shard after it. */
export function changeJson(row: HistoryRow, shard: number, until: number | null): string {
  const cursor = formatPosition(shard, { seq: row.seq, until });
  return `{"Type":"${row.kind}","Key":${JSON.stringify(row.key)},"Index":${row.idx},"Value":${row.value ?? "null"},"Cursor":"${cursor}"}`;
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
