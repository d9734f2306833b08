/**
 * Key → shard routing. A key is lower-cased, hashed with FNV-1a (32 bit, over UTF-8 bytes) and
 * finished with murmur3's fmix32 (key-hash.ts); the hash space is cut into `shardCount` contiguous
 * ranges, so that one range can later be split in two without moving keys of other ranges. The
 * shard count is fixed per deployment. Clients rely on this mapping too (the fair lock of
 * src/client places its queue on one shard with it): changing it is a breaking change of the
 * routing contract (README, "Routing contract").
 *
 * Hash tags (opt-in per database, fixed at its creation: `KeyHashTags`): as in Redis Cluster, when
 * a key holds a `{`, a `}` after it and at least one character between them, only the text
 * between the first `{` and the next `}` is hashed, so `cart/{u1}/items` and `cart/{u1}/total`
 * share a shard and a transaction over both is one-phase. A database created without the option
 * hashes the whole key, braces included, as every database did before tags existed: turning tags
 * on for a database that holds braced keys would lose sight of them, so it is never done.
 */
import { ATOMIC_GUARD_PREFIX, hashRange, routedPart, routingHash } from "./key-hash";
import { lowerKey } from "./keys";
import { shardName } from "./names";

/** Defined with the hash (key-hash.ts, which the client package compiles too); re-exported for the callers that route. */
export { ATOMIC_GUARD_PREFIX };

/** How one database maps keys to shards: the deployment's shard count, and the database's tag option. */
export interface Routing {
  shardCount: number;
  /** Route by the `{tag}` inside a key when it has one (set at the database's creation, never changed). */
  hashTags: boolean;
}

/** Routing of a database created without hash tags (every database before the option existed). */
export function plainRouting(shardCount: number): Routing {
  return { shardCount, hashTags: false };
}

/**
 * Redis Cluster's hash tag of a key: the text between its first `{` and the next `}`, or null when
 * there is no such pair or nothing between them (`{}` is no tag: the whole key is hashed).
 */
export function hashTagOf(key: string): string | null {
  const open = key.indexOf("{");
  if (open < 0) return null;
  const close = key.indexOf("}", open + 1);
  if (close <= open + 1) return null;
  return key.slice(open + 1, close);
}

/**
 * Which of `shardCount` hash ranges the already lower-cased key falls in; with `hashTags`, a key
 * holding a tag falls where its tag does.
 */
export function shardOf(loweredKey: string, shardCount: number, hashTags = false): number {
  const routed = routedPart(loweredKey);
  const tag = hashTags ? hashTagOf(routed) : null;
  return hashRange(tag ?? routed, shardCount);
}

/** The shard of an already lower-cased key under a database's routing. */
export function shardOfKey(loweredKey: string, routing: Routing): number {
  return shardOf(loweredKey, routing.shardCount, routing.hashTags);
}

/**
 * The one shard that holds every key starting with the (lower-cased) `prefix`, or null when they
 * may lie on several. Only with hash tags: a prefix that already contains a whole tag fixes the
 * tag of every key it starts (their first `{` and the next `}` are the prefix's own), so a listing
 * or a change stream of `locks/{name}/queue/` asks one shard instead of all.
 */
export function shardOfPrefix(loweredPrefix: string, routing: Routing): number | null {
  if (!routing.hashTags) return null;
  let routed: string;
  if (loweredPrefix.startsWith(ATOMIC_GUARD_PREFIX)) routed = loweredPrefix.slice(ATOMIC_GUARD_PREFIX.length);
  // A prefix of `rvn-atomic/` itself starts guards (routed without it) and other keys alike.
  else if (ATOMIC_GUARD_PREFIX.startsWith(loweredPrefix)) return null;
  else routed = loweredPrefix;
  const tag = hashTagOf(routed);
  return tag === null ? null : hashRange(tag, routing.shardCount);
}

export function shardForKey(database: string, key: string, shardCount: number, hashTags = false): string {
  return shardName(database, shardOf(lowerKey(key), shardCount, hashTags));
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
