/**
 * Key → shard routing. A key is lower-cased, hashed with FNV-1a (32 bit, over UTF-8 bytes) and
 * finished with murmur3's fmix32 (FNV alone mixes the high bits of short, similar keys poorly, and
 * the ranges are cut by high bits); the hash space is cut into `shardCount` contiguous ranges, so that one range can later be split in two
 * without moving keys of other ranges. The shard count is fixed per deployment.
 */
import { lowerKey } from "./keys";
import { ATOMIC_GUARD_PREFIX } from "./lock-keys";
import { shardName } from "./names";

/** Defined with the lock-key encoding (lock-keys.ts); re-exported for the callers that route. */
export { ATOMIC_GUARD_PREFIX };

const encoder = new TextEncoder();

export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** murmur3's 32-bit finalizer: every input bit affects every output bit. */
export function fmix32(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The stable 32-bit routing hash of an already lower-cased key. */
export function routingHash(loweredKey: string): number {
  return fmix32(fnv1a32(loweredKey));
}

/** Which of `shardCount` hash ranges the already lower-cased key falls in. */
export function shardOf(loweredKey: string, shardCount: number): number {
  // Atomic guards live beside their document: route `rvn-atomic/<docId>` by `<docId>`.
  const routed = loweredKey.startsWith(ATOMIC_GUARD_PREFIX) ? loweredKey.slice(ATOMIC_GUARD_PREFIX.length) : loweredKey;
  return Math.floor((routingHash(routed) * shardCount) / 0x1_0000_0000);
}

export function shardForKey(database: string, key: string, shardCount: number): string {
  return shardName(database, shardOf(lowerKey(key), shardCount));
}

export function parseShardCount(raw: string | undefined): number {
  const count = Number(raw ?? "16");
  if (!Number.isInteger(count) || count < 1 || count > 1024) {
    throw new Error(`SHARD_COUNT must be an integer from 1 to 1024, got ${JSON.stringify(raw)}`);
  }
  return count;
}

/**
 * Which coordinator leads a transaction: by hash of its raft-request-id, so a retry reaches the
 * coordinator that ran the first attempt (and finds it in that coordinator's log); any one when
 * there is no request id (nothing to find again).
 */
export function coordinatorOf(requestId: string | undefined, count: number): number {
  if (requestId === undefined || requestId === "") return Math.floor(Math.random() * count);
  return routingHash(requestId) % count;
}
