import { describe, expect, it } from "vitest";
import { MAX_WATCH_HISTORY, MAX_WATCH_HISTORY_BYTES } from "../../src/core/limits";
import { formatCursor, parseCursor, parseRetention } from "../../src/core/watch-history";

describe("WATCH_HISTORY_RETENTION", () => {
  it("takes a count, an age, a size, or several; unset is the default", () => {
    expect(parseRetention(undefined)).toEqual({ count: 10_000, maxAgeMs: 24 * 3_600_000, maxBytes: 64 * 1024 * 1024 });
    expect(parseRetention("500")).toEqual({ count: 500, maxAgeMs: null, maxBytes: MAX_WATCH_HISTORY_BYTES });
    expect(parseRetention("90s")).toEqual({ count: MAX_WATCH_HISTORY, maxAgeMs: 90_000, maxBytes: MAX_WATCH_HISTORY_BYTES });
    expect(parseRetention(" 7d , 20 ")).toEqual({ count: 20, maxAgeMs: 7 * 86_400_000, maxBytes: MAX_WATCH_HISTORY_BYTES });
    expect(parseRetention("30m,1,2MB")).toEqual({ count: 1, maxAgeMs: 1_800_000, maxBytes: 2 * 1024 * 1024 });
    expect(parseRetention("1gb")).toEqual({ count: MAX_WATCH_HISTORY, maxAgeMs: null, maxBytes: 1024 ** 3 });
  });

  it("refuses anything else, naming the variable", () => {
    for (const bad of [
      "0",
      "-1",
      "1.5",
      "x",
      "10,20",
      "1h,2h",
      "0s",
      "400d",
      `${MAX_WATCH_HISTORY + 1}`,
      "24 h",
      ",",
      "2gb",
      "0kb",
      "1mb,1mb",
      "5b",
    ]) {
      expect(() => parseRetention(bad), bad).toThrow(/WATCH_HISTORY_RETENTION/);
    }
  });
});

describe("resume cursors", () => {
  it("round-trip shard:seq parts, with the end of a replay while it is not done", () => {
    const cursor = parseCursor("3:17,5:0:9,12:900000,7:4:4")!;
    expect([...cursor]).toEqual([
      [3, { seq: 17, until: null }],
      [5, { seq: 0, until: 9 }],
      [12, { seq: 900000, until: null }],
      // A replay that reached its end is done.
      [7, { seq: 4, until: null }],
    ]);
    expect(formatCursor(cursor)).toBe("3:17,5:0:9,12:900000,7:4");
    expect(parseCursor("")!.size).toBe(0);
  });

  it("refuse what is not one", () => {
    for (const bad of ["3", "3:", ":4", "a:1", "1:2,", "1:-2", "1:2;3:4", "1:1234567890123456", "1:2:", "1:2:3:4"]) {
      expect(parseCursor(bad), bad).toBeNull();
    }
  });
});
