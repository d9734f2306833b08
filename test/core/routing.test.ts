import { describe, expect, it } from "vitest";
import { fnv1a32 } from "../../src/core/key-hash";
import {
  hashTagOf,
  parseShardCount,
  plainRouting,
  type Routing,
  shardForKey,
  shardOf,
  shardOfKey,
  shardOfPrefix,
} from "../../src/core/routing";

const TAGS: Routing = { shardCount: 16, hashTags: true };

/** Two keys with the given tag whose whole-key hashes fall on different shards. */
function splitPair(tag: string): [string, string] {
  const a = `x/{${tag}}/a`;
  for (let i = 0; ; i++) {
    const b = `y${i}/{${tag}}/b`;
    if (shardOf(b, 16) !== shardOf(a, 16)) return [a, b];
  }
}

describe("routing", () => {
  it("is FNV-1a 32 (known vectors)", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  it("maps hashes to contiguous ranges, every shard in [0, N)", () => {
    const counts = new Array(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[shardOf(`key/${i}`, 16)]++;
    expect(counts.every((n) => n > 900 && n < 1100)).toBe(true);
    // Range split property: with 2N shards, shard s of N becomes 2s or 2s+1.
    for (let i = 0; i < 1000; i++) {
      const key = `k${i}`;
      expect(Math.floor(shardOf(key, 32) / 2)).toBe(shardOf(key, 16));
    }
  });

  it("ignores key case and routes atomic guards beside their document", () => {
    expect(shardForKey("Db", "Users/1", 16)).toBe(shardForKey("db", "users/1", 16));
    expect(shardForKey("db", "rvn-atomic/users/1", 16)).toBe(shardForKey("db", "users/1", 16));
  });

  it("finds Redis Cluster's hash tag: first '{', the next '}', not empty", () => {
    expect(hashTagOf("user/{u1}/cart")).toBe("u1");
    expect(hashTagOf("{u1}")).toBe("u1");
    expect(hashTagOf("a{b{c}d}")).toBe("b{c");
    expect(hashTagOf("a}b{c}")).toBe("c");
    expect(hashTagOf("foo{}{bar}")).toBeNull(); // `{}` first: no tag, as in Redis
    expect(hashTagOf("foo{bar")).toBeNull();
    expect(hashTagOf("foo}bar{")).toBeNull();
    expect(hashTagOf("plain/key")).toBeNull();
  });

  it("routes keys sharing a tag to one shard, only when the database routes by tags", () => {
    for (const tag of ["u1", "orders", "ü", "x y"]) {
      const [a, b] = splitPair(tag);
      expect(shardOfKey(a, TAGS)).toBe(shardOfKey(b, TAGS));
      expect(shardOfKey(a, TAGS)).toBe(shardOf(tag, 16));
      // Without the option braces are plain characters: the whole key is hashed, as before.
      expect(shardOfKey(a, plainRouting(16))).toBe(shardOf(a, 16));
      expect(shardOfKey(a, plainRouting(16))).not.toBe(shardOfKey(b, plainRouting(16)));
    }
  });

  it("routes keys without a tag the same with and without the option", () => {
    for (let i = 0; i < 2000; i++) {
      for (const key of [`key/${i}`, `k{}/${i}`, `open{${i}`, `}${i}{`]) expect(shardOfKey(key, TAGS)).toBe(shardOf(key, 16));
    }
  });

  it("keeps an atomic guard beside its document under tags", () => {
    const doc = "orders/{u1}/1";
    expect(shardOfKey(`rvn-atomic/${doc}`, TAGS)).toBe(shardOfKey(doc, TAGS));
    expect(shardOfKey(doc, TAGS)).toBe(shardOfKey("balance/{u1}", TAGS));
    expect(shardForKey("db", "rvn-atomic/Orders/{U1}/1", 16, true)).toBe(shardForKey("db", "balance/{u1}", 16, true));
  });

  it("names the one shard of a prefix that holds a whole tag, and no shard otherwise", () => {
    expect(shardOfPrefix("locks/{bench}/queue/", TAGS)).toBe(shardOf("bench", 16));
    expect(shardOfPrefix("locks/{bench}", TAGS)).toBe(shardOf("bench", 16));
    expect(shardOfPrefix("rvn-atomic/orders/{u1}/", TAGS)).toBe(shardOf("u1", 16));
    for (const open of ["locks/{bench", "locks/", "", "a{}", "a{}{b}", "rvn-", "rvn-atomic/"]) expect(shardOfPrefix(open, TAGS)).toBeNull();
    expect(shardOfPrefix("locks/{bench}/", plainRouting(16))).toBeNull();
    // Every key that starts with such a prefix lies on that shard.
    for (let i = 0; i < 200; i++) {
      expect(shardOfKey(`locks/{bench}/queue/${i}{x}`, TAGS)).toBe(shardOfPrefix("locks/{bench}/queue/", TAGS));
    }
  });

  it("refuses a bad SHARD_COUNT", () => {
    expect(parseShardCount(undefined)).toBe(16);
    expect(parseShardCount("4")).toBe(4);
    for (const bad of ["0", "-1", "1.5", "abc", "5000"]) expect(() => parseShardCount(bad)).toThrow();
  });
});
