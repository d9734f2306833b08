import { describe, expect, it } from "vitest";
import { RavenError } from "../../src/core/errors";
import { decodeContinuation, encodeContinuation, pickPage } from "../../src/core/paging";

describe("continuation tokens", () => {
  it("round-trip, Unicode included", () => {
    const token = { prefix: "émails/", after: "émails/😀" };
    expect(decodeContinuation(encodeContinuation(token))).toEqual(token);
    expect(encodeContinuation(token)).toMatch(/^[A-Za-z0-9_-]+$/);
  });
  it("refuse garbage with a 400", () => {
    for (const bad of ["", "!!!", btoa("{}"), btoa('{"v":2,"p":"","a":""}')]) {
      let err: unknown;
      try {
        decodeContinuation(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RavenError);
      expect((err as RavenError).status).toBe(400);
    }
  });
});

describe("pickPage", () => {
  /** A source over sorted keys, counting what it was asked for and what it handed out at most at once. */
  const source = (keys: string[], bytes = 1) => {
    const stats = { calls: 0, largest: 0 };
    const read = async (after: string | undefined, limit: number) => {
      stats.calls++;
      const from = after === undefined ? 0 : keys.findIndex((k) => k > after);
      const chunk = (from < 0 ? [] : keys.slice(from, from + limit)).map((key) => ({ key, bytes }));
      stats.largest = Math.max(stats.largest, chunk.length);
      return chunk;
    };
    return { read, stats };
  };
  const base = { start: 0, pageSize: 10, maxBytes: 1000, chunk: 2 };

  it("merges sources in key order, skips start, and cuts at the page size", async () => {
    const a = source(["a", "d", "e"]);
    const b = source(["b", "c", "f"]);
    const { page, more } = await pickPage([a.read, b.read], { ...base, start: 1, pageSize: 3 });
    expect(page.map((e) => [e.key, e.source])).toEqual([
      ["b", 1],
      ["c", 1],
      ["d", 0],
    ]);
    expect(more).toBe(true);
  });

  it("says there is no more when the sources run out", async () => {
    const { page, more } = await pickPage([source(["a"]).read, source([]).read], base);
    expect(page.map((e) => e.key)).toEqual(["a"]);
    expect(more).toBe(false);
  });

  it("stops before the entry that would pass the byte budget, but always takes one", async () => {
    const big = source(["a", "b", "c"], 600);
    const first = await pickPage([big.read], { ...base, maxBytes: 1000 });
    expect(first.page.map((e) => e.key)).toEqual(["a"]);
    expect(first.more).toBe(true);
    const resumed = await pickPage([big.read], { ...base, after: "a", maxBytes: 100 });
    expect(resumed.page.map((e) => e.key)).toEqual(["b"]);
  });

  it("holds at most one chunk per source while skipping far", async () => {
    const keys = Array.from({ length: 500 }, (_, i) => `k${String(i).padStart(4, "0")}`);
    const s = source(keys);
    const { page } = await pickPage([s.read], { ...base, start: 490, chunk: 16 });
    expect(page.map((e) => e.key)).toEqual(keys.slice(490));
    expect(s.stats.largest).toBeLessThanOrEqual(16);
  });
});
