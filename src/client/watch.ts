/**
 * Change streams over a WebSocket: every put, delete and expiry of one key or of a key prefix, as
 * an async iterator. The server pushes JSON text messages `{Type, Key, Index, Value}`.
 *
 * No resumption: the server keeps no replay log, so events that happen while no socket is open
 * are not delivered. A stream that closes abnormally therefore ends with an error (the caller
 * re-reads current state and watches again) rather than reconnecting silently.
 */
import { errorFromResponse, NetworkException } from "./errors.js";
import type { Transport } from "./transport.js";
import type { ChangeEvent, WatchOptions, WatchTarget } from "./types.js";
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

/** An async iterator of changes. Connects on creation; `ready` settles when the socket is open. */
export class ChangeStream<T = unknown> implements AsyncIterableIterator<ChangeEvent<T>> {
  /** Resolves once the server accepted the subscription; rejects if it refused or was unreachable. */
  readonly ready: Promise<void>;
  private readonly queue: ChangeEvent<T>[] = [];
  private readonly waiters: { resolve: (r: IteratorResult<ChangeEvent<T>>) => void; reject: (e: unknown) => void }[] = [];
  private socket: WebSocket | null = null;
  private finished = false;
  private failure: unknown = null;

  constructor(connect: () => Promise<WebSocket>, options: WatchOptions = {}) {
    this.ready = connect().then(
      (socket) => this.attach(socket),
      (err) => {
        this.fail(err);
        throw err;
      },
    );
    // Callers that only iterate still see the failure from next(); do not report it twice.
    this.ready.catch(() => {});
    options.signal?.addEventListener("abort", () => void this.return(), { once: true });
    if (options.signal?.aborted) void this.return();
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
    try {
      this.socket?.close(1000, "done");
    } catch {
      // Already closed.
    }
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private attach(socket: WebSocket): void {
    if (this.finished) {
      socket.close(1000, "done");
      return;
    }
    this.socket = socket;
    socket.addEventListener("message", (event: MessageEvent) => {
      if (typeof event.data !== "string") return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        return; // Not a change (a keep-alive, a future message kind): nothing to deliver.
      }
      const change = readChangeEvent<T>(parsed);
      if (change) this.deliver(change);
    });
    socket.addEventListener("close", (event: CloseEvent) => {
      if (event.code === 1000 || this.finished) this.finish();
      else this.fail(new NetworkException(`The change stream closed (${event.code} ${event.reason}); changes may have been missed.`));
    });
    socket.addEventListener("error", () => this.fail(new NetworkException("The change stream failed; changes may have been missed.")));
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
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
  }

  private fail(err: unknown): void {
    if (this.finished) return;
    this.failure = err;
    this.finished = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
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
