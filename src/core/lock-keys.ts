/**
 * The lock-key encoding of a shard's `locks` table, and the atomic-guard key of a document: the
 * one place that knows how a compare-exchange key or a document key becomes a lock key.
 *
 * Compare-exchange items and documents have separate key spaces (an item `users/1` and a document
 * `users/1` are different things), so a lock key carries a one-letter space and a colon:
 * `c:<lower-cased item key>`, `d:<lower-cased document key>`. Lock keys sort as text, so every
 * lock of one space lies in [`c:`, `c;`) or [`d:`, `d;`): `;` is the character after `:`.
 *
 * Pure: no Workers API; the shard store builds its SQL from these.
 */
import { ATOMIC_GUARD_PREFIX } from "./key-hash";
import type { TxOp } from "./transaction";

/** Defined beside the routing hash (key-hash.ts), which routes guards beside their documents. */
export { ATOMIC_GUARD_PREFIX };

/** Prefix of the lock keys of compare-exchange items. */
export const ITEM_LOCK_PREFIX = "c:";
/** Prefix of the lock keys of documents. */
export const DOC_LOCK_PREFIX = "d:";
/** Exclusive end of the item lock space: the prefix with its colon raised to `;`. */
export const ITEM_LOCKS_END = "c;";
/** Exclusive end of the document lock space. */
export const DOC_LOCKS_END = "d;";

/** The atomic-guard item key of a (lower-cased) document key. */
export function atomicGuardKey(docKey: string): string {
  return ATOMIC_GUARD_PREFIX + docKey;
}

/** The lock key of a lower-cased compare-exchange key. */
export function itemLockKey(key: string): string {
  return `${ITEM_LOCK_PREFIX}${key}`;
}

/** The lock key of a lower-cased document key. */
export function docLockKey(key: string): string {
  return `${DOC_LOCK_PREFIX}${key}`;
}

/** The lock keys a document read must see settled: the document's, and its atomic guard's. */
export function docReadLockKeys(key: string): string[] {
  return [docLockKey(key), itemLockKey(atomicGuardKey(key))];
}

/** The lock-table key of an op: compare-exchange items and documents have separate spaces. */
export function lockKey(op: Pick<TxOp, "kind" | "key">): string {
  return op.kind === "doc-put" || op.kind === "doc-delete" ? docLockKey(op.key) : itemLockKey(op.key);
}

/**
 * The lock-key range of the item keys in [`from`, `upper`) (`upper` null: to the end of the
 * item space), for a listing that must settle the locks in its range first.
 */
export function itemLockRange(from: string, upper: string | null): { from: string; to: string } {
  return { from: itemLockKey(from), to: upper === null ? ITEM_LOCKS_END : itemLockKey(upper) };
}
