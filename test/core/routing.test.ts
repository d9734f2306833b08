import { describe, expect, it } from "vitest";
import { fnv1a32, parseShardCount, shardForKey, shardOf } from "../../src/core/routing";

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

  it("refuses a bad SHARD_COUNT", () => {
    expect(parseShardCount(undefined)).toBe(16);
    expect(parseShardCount("4")).toBe(4);
    for (const bad of ["0", "-1", "1.5", "abc", "5000"]) expect(() => parseShardCount(bad)).toThrow();
  });
});
