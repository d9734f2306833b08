/**
 * The routing hash and its ranges, without imports: the server's routing (routing.ts) is built on
 * it, and the client package compiles it too, so that a fair lock in a database without key hash
 * tags can choose queue keys that fall on one shard (src/client/fair-lock.ts). Both sides must
 * agree bit for bit: this is the one definition.
 *
 * A key is lower-cased (keys.ts), hashed with FNV-1a (32 bit, over UTF-8 bytes) and finished with
 * murmur3's fmix32 (FNV alone mixes the high bits of short, similar keys poorly, and the ranges
 * are cut by high bits); the hash space is cut into `shardCount` contiguous ranges.
 */

/**
 * RavenDB's atomic guard of a cluster-wide document write: the compare-exchange item
 * `rvn-atomic/<document id>`, which lives (and is routed) beside its document.
 */
export const ATOMIC_GUARD_PREFIX = "rvn-atomic/";

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

/** Which of `shardCount` contiguous hash ranges `text` falls in. */
export function hashRange(text: string, shardCount: number): number {
  return Math.floor((routingHash(text) * shardCount) / 0x1_0000_0000);
}

/** Atomic guards live beside their document: `rvn-atomic/<docId>` routes as `<docId>` does. */
export function routedPart(loweredKey: string): string {
  return loweredKey.startsWith(ATOMIC_GUARD_PREFIX) ? loweredKey.slice(ATOMIC_GUARD_PREFIX.length) : loweredKey;
}

/** The shard of an already lower-cased key in a database that hashes whole keys (no key hash tags). */
export function wholeKeyShard(loweredKey: string, shardCount: number): number {
  return hashRange(routedPart(loweredKey), shardCount);
}
