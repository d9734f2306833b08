/**
 * Change streams over a WebSocket: every put, delete and expiry of one key or of a key prefix, as
 * an async iterator. The server pushes JSON text messages `{Type, Key, Index, Value, Cursor}`,
 * after a `{Type: "Ready", Cursor}` that gives the stream's starting position.
 *
 * Resumable: each shard keeps a history of its changes, and `Cursor` is the stream's position in
 * it (one seq per shard, see core/watch-history.ts). When the connection drops, the stream
 * reconnects by itself with the position of the last change it received, and the server replays
 * what came after: no gap, and a change at or before the position is never delivered twice. When
 * the server no longer holds that far back it says HistoryCompacted: the stream ends with
 * HistoryCompactedException, or (`onCompacted: "resync"`) reads the current state and goes on.
 */
import { lowerKey } from "../core/keys.js";
import { COMPACTED_CLOSE, formatCursor, parseCursor, type ShardPosition } from "../core/watch-history.js";
import {
  ArgumentException,
  DatabaseDoesNotExistException,
  errorFromResponse,
  HistoryCompactedException,
  NetworkException,
  RavenException,
} from "./errors.js";
import type { Transport } from "./transport.js";
import type { ChangeEvent, CompareExchangeValue, WatchOptions, WatchTarget } from "./types.js";
import { readChangeEvent } from "./wire.js";

/** The query of a watch request. */
export function watchQuery(target: WatchTarget): string {
  if (typeof target === "string") return `key=${encodeURIComponent(target)}`;
  if ("key" in target) return `key=${encodeURIComponent(target.key)}`;
  return `prefix=${encodeURIComponent(target.prefix)}`;
}

/**
 * Opens the socket. In Workers (and through a Service Binding) a WebSocket is a fetch with
 * `Upgrade: websocket` whose response carries the socket; elsewhere (browsers, Node 22+) it is the
 * standard constructor, which cannot send an Authorization header in browsers.
 */
export async function connectSocket(transport: Transport, path: string, timeoutMs: number): Promise<WebSocket> {
  if (typeof (globalThis as { WebSocketPair?: unknown }).WebSocketPair !== "undefined") {
    // Typed here, not from the Workers types, so the client also compiles for Node and browsers.
    const response = (await withTimeout(transport.open(path, { Upgrade: "websocket" }), timeoutMs, path)) as Response & {
      webSocket?: (WebSocket & { accept(): void }) | null;
    };
    const socket = response.webSocket;
    if (response.status !== 101 || !socket) {
      throw errorFromResponse(response.status, await response.text(), response.headers.has("Database-Missing"));
    }
    socket.accept();
    return socket;
  }
  const url = transport.base.replace(/^http/, "ws") + path;
  const auth = transport.headers().get("Authorization");
  // Node's WebSocket (undici) takes headers in a second-argument object; browsers take none.
  const Ctor = WebSocket as unknown as new (url: string, init?: unknown) => WebSocket;
  const socket = auth ? new Ctor(url, { headers: { Authorization: auth } }) : new Ctor(url);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new NetworkException(`WebSocket to ${path} failed to open`)), { once: true });
    }),
    timeoutMs,
    path,
  );
  return socket;
}

/** Opens a socket for the target, with `query` (`&fromIndex=…&cursor=…`, or "") added to its URL. */
export type Connect = (query: string) => Promise<WebSocket>;

/** What a resync needs: the watched key or prefix, and how to read its current items. */
export interface Resync<T> {
  target: string;
  snapshot: () => Promise<CompareExchangeValue<T>[]>;
}

/** How one connection ended. */
type End =
  | { kind: "closed" }
  | { kind: "dropped"; error: unknown; healthy: boolean }
  | { kind: "compacted"; error: HistoryCompactedException };

const FIRST_RECONNECT_DELAY_MS = 50;

/**
 * An async iterator of changes. Connects on creation; `ready` settles when the server has given
 * the stream its starting position (every change after that instant will be delivered).
 */
export class ChangeStream<T = unknown> implements AsyncIterableIterator<ChangeEvent<T>> {
  /** Resolves once the server accepted the subscription; rejects if it refused or was unreachable. */
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (err: unknown) => void;
  private readonly queue: ChangeEvent<T>[] = [];
  private readonly waiters: { resolve: (r: IteratorResult<ChangeEvent<T>>) => void; reject: (e: unknown) => void }[] = [];
  private socket: WebSocket | null = null;
  private finished = false;
  private failure: unknown = null;
  /** The last seq received per shard (with the end of its fromIndex replay while not done). */
  private readonly position = new Map<number, ShardPosition>();
  /** The server gave a starting position (or the caller did): a reconnection can resume. */
  private positioned = false;
  /** fromIndex: only changes above it. */
  private from: number | null;
  /** Changes held back while a resync reads the snapshot; null when not resyncing. */
  private held: ChangeEvent<T>[] | null = null;
  private snapshotting = false;
  /** Per key, the index the resync's snapshot had: changes at or below it were in it already. */
  private snapshotIndex: Map<string, number> | null = null;
  private wakeSleeper: (() => void) | null = null;

  constructor(
    private readonly connect: Connect,
    private readonly options: WatchOptions = {},
    private readonly resync?: Resync<T>,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Callers that only iterate still see the failure from next(); do not report it twice.
    this.ready.catch(() => {});
    this.from = options.fromIndex ?? null;
    if (options.cursor !== undefined) {
      const cursor = parseCursor(options.cursor);
      if (!cursor) {
        this.fail(new ArgumentException(`cursor is not one a change stream gave: ${JSON.stringify(options.cursor.slice(0, 200))}`));
        return;
      }
      for (const [shard, position] of cursor) this.position.set(shard, position);
      this.positioned = true;
    }
    options.signal?.addEventListener("abort", () => void this.return(), { once: true });
    if (options.signal?.aborted) void this.return();
    else void this.run();
  }

  /**
   * The stream's position: pass it as `cursor` (with the same target and fromIndex) to a later
   * `watch` to go on from here. Opaque; "" before the server gave one.
   */
  get cursor(): string {
    return formatCursor(this.position);
  }

  async next(): Promise<IteratorResult<ChangeEvent<T>>> {
    const queued = this.queue.shift();
    if (queued) return { value: queued, done: false };
    if (this.failure !== null) throw this.failure;
    if (this.finished) return { value: undefined, done: true };
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Closes the socket and ends the iteration (also what `break` in `for await` calls). */
  async return(): Promise<IteratorResult<ChangeEvent<T>>> {
    this.finish();
    closeQuietly(this.socket, 1000, "done");
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Connects, and reconnects after a drop from the position reached, until finished. */
  private async run(): Promise<void> {
    let delay = 0;
    let connected = false;
    while (!this.finished) {
      let socket: WebSocket;
      try {
        socket = await this.connect(this.query());
      } catch (err) {
        // A refusal (bad target, no access, no database) never gets better by retrying.
        if (!connected || !retryable(err) || !this.canResume()) return this.fail(err);
        delay = await this.pause(delay);
        continue;
      }
      connected = true;
      if (this.finished) {
        closeQuietly(socket, 1000, "done");
        return;
      }
      const end = await this.pipe(socket);
      if (this.finished) return;
      if (end.kind === "closed") return this.finish();
      if (end.kind === "compacted") {
        if (this.options.onCompacted !== "resync" || !this.resync) return this.fail(end.error);
        this.startResync();
        delay = 0;
        continue;
      }
      if (this.options.resume === false || !this.canResume()) return this.fail(end.error);
      // A connection the server answered on was healthy: start the back-off again.
      delay = await this.pause(end.healthy ? 0 : delay);
    }
  }

  /** The query that continues the stream: its fromIndex and its position, if any. */
  private query(): string {
    let query = this.from !== null ? `&fromIndex=${this.from}` : "";
    if (this.position.size > 0) query += `&cursor=${encodeURIComponent(this.cursor)}`;
    return query;
  }

  private canResume(): boolean {
    return this.positioned || this.from !== null || this.held !== null;
  }

  /** Waits before the next attempt (doubling, capped); ends early when the stream is finished. */
  private async pause(previous: number): Promise<number> {
    const max = this.options.maxReconnectDelayMs ?? 5_000;
    const delay = Math.min(max, previous === 0 ? FIRST_RECONNECT_DELAY_MS : previous * 2);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      this.wakeSleeper = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeSleeper = null;
    return delay;
  }

  /** Reads one connection until it ends. */
  private pipe(socket: WebSocket): Promise<End> {
    this.socket = socket;
    return new Promise<End>((resolve) => {
      let ended = false;
      /** The server sent something on this connection. */
      let healthy = false;
      const end = (how: End) => {
        if (ended) return;
        ended = true;
        if (this.socket === socket) this.socket = null;
        resolve(how);
      };
      socket.addEventListener("message", (event: MessageEvent) => {
        if (ended || typeof event.data !== "string") return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(event.data);
        } catch {
          return; // Not a change (a keep-alive, a future message kind): nothing to deliver.
        }
        if (!parsed || typeof parsed !== "object") return;
        const message = parsed as Record<string, unknown>;
        healthy = true;
        if (message.Type === "Ready") {
          this.advance(message.Cursor);
          this.positioned = true;
          this.resolveReady();
          if (this.held !== null && !this.snapshotting) void this.takeSnapshot();
          return;
        }
        if (message.Type === "HistoryCompacted") {
          end({ kind: "compacted", error: compactedError(message) });
          closeQuietly(socket, 1000, "history compacted");
          return;
        }
        const change = readChangeEvent<T>(message);
        if (!change) return;
        // At or before the position: received already (before a reconnection).
        if (message.Cursor !== undefined && !this.advance(message.Cursor)) return;
        this.resolveReady(); // a server without Ready messages
        this.accept(change);
      });
      socket.addEventListener("close", (event: CloseEvent) => {
        if (event.code === COMPACTED_CLOSE) end({ kind: "compacted", error: compactedError({}) });
        else if (event.code === 1000) end({ kind: "closed" });
        else end({ kind: "dropped", error: new NetworkException(`The change stream closed (${event.code} ${event.reason}).`), healthy });
      });
      socket.addEventListener("error", () => {
        end({ kind: "dropped", error: new NetworkException("The change stream failed."), healthy });
        closeQuietly(socket, 1000, "failed");
      });
    });
  }

  /**
   * Moves the position to a message's cursor (`<shard>:<seq>[:<until>]` parts); false when it
   * is not past the position (a change already received).
   */
  private advance(raw: unknown): boolean {
    const cursor = typeof raw === "string" ? parseCursor(raw) : null;
    if (!cursor) return true;
    let moved = false;
    for (const [shard, position] of cursor) {
      if (position.seq > (this.position.get(shard)?.seq ?? -1)) {
        this.position.set(shard, position);
        moved = true;
      }
    }
    return moved || cursor.size === 0;
  }

  /** A change received: held during a resync, dropped if the resync's snapshot had it, else delivered. */
  private accept(change: ChangeEvent<T>): void {
    if (this.held !== null) {
      this.held.push(change);
      return;
    }
    const had = this.snapshotIndex?.get(change.key);
    if (had !== undefined && change.index <= had) return;
    this.deliver(change);
  }

  /** The history no longer reaches back: start again from now, and read the state once positioned. */
  private startResync(): void {
    this.position.clear();
    this.from = null;
    this.positioned = false;
    this.held = [];
    this.snapshotting = false;
  }

  private async takeSnapshot(): Promise<void> {
    this.snapshotting = true;
    try {
      const items = await this.resync!.snapshot();
      if (this.finished) return;
      this.snapshotIndex = new Map(items.map((item) => [lowerKey(item.key), item.index]));
      this.deliver({ type: "Reset", key: lowerKey(this.resync!.target), index: -1, value: null, metadata: {} });
      for (const item of items) {
        this.deliver({ type: "Snapshot", key: lowerKey(item.key), index: item.index, value: item.value, metadata: item.metadata });
      }
      const held = this.held ?? [];
      this.held = null;
      for (const change of held) this.accept(change);
    } catch (err) {
      this.fail(err);
      closeQuietly(this.socket, 1000, "failed");
    } finally {
      this.snapshotting = false;
    }
  }

  private deliver(change: ChangeEvent<T>): void {
    if (this.finished) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve({ value: change, done: false });
    else this.queue.push(change);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.resolveReady();
    this.wakeSleeper?.();
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
  }

  private fail(err: unknown): void {
    if (this.finished) return;
    this.failure = err;
    this.finished = true;
    this.rejectReady(err);
    this.wakeSleeper?.();
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }
}

/** Worth another connection: no answer, or a server error that may pass. */
function retryable(err: unknown): boolean {
  if (err instanceof NetworkException) return true;
  if (err instanceof DatabaseDoesNotExistException) return false;
  return err instanceof RavenException && (err.status === undefined || err.status >= 500);
}

function compactedError(message: Record<string, unknown>): HistoryCompactedException {
  const text =
    typeof message.Message === "string"
      ? message.Message
      : "The server no longer holds the changes since this stream's position: read the current state again and watch from there.";
  return new HistoryCompactedException(text, { extra: { OldestIndex: message.OldestIndex ?? -1 } });
}

function closeQuietly(socket: WebSocket | null, code: number, reason: string): void {
  try {
    socket?.close(code, reason);
  } catch {
    // Already closed.
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new NetworkException(`No WebSocket handshake for ${what} within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
