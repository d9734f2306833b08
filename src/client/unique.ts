/**
 * Unique values (emails, usernames, seat numbers): the value is a key, e.g. `emails/ada@x.com`,
 * and its item names the owner. A create succeeds for exactly one owner.
 *
 * `reserveUniqueWithDocument` does what RavenDB's documentation does with two steps (reserve,
 * then store the user, and roll back by hand if the store fails) in one cluster-wide transaction:
 * the reservation and the document commit together or not at all.
 */
import type { CmpxchgApi } from "./api.js";
import { ClusterTransactionConcurrencyException } from "./errors.js";
import type { ConcurrencyViolation, Metadata } from "./types.js";

export interface UniqueReservation {
  /** True when `owner` holds the key now (also when it already held it before this call). */
  reserved: boolean;
  key: string;
  /** The current owner, null if nobody holds the key. */
  owner: string | null;
  /** The item's index, 0 if it does not exist. */
  index: number;
}

export interface UniqueDocumentReservation extends UniqueReservation {
  /** What failed when `reserved` is false: the key taken, the document id taken, or both. */
  violations: ConcurrencyViolation[];
}

/**
 * Reserves `key` for `owner`. Reserving again for the same owner succeeds (a retry after a lost
 * reply must not report the caller's own reservation as taken).
 */
export async function reserveUnique(client: CmpxchgApi, key: string, owner: string, metadata?: Metadata): Promise<UniqueReservation> {
  const result = await client.create<string>(key, owner, metadata);
  const current = result.successful ? owner : result.value;
  return { reserved: current === owner, key, owner: current, index: result.index };
}

/**
 * Frees `key` if `owner` still holds it. Returns whether it did. Conditional on the index read, so
 * a key that changed hands in between is left alone.
 */
export async function releaseUnique(client: CmpxchgApi, key: string, owner: string): Promise<boolean> {
  // Re-read on a lost race: the item may have been renewed by the same owner in between.
  for (let attempt = 0; attempt < 3; attempt++) {
    const item = await client.get<string>(key);
    if (!item || item.value !== owner) return false;
    const result = await client.delete(key, item.index);
    if (result.successful) return true;
  }
  return false;
}

/**
 * Reserves `key` for `owner` and stores the document `docId` (in `collection`) in one
 * cluster-wide transaction. The document must not exist yet. When either is taken, nothing is
 * written and `violations` says which.
 */
export async function reserveUniqueWithDocument(
  client: CmpxchgApi,
  key: string,
  owner: string,
  docId: string,
  doc: Record<string, unknown>,
  collection: string,
): Promise<UniqueDocumentReservation> {
  try {
    const committed = await client.transaction().create(key, owner).putDocument(docId, doc, { collection }).commit();
    return { reserved: true, key, owner, index: committed.index, violations: [] };
  } catch (err) {
    if (!(err instanceof ClusterTransactionConcurrencyException)) throw err;
    // Report who holds the key now (if anyone), for the caller's message.
    const current = await client.get<string>(key);
    return { reserved: false, key, owner: current?.value ?? null, index: current?.index ?? 0, violations: err.violations };
  }
}
