import { describe, expect, it } from "vitest";
import { coordinatorName, parseCoordinatorCount, parseObjectName, shardName } from "../../src/core/names";
import { coordinatorOf } from "../../src/core/routing";
import { olderThan } from "../../src/core/transaction";

describe("object names", () => {
  it("name shards and coordinators after the lower-cased database; coordinator 0 keeps the old name", () => {
    expect(shardName("Orders", 3)).toBe("orders/shard-3");
    expect(coordinatorName("Orders", 0)).toBe("orders");
    expect(coordinatorName("Orders", 5)).toBe("orders/coordinator-5");
  });

  it("read back what they name", () => {
    expect(parseObjectName(shardName("db_1", 12))).toEqual({ database: "db_1", kind: "shard", n: 12 });
    expect(parseObjectName(coordinatorName("db_1", 7))).toEqual({ database: "db_1", kind: "coordinator", n: 7 });
    expect(parseObjectName(coordinatorName("db_1", 0))).toEqual({ database: "db_1", kind: "coordinator", n: 0 });
  });

  it("refuse a coordinator count out of range", () => {
    expect(parseCoordinatorCount("4")).toBe(4);
    for (const bad of ["0", "-1", "1.5", "x", "257"]) expect(() => parseCoordinatorCount(bad)).toThrow(/COORDINATOR_COUNT/);
  });
});

describe("which coordinator leads", () => {
  it("is the same for the same request id, so a retry finds its first attempt", () => {
    for (let i = 0; i < 50; i++) expect(coordinatorOf(`req-${i}`, 4)).toBe(coordinatorOf(`req-${i}`, 4));
  });

  it("spreads request ids over every coordinator", () => {
    const seen = new Set(Array.from({ length: 200 }, (_, i) => coordinatorOf(`req-${i}`, 16)));
    expect(seen.size).toBe(16);
  });

  it("is any coordinator in range without a request id", () => {
    for (let i = 0; i < 50; i++) expect(coordinatorOf(undefined, 4)).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 50; i++) expect(coordinatorOf(undefined, 4)).toBeLessThan(4);
  });
});

describe("wait-die age order", () => {
  it("is a strict total order: birth first, then the transaction id", () => {
    const a = { born: 1, txnId: "b" };
    const b = { born: 2, txnId: "a" };
    const c = { born: 2, txnId: "c" };
    expect([olderThan(a, b), olderThan(b, a)]).toEqual([true, false]);
    expect([olderThan(b, c), olderThan(c, b)]).toEqual([true, false]);
    expect(olderThan(a, a)).toBe(false);
  });
});
