/**
 * Fencing-checked writes: a resource that remembers the largest fencing token it has seen refuses
 * a writer with a smaller one. A lock holder whose lease lapsed while it was paused still
 * believes it holds the lock; its token is smaller than the next holder's, so its write is
 * refused here instead of overwriting the newer holder's work.
 *
 * The item stores `{ token, value }`; the check and the write are one conditional write (update).
 */
import type { CmpxchgApi } from "./api.js";
import { SKIP, update, type UpdateOptions } from "./update.js";

export interface Fenced<T> {
  token: number;
  value: T;
}

export interface FencedWriteResult<T> {
  /** False when a writer with a larger token already wrote. */
  accepted: boolean;
  /** The token stored now. */
  token: number;
  value: T | null;
}

/** Writes `value` to `key` unless the item was written with a larger token than `token`. */
export async function fencedPut<T>(
  client: CmpxchgApi,
  key: string,
  value: T,
  token: number,
  options: UpdateOptions = {},
): Promise<FencedWriteResult<T>> {
  let refusedBy: Fenced<T> | null = null;
  const result = await update<Fenced<T>>(
    client,
    key,
    (current) => {
      refusedBy = null;
      if (current && current.token > token) {
        refusedBy = current;
        return SKIP;
      }
      return { token, value };
    },
    options,
  );
  const stored = refusedBy as Fenced<T> | null;
  if (!result.written && stored) return { accepted: false, token: stored.token, value: stored.value };
  return { accepted: true, token, value };
}
