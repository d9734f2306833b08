/**
 * The read steps of a shard: each first reports the transactions whose locks cover what it
 * reads (a key locked by a prepared transaction is never answered from its pre-transaction
 * state), then reads. One synchronous call each; see steps.ts for `Step`.
 */
import { atomicGuardKey, docLockKey, docReadLockKeys, itemLockKey, itemLockRange } from "../../core/lock-keys";
import { counts } from "./store/admin";
import { countByCollection, type DocRow, readDoc, readDocChangeVector, scanDocs } from "./store/documents";
import { listLiveKeys, readItem } from "./store/items";
import { allLockHolders, blockingTxns, docLockHolders, rangeHolders } from "./store/locks";
import type { Step } from "./steps";
import type { CollectionCount, ListQuery, StoredDoc, StoredItem } from "./types";

/** Items for lower-cased keys (null where absent or expired), unless the values exceed `maxBytes`. */
export function itemsStep(
  sql: SqlStorage,
  keys: string[],
  maxBytes: number,
): Step<{ items: (StoredItem | null)[] } | { overBudget: true }> {
  const blocked = blockingTxns(sql, keys.map(itemLockKey));
  if (blocked.length) return { blocked };
  const now = Date.now();
  const items: (StoredItem | null)[] = [];
  let bytes = 0;
  for (const key of keys) {
    const row = readItem(sql, key, now);
    bytes += row?.value.length ?? 0;
    if (bytes > maxBytes) return { done: { overBudget: true } };
    items.push(row ? { key: row.key, index: row.idx, json: row.value } : null);
  }
  return { done: { items } };
}

/** Keys (with value sizes) of live items under the query's prefix, after the locks in its range. */
export function listKeysStep(sql: SqlStorage, query: ListQuery): Step<{ key: string; bytes: number }[]> {
  const resume = query.after !== undefined && query.after >= query.prefix;
  const from = resume ? query.after! : query.prefix;
  const blocked = rangeHolders(sql, itemLockRange(from, query.upper), resume);
  if (blocked.length) return { blocked };
  return { done: listLiveKeys(sql, from, query.upper, resume, Date.now(), query.limit) };
}

/** Documents for lower-cased ids with their guards' indexes (0 if none), unless over `maxBytes`. */
export function docsStep(
  sql: SqlStorage,
  keys: string[],
  maxBytes: number,
): Step<{ docs: { doc: StoredDoc | null; guardIndex: number }[] } | { overBudget: true }> {
  const lockKeys = keys.flatMap(docReadLockKeys);
  const blocked = blockingTxns(sql, lockKeys);
  if (blocked.length) return { blocked };
  const now = Date.now();
  const docs: { doc: StoredDoc | null; guardIndex: number }[] = [];
  let bytes = 0;
  for (const key of keys) {
    const row = readDoc(sql, key);
    bytes += row?.body.length ?? 0;
    if (bytes > maxBytes) return { done: { overBudget: true } };
    const guard = readItem(sql, atomicGuardKey(key), now);
    docs.push({ doc: row ? toStoredDoc(row) : null, guardIndex: guard?.idx ?? 0 });
  }
  return { done: { docs } };
}

/**
 * A document's change vector (null when absent), once no transaction locks the document: what a
 * HEAD answers. Its atomic guard is not read, nor its body.
 */
export function docChangeVectorStep(sql: SqlStorage, key: string): Step<string | null> {
  const blocked = blockingTxns(sql, [docLockKey(key)]);
  if (blocked.length) return { blocked };
  return { done: readDocChangeVector(sql, key) };
}

/** Documents of a collection in id order after `after`, once no transaction locks a document here. */
export function scanDocsStep(
  sql: SqlStorage,
  query: { collection: string | null; after?: string | undefined; limit: number; maxBytes?: number },
): Step<(StoredDoc & { key: string })[]> {
  const blocked = docLockHolders(sql);
  if (blocked.length) return { blocked };
  const docs: (StoredDoc & { key: string })[] = [];
  let bytes = 0;
  for (const row of scanDocs(sql, query.collection, query.after ?? "", query.limit)) {
    docs.push({ key: row.key, ...toStoredDoc(row) });
    bytes += row.body.length;
    if (bytes >= (query.maxBytes ?? Number.POSITIVE_INFINITY)) break;
  }
  return { done: docs };
}

/** Counts for database statistics, once no transaction holds a lock here. */
export function statsStep(sql: SqlStorage): Step<{ items: number; documents: number; identities: number }> {
  const blocked = allLockHolders(sql);
  if (blocked.length) return { blocked };
  return { done: counts(sql, Date.now()) };
}

/** Documents per collection (with their bodies' bytes when `sizes`), once no transaction locks a document here. */
export function collectionStatsStep(sql: SqlStorage, sizes: boolean): Step<CollectionCount[]> {
  const blocked = docLockHolders(sql);
  if (blocked.length) return { blocked };
  return { done: countByCollection(sql, sizes) };
}

function toStoredDoc(row: DocRow): StoredDoc {
  return {
    id: row.id,
    collection: row.collection,
    body: row.body,
    changeVector: row.change_vector,
    lastModified: row.last_modified,
    fromCluster: row.from_cluster === 1,
  };
}
