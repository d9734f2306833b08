import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeJson, JsonNumber, MAX_JSON_DEPTH, parseJson, readJson } from "../../src/core/json";

const accepts = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};
const parses = (text: string) => {
  try {
    parseJson(text);
    return true;
  } catch {
    return false;
  }
};

describe("the one JSON reader and writer", () => {
  it("keeps numbers a double would change, as their text", () => {
    const text = '{"n":12345678901234567890123,"d":1.50,"z":-0,"e":1E5,"ok":42,"f":0.5}';
    const parsed = parseJson(text) as Record<string, unknown>;
    expect(parsed.n).toBeInstanceOf(JsonNumber);
    expect(parsed.ok).toBe(42);
    expect(parsed.f).toBe(0.5);
    expect(encodeJson(parsed)).toBe(text);
  });

  it("reads what JSON.parse reads, the same way", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(encodeJson(parseJson(text))).toBe(text);
        const spaced = JSON.stringify(value, null, 2);
        expect(encodeJson(parseJson(spaced))).toBe(text);
      }),
    );
  });

  it("refuses what JSON.parse refuses", () => {
    const samples = [
      "",
      "{",
      "[1,]",
      '{"a":1,}',
      "01",
      "1.",
      ".5",
      "+1",
      "-",
      "tru",
      '"a',
      '"\\x"',
      '"\u0001"',
      "{'a':1}",
      "[1] x",
      "NaN",
      '"\\u12"',
    ];
    for (const text of samples) expect([text, parses(text)]).toEqual([text, accepts(text)]);
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'{}[]",:0123456789.-+eEtrunlfas\\ ') }), (text) => {
        expect(parses(text)).toBe(accepts(text));
      }),
      { numRuns: 3000 },
    );
  });

  it("writes like JSON.stringify, plus bigints and kept numbers", () => {
    const value = { a: [1, undefined, () => 1], b: undefined, c: new Date(0), d: 10n ** 25n, e: new JsonNumber("1.50"), __proto__: 1 };
    expect(encodeJson(value)).toBe('{"a":[1,null,null],"c":"1970-01-01T00:00:00.000Z","d":10000000000000000000000000,"e":1.50}');
    expect(Object.keys(parseJson('{"__proto__":1}') as object)).toEqual(["__proto__"]);
  });

  it("refuses nesting deeper than it can read without overflowing", () => {
    expect(() => parseJson("[".repeat(10_000) + "]".repeat(10_000))).toThrow(/deeper/);
    // The native fast path counts depth too: one level more than allowed, in an object.
    const deep = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
    expect(() => parseJson(deep(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => parseJson(deep(MAX_JSON_DEPTH + 1))).toThrow(/deeper/);
  });

  it("reads every text exactly as the reader alone does (the native fast path changes nothing)", () => {
    // Numbers as clients write them: some survive a double, some do not (1.50, 1E5, -0, 20 digits).
    const numberText = fc.oneof(
      fc.integer().map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
      fc.constantFrom("1.50", "1E5", "1e-7", "-0", "0.1000", "12345678901234567890123", "2.5e+3"),
    );
    const text: fc.Arbitrary<string> = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        numberText,
        fc.string().map((s) => JSON.stringify(s)),
        fc.constantFrom('"1.50"', '"a\\"', '"\\"1.50"', '"\\u0031.50"', "true", "null"),
        fc.array(tie("value") as fc.Arbitrary<string>, { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
        fc
          .array(fc.tuple(fc.string(), tie("value") as fc.Arbitrary<string>), { maxLength: 4 })
          .map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(",")}}`),
      ),
    })).value;
    const read = (f: (t: string) => unknown, t: string) => {
      try {
        return { ok: encodeJson(f(t)), kinds: JSON.stringify(f(t), (_k, v) => (v instanceof JsonNumber ? `#${v.text}` : v)) };
      } catch (err) {
        return { error: String(err) };
      }
    };
    fc.assert(
      fc.property(text, (t) => {
        expect(read(parseJson, t)).toEqual(read(readJson, t));
      }),
      { numRuns: 2000 },
    );
  });
});
