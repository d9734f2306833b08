import { describe, expect, it } from "vitest";
import { collectionStatistics, mergeCollectionCounts } from "../../src/core/collection-stats";
import { humaneSize } from "../../src/core/sizes";

describe("collection statistics", () => {
  it("sums the shards' counts per collection without case, keeping the smallest spelling", () => {
    const merged = mergeCollectionCounts([
      [
        { name: "users", count: 2, bytes: 20 },
        { name: null, count: 1, bytes: 5 },
      ],
      [],
      [
        { name: "Users", count: 3, bytes: 30 },
        { name: "Orders", count: 1, bytes: 7 },
      ],
    ]);
    expect(merged).toEqual([
      { name: "@empty", count: 1, bytes: 5 },
      { name: "Orders", count: 1, bytes: 7 },
      { name: "Users", count: 5, bytes: 50 },
    ]);
  });

  it("answers RavenDB's shapes, plain and detailed", () => {
    const shards = [[{ name: "Users", count: 2, bytes: 1536 }], [{ name: "Orders", count: 1, bytes: 0 }]];
    expect(collectionStatistics(shards, false)).toEqual({ CountOfDocuments: 3, CountOfConflicts: 0, Collections: { Orders: 1, Users: 2 } });
    const detailed = collectionStatistics(shards, true);
    expect(detailed.CountOfDocuments).toBe(3);
    expect(detailed.Collections.Users).toEqual({
      Name: "Users",
      CountOfDocuments: 2,
      Size: { HumaneSize: "1.5 KBytes", SizeInBytes: 1536 },
      DocumentsSize: { HumaneSize: "1.5 KBytes", SizeInBytes: 1536 },
      TombstonesSize: { HumaneSize: "0 Bytes", SizeInBytes: 0 },
      RevisionsSize: { HumaneSize: "0 Bytes", SizeInBytes: 0 },
    });
  });

  it("writes sizes as RavenDB's Size.Humane does", () => {
    expect(humaneSize(0)).toBe("0 Bytes");
    expect(humaneSize(512)).toBe("512 Bytes");
    expect(humaneSize(1024)).toBe("1,024 Bytes");
    expect(humaneSize(1025)).toBe("1 KBytes");
    expect(humaneSize(1536)).toBe("1.5 KBytes");
    expect(humaneSize(5 * 1024 * 1024 + 1024 * 1024 * 0.257)).toBe("5.26 MBytes");
    expect(humaneSize(1500 * 1024 * 1024 * 1024)).toBe("1,500 GBytes");
  });
});
