import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareKeys } from "../../src/core/keys";
import { compareSortKeys, sortKeyOf, TopWindow, type Ranked } from "../../src/core/query-order";
import { parseRql } from "../../src/core/rql";

describe("TopWindow", () => {
  const orderBy = parseRql("from X order by a as long desc, b").orderBy;

  it("keeps exactly what a full sort keeps, merged across parts, for any input and window", () => {
    const entry = fc.record({
      key: fc.string({ maxLength: 4 }),
      a: fc.option(fc.integer({ min: -5, max: 5 }), { nil: null }),
      b: fc.option(fc.string({ maxLength: 3 }), { nil: null }),
    });
    fc.assert(
      fc.property(fc.array(fc.array(entry, { maxLength: 40 }), { maxLength: 4 }), fc.nat({ max: 12 }), (parts, window) => {
        // Keys are unique in a database.
        const seen = new Set<string>();
        const ranked = parts.map((part) =>
          part.flatMap((e): Ranked[] => {
            if (seen.has(e.key)) return [];
            seen.add(e.key);
            return [{ key: e.key, sort: sortKeyOf(orderBy, e, e.key) }];
          }),
        );
        const perPart = ranked.map((part) => {
          const top = new TopWindow(orderBy, window);
          part.forEach((r) => top.add(r));
          return top.result();
        });
        const merged = TopWindow.merge(orderBy, window, perPart);
        const expected = ranked
          .flat()
          .sort((x, y) => compareSortKeys(orderBy, x.sort, y.sort) || compareKeys(x.key, y.key))
          .slice(0, window);
        expect(merged.map((r) => r.key)).toEqual(expected.map((r) => r.key));
      }),
    );
  });

  it("sorts missing values first ascending, numbers as numbers, strings without case, alphaNumeric naturally", () => {
    const keys = (text: string, docs: Record<string, unknown>[]) => {
      const { orderBy: by } = parseRql(text);
      const top = new TopWindow(by, 10);
      docs.forEach((d, i) => top.add({ key: `k${i}`, sort: sortKeyOf(by, d, `k${i}`) }));
      return top.result().map((r) => Number(r.key.slice(1)));
    };
    expect(keys("from X order by n as long", [{ n: 10 }, { n: 9 }, {}, { n: -1 }])).toEqual([2, 3, 1, 0]);
    expect(keys("from X order by n", [{ n: 10 }, { n: 9 }])).toEqual([0, 1]);
    expect(keys("from X order by s desc", [{ s: "b" }, { s: "A" }, { s: "C" }])).toEqual([2, 0, 1]);
    expect(keys("from X order by s as alphaNumeric", [{ s: "x10" }, { s: "x9" }, { s: "x100" }])).toEqual([1, 0, 2]);
  });
});
