import { describe, expect, it } from "vitest";
import { checkValueBody, MAX_VALUE_BYTES, optionalInt, requireIndex, requireWritableKey } from "../../src/core/cmpxchg";
import { RavenError } from "../../src/core/errors";

function failure(fn: () => unknown): RavenError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RavenError) return err;
    throw err;
  }
  throw new Error("expected a RavenError");
}

describe("index", () => {
  it("reads non-negative longs", () => {
    expect(requireIndex("0")).toBe(0);
    expect(requireIndex("42")).toBe(42);
  });
  it("gives RavenDB's exception types", () => {
    expect(failure(() => requireIndex(null)).type).toBe("System.ArgumentException");
    expect(failure(() => requireIndex("abc")).message).toBe("Could not parse header 'index' header as long, value was: abc");
    expect(failure(() => requireIndex("1.5")).type).toBe("System.ArgumentException");
    const negative = failure(() => requireIndex("-1"));
    expect([negative.status, negative.type, negative.message]).toEqual([
      400,
      "System.IO.InvalidDataException",
      "Index must be a non-negative number",
    ]);
  });
});

describe("keys on write", () => {
  it("refuses blank keys", () =>
    expect(failure(() => requireWritableKey("  ")).message).toBe("Query string key is mandatory, but wasn't specified."));
  it("names CompareExchangeKeyTooBigException", () => {
    const err = failure(() => requireWritableKey("a".repeat(513)));
    expect(err.name).toBe("CompareExchangeKeyTooBigException");
    expect(err.message).toContain("513 bytes");
  });
});

describe("value bodies", () => {
  it("keeps the text as sent, so big integers keep their digits", () => {
    const body = '{"Object":{"n":12345678901234567890}}';
    expect(checkValueBody(body)).toEqual({ json: body, expiresAt: null });
  });
  it("reads @expires", () => {
    expect(checkValueBody('{"Object":1,"@metadata":{"@expires":"2030-01-01T00:00:00.0000000Z"}}').expiresAt).toBe(Date.UTC(2030, 0, 1));
  });
  it.each([
    ["", "System.IO.InvalidDataException"],
    ["{", "System.IO.InvalidDataException"],
    ["[1]", "System.IO.InvalidDataException"],
    ["42", "System.IO.InvalidDataException"],
    ["null", "System.IO.InvalidDataException"],
    ['{"NotObject":1}', "System.IO.InvalidDataException"],
    ['{"Object":1,"@metadata":"x"}', "System.IO.InvalidDataException"],
    ['{"Object":1,"@metadata":[]}', "System.IO.InvalidDataException"],
    ['{"Object":1,"@metadata":{"@expires":"soon"}}', "System.FormatException"],
    ['{"Object":1,"@metadata":{"@expires":12}}', "System.FormatException"],
  ])("refuses %j", (body, type) => {
    const err = failure(() => checkValueBody(body));
    expect([err.status, err.type]).toEqual([400, type]);
  });
  it("caps the size", () => {
    const body = `{"Object":"${"x".repeat(MAX_VALUE_BYTES)}"}`;
    expect(failure(() => checkValueBody(body)).status).toBe(413);
  });
});

describe("paging numbers", () => {
  it("parses ints and refuses others", () => {
    expect(optionalInt("start", undefined)).toBeUndefined();
    expect(optionalInt("start", "3")).toBe(3);
    expect(optionalInt("pageSize", "-1")).toBe(-1);
    expect(failure(() => optionalInt("pageSize", "ten")).status).toBe(400);
  });
});
