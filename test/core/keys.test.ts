import { describe, expect, it } from "vitest";
import { compareKeys, isKeyTooBig, lowerKey, prefixUpperBound, utf8Length } from "../../src/core/keys";

describe("lowerKey folds case as .NET's per-char ToLowerInvariant", () => {
  it("lower-cases ASCII", () => expect(lowerKey("Emails/Foo+Test@X.COM")).toBe("emails/foo+test@x.com"));
  it("maps İ to i (JS alone would give i + combining dot)", () => expect(lowerKey("İstanbul")).toBe("istanbul"));
  it("maps a final Σ to σ, without context rules", () => expect(lowerKey("ΟΔΟΣ")).toBe("οδοσ"));
  it("leaves supplementary-plane letters alone", () => expect(lowerKey("𐐀x")).toBe("𐐀x"));
  it("handles Latin-extended letters", () => expect(lowerKey("FĀTHĒR&S0N")).toBe("fāthēr&s0n"));
});

describe("key size", () => {
  it("accepts exactly 512 bytes and refuses 513", () => {
    expect(isKeyTooBig("a".repeat(512))).toBe(false);
    expect(isKeyTooBig("a".repeat(513))).toBe(true);
  });
  it("counts UTF-8 bytes, not characters", () => {
    expect(utf8Length("é")).toBe(2);
    expect(isKeyTooBig("é".repeat(257))).toBe(true);
    expect(isKeyTooBig("é".repeat(256))).toBe(false);
  });
});

describe("compareKeys orders by UTF-8 bytes", () => {
  it("puts a supplementary character after U+FFFD", () => {
    expect(compareKeys("\u{1F600}", "\uFFFD")).toBeGreaterThan(0);
    expect(compareKeys("\uFFFD", "\u{1F600}")).toBeLessThan(0);
  });
  it("agrees with byte order on a mixed sample", () => {
    const keys = ["b", "a", "ab", "\u00e9", "\uE000", "\u{10000}", "A", "", "a/", "a0"];
    const bytes = (s: string) => Array.from(new TextEncoder().encode(s));
    const byBytes = [...keys].sort((x, y) => {
      const a = bytes(x),
        b = bytes(y);
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
      return a.length - b.length;
    });
    expect([...keys].sort(compareKeys)).toEqual(byBytes);
  });
});

describe("prefixUpperBound", () => {
  it("increments the last code point", () => expect(prefixUpperBound("page/")).toBe("page0"));
  it("has no bound for the empty prefix", () => expect(prefixUpperBound("")).toBeNull());
  it("skips the surrogate range", () => expect(prefixUpperBound("a\uD7FF")).toBe("a\uE000"));
  it("carries past U+10FFFF", () => expect(prefixUpperBound("a\u{10FFFF}")).toBe("b"));
});
