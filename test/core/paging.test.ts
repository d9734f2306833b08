import { describe, expect, it } from "vitest";
import { RavenError } from "../../src/core/errors";
import { decodeContinuation, encodeContinuation, mergeSorted } from "../../src/core/paging";

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

describe("mergeSorted", () => {
  const item = (key: string) => ({ key, index: 1, json: "{}" });
  it("merges shard pages in key order and cuts at the limit", () => {
    const merged = mergeSorted([[item("a"), item("d")], [item("b"), item("c")], []], 3);
    expect(merged.map((i) => i.key)).toEqual(["a", "b", "c"]);
    expect(mergeSorted([[item("b")], [item("a")]], -1).map((i) => i.key)).toEqual(["a", "b"]);
  });
});
