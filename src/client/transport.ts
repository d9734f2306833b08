/**
 * One HTTP exchange with retries: per-attempt timeouts, backoff with jitter, optional bearer token,
 * failed responses turned into typed errors. The caller decides what an attempt looks like
 * (method, path, body); every attempt of one call is byte-for-byte the same request, which is
 * what makes retrying a write safe (its `raft-request-id` is in the path).
 */
import { errorFromResponse, NetworkException, RavenException } from "./errors.js";
import { backoffDelay, DEFAULT_BACKOFF, isRetryableStatus, retryAfterMs, sleep, type BackoffOptions } from "./retry.js";

/** The one thing the client needs from its platform. A Service Binding's `fetch` fits. */
export type FetchLike = (request: Request) => Promise<Response>;

export interface TransportOptions {
  /** Base URL of the service, e.g. `https://cmpxchg.example.com` (a trailing slash is fine). */
  url: string;
  fetch?: FetchLike;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Per-attempt timeout in ms (default 10 000). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  backoff?: BackoffOptions;
}

export interface Exchange {
  method: "GET" | "PUT" | "DELETE" | "POST";
  /** Path and query, starting with `/`. */
  path: string;
  body?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Overrides the per-attempt timeout (long polls need more than the default). */
  timeoutMs?: number;
  /** Statuses that are answers rather than failures (e.g. 404 for a get). 2xx always are. */
  accept?: number[];
}

export interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

const RETRY_AFTER_CAP_MS = 5_000;

export class Transport {
  readonly base: string;
  private readonly fetchImpl: FetchLike;
  private readonly token: string | undefined;
  readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoff: BackoffOptions;

  constructor(options: TransportOptions) {
    this.base = options.url.replace(/\/+$/, "");
    // Wrapped, not stored bare: Workers throw "Illegal invocation" for an unbound global fetch.
    this.fetchImpl = options.fetch ?? ((request) => fetch(request));
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = Math.max(0, options.retries ?? 3);
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  /** Headers every request carries. */
  headers(extra: Record<string, string> = {}): Headers {
    const headers = new Headers(extra);
    if (this.token) headers.set("Authorization", `Bearer ${this.token}`);
    return headers;
  }

  /** Sends one request, unchanged, until it gets an answer or the retries run out. */
  async send(exchange: Exchange): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.retries;
      let answer: Answer;
      try {
        answer = await this.attempt(exchange);
      } catch (err) {
        // The caller's own abort is a decision, not a failure: never retried.
        if (exchange.signal?.aborted) throw exchange.signal.reason;
        if (last) {
          throw new NetworkException(`No answer from ${exchange.method} ${exchange.path}: ${describe(err)}`, { cause: err });
        }
        await sleep(backoffDelay(attempt, this.backoff), exchange.signal);
        continue;
      }
      const { status } = answer;
      if ((status >= 200 && status < 300) || exchange.accept?.includes(status)) return answer;
      const databaseMissing = answer.headers.has("Database-Missing");
      if (last || !isRetryableStatus(status, databaseMissing)) {
        throw errorFromResponse(status, answer.text, databaseMissing);
      }
      const wait = Math.max(backoffDelay(attempt, this.backoff), retryAfterMs(answer.headers.get("Retry-After"), RETRY_AFTER_CAP_MS) ?? 0);
      await sleep(wait, exchange.signal);
    }
  }

  /** Opens a raw request (a WebSocket upgrade): no timeout signal, which would tear the socket down. */
  async open(path: string, headers: Record<string, string>): Promise<Response> {
    return this.fetchImpl(new Request(this.base + path, { headers: this.headers(headers) }));
  }

  private async attempt(exchange: Exchange): Promise<Answer> {
    exchange.signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(exchange.timeoutMs ?? this.timeoutMs);
    const signal = exchange.signal ? anySignal([exchange.signal, timeout]) : timeout;
    const headers = this.headers(exchange.headers);
    const request = new Request(this.base + exchange.path, {
      method: exchange.method,
      headers,
      body: exchange.body,
      signal,
    });
    // Raced, not only signalled: not every fetch (a Service Binding's, the app in process, a
    // test double) gives up on abort. The body is read inside the attempt, so a stalled body
    // counts against the timeout too.
    const response = await raceAbort(this.fetchImpl(request), signal);
    const text = await raceAbort(response.text(), signal);
    return { status: response.status, text, headers: response.headers };
  }
}

/** Aborts when any of the signals does. `AbortSignal.any` where the platform has it. */
export function anySignal(signals: AbortSignal[]): AbortSignal {
  const any = (AbortSignal as { any?: (s: AbortSignal[]) => AbortSignal }).any;
  if (any) return any.call(AbortSignal, signals);
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  // An abandoned promise may still reject later; that must not surface as unhandled.
  promise.catch(() => {});
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

function describe(err: unknown): string {
  if (err instanceof RavenException) return err.message;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
