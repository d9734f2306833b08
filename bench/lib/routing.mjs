/**
 * The shard of a key, as src/core/routing.ts computes it (FNV-1a 32 over the UTF-8 bytes of the
 * lower-cased key, murmur3's fmix32, hash ranges): the transaction workloads pick keys on
 * different shards. bench/wrk/common.lua has the same in Lua. A test-free copy: if routing.ts
 * changes, (e) and (g) would silently include one-shard pairs, so the report counts them.
 */
export function shardOf(key, count) {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(key.toLowerCase(), "utf8")) h = Math.imul(h ^ byte, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return Math.floor(((h >>> 0) * count) / 0x1_0000_0000);
}
