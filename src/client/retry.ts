/**
 * When to retry and how long to wait. Pure, so the policy is testable without a server.
 *
 * Only failures that may heal are retried: no answer at all, and 5xx (except "this database does
 * not exist" and 501). A mutating call is retried with the request id of its first attempt, so a
 * retry of a write that did land returns the first result instead of applying twice.
 */

export interface BackoffOptions {
  /** First delay before jitter (ms). */
  baseMs: number;
  /** Largest delay before jitter (ms). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 50, maxMs: 2_000 };

/** Whether a response with this status may succeed if sent again. */
export function isRetryableStatus(status: number, databaseMissing: boolean): boolean {
  if (databaseMissing) return false;
  if (status === 429) return true;
  return status >= 500 && status !== 501;
}

/**
 * Delay before retry number `attempt` (0 = the first retry): exponential, capped, with "equal
 * jitter" (half fixed, half random) so that clients that failed together do not retry together,
 * while no delay collapses to zero.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

/** A server's `Retry-After` (seconds or an HTTP date), in ms, capped; null when absent or invalid. */
export function retryAfterMs(header: string | null, capMs: number, now = Date.now()): number | null {
  if (!header) return null;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms) || ms < 0) return null;
  return Math.min(ms, capMs);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
