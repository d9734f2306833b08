/**
 * Read-modify-write: `update(key, fn)` reads the item, computes the new value and writes it on
 * condition that the index is still the one read; on a lost race it retries with what the failed
 * write reported (no second read), after a jittered backoff, until it wins or the deadline passes.
 * `updateMany` does the same over several keys in one cluster-wide transaction (etcd's STM).
 */
import type { CmpxchgApi } from "./api.js";
import { ClusterTransactionConcurrencyException, ConcurrencyException } from "./errors.js";
import { backoffDelay, sleep, type BackoffOptions } from "./retry.js";
import type { CompareExchangeValue, Metadata } from "./types.js";

export interface UpdateOptions {
  /** Give up (ConcurrencyException) when still losing after this long (default 10 000 ms). */
  deadlineMs?: number;
  /** Backoff between attempts (default 5 ms doubling to 250 ms, with jitter). */
  backoff?: BackoffOptions;
  /** The written item's metadata (default: the current item's, unchanged). */
  metadata?: (current: CompareExchangeValue | null) => Metadata | undefined;
  signal?: AbortSignal;
}

/** Returned by an update function to leave the item as it is (no write, no retry). */
export const SKIP: unique symbol = Symbol("skip");

export interface UpdateResult<T> {
  /** False when `fn` returned SKIP. */
  written: boolean;
  value: T | null;
  index: number;
  attempts: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 5, maxMs: 250 };
const DEFAULT_DEADLINE_MS = 10_000;

/**
 * Applies `fn` to the current value (null when absent) and writes the result conditionally,
 * retrying on conflict. `fn` may run several times and must not have side effects.
 */
export async function update<T>(
  client: CmpxchgApi,
  key: string,
  fn: (current: T | null, item: CompareExchangeValue<T> | null) => T | typeof SKIP,
  options: UpdateOptions = {},
): Promise<UpdateResult<T>> {
  const deadline = Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINE_MS);
  let item = await client.get<T>(key, { signal: options.signal });
  for (let attempt = 1; ; attempt++) {
    const next = fn(item?.value ?? null, item);
    if (next === SKIP) return { written: false, value: item?.value ?? null, index: item?.index ?? 0, attempts: attempt };
    const metadata = options.metadata ? options.metadata(item) : item?.metadata;
    const result = await client.put<T>(key, next, item?.index ?? 0, hasEntries(metadata) ? metadata : undefined, {
      signal: options.signal,
    });
    if (result.successful) return { written: true, value: next, index: result.index, attempts: attempt };
    // The failed write reports the current item (index 0 when absent): the next attempt's input.
    item = result.index === 0 ? null : { key, value: result.value as T, metadata: result.metadata, index: result.index };
    await pause(attempt, deadline, options, `update of '${key}'`);
  }
}

/**
 * Multi-key read-modify-write in one cluster-wide transaction. `fn` gets the current values
 * (null when absent) and returns the keys to change: a value to write, null to delete; keys it
 * leaves out are written back unchanged, so that they too are conditions of the transaction (a
 * key that was absent and stays absent is not a condition: that needs a check-only command).
 */
export async function updateMany<T>(
  client: CmpxchgApi,
  keys: string[],
  fn: (current: Record<string, T | null>) => Record<string, T | null> | typeof SKIP,
  options: Omit<UpdateOptions, "metadata"> = {},
): Promise<{ written: boolean; index: number; attempts: number }> {
  const deadline = Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINE_MS);
  for (let attempt = 1; ; attempt++) {
    const items = await client.getMany<T>(keys, { signal: options.signal });
    const current: Record<string, T | null> = {};
    keys.forEach((key, i) => (current[key] = items[i]?.value ?? null));
    const changes = fn({ ...current });
    if (changes === SKIP) return { written: false, index: 0, attempts: attempt };
    const tx = client.transaction();
    keys.forEach((key, i) => {
      const item = items[i] ?? null;
      const meta = hasEntries(item?.metadata) ? item!.metadata : undefined;
      if (key in changes) {
        const value = changes[key];
        if (value === null || value === undefined) {
          if (item) tx.delete(key, item.index);
        } else tx.put(key, value, item?.index ?? 0, meta);
      } else if (item) tx.put(key, item.value, item.index, meta);
    });
    if (tx.size === 0) return { written: false, index: 0, attempts: attempt };
    try {
      const committed = await tx.commit({ signal: options.signal });
      return { written: true, index: committed.index, attempts: attempt };
    } catch (err) {
      if (!(err instanceof ClusterTransactionConcurrencyException)) throw err;
    }
    await pause(attempt, deadline, options, `update of ${keys.length} keys`);
  }
}

async function pause(attempt: number, deadline: number, options: UpdateOptions, what: string): Promise<void> {
  const left = deadline - Date.now();
  if (left <= 0) throw new ConcurrencyException(`The ${what} lost to concurrent writes for ${attempt} attempts until its deadline.`);
  await sleep(Math.min(left, backoffDelay(attempt - 1, options.backoff ?? DEFAULT_BACKOFF)), options.signal);
}

function hasEntries(metadata: Metadata | undefined): metadata is Metadata {
  return metadata !== undefined && Object.keys(metadata).length > 0;
}
