// The routing contract clients rely on (README, "Routing contract"): the fair lock computes shards
// on the client with src/core/key-hash.ts, so the hash and the ranges must never drift from what
// the server routes by. Pinned values: a change here is a breaking change for every client.
import { describe, expect, it } from "vitest";
import { lockKeys, queueKeyOnAnchorShard } from "../../src/client/fair-lock";
import { fnv1a32, routingHash, wholeKeyShard } from "../../src/core/key-hash";
import { lowerKey } from "../../src/core/keys";
import { shardOf } from "../../src/core/routing";

describe("routing contract (key-hash.ts)", () => {
  it("FNV-1a 32 matches the published test vectors", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  it("routing hashes and shards are pinned (changing them moves keys and breaks clients)", () => {
    expect(routingHash("")).toBe(2872998923);
    expect(routingHash("locks/{job}/seq")).toBe(4272907418);
    expect(routingHash("users/1")).toBe(4070380242);
    expect(routingHash("ключ/ß")).toBe(1173007326);
    expect(wholeKeyShard("locks/{job}/seq", 16)).toBe(15);
    expect(wholeKeyShard("ключ/ß", 16)).toBe(4);
    expect(wholeKeyShard("users/1", 3)).toBe(2);
    // An atomic guard routes beside its document.
    expect(wholeKeyShard("rvn-atomic/orders/1", 16)).toBe(wholeKeyShard("orders/1", 16));
  });

  it("the client's whole-key shard is the server's, for any key and shard count", () => {
    const keys = ["", "a", "Users/1", "locks/{job}/queue/x", "rvn-atomic/docs/{t}/1", "ключ/ß", "{}", "x".repeat(300)];
    for (const count of [1, 2, 3, 16, 1024])
      for (const key of keys) expect(wholeKeyShard(lowerKey(key), count)).toBe(shardOf(lowerKey(key), count, false));
  });

  it("queue keys drawn for a lock fall on its anchor's shard, also under a guard-like prefix", () => {
    for (const prefix of ["locks/", "elections/", "RVN-ATOMIC/x/"])
      for (const count of [1, 3, 16, 1024]) {
        const keys = lockKeys("Job", prefix);
        const anchor = shardOf(lowerKey(keys.anchor), count, false);
        for (let i = 0; i < 5; i++) {
          const key = queueKeyOnAnchorShard(keys, count);
          expect(key.startsWith(keys.queue)).toBe(true);
          expect(shardOf(lowerKey(key), count, false)).toBe(anchor);
        }
      }
  });
});
