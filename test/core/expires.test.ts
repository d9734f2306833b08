import { describe, expect, it } from "vitest";
import { parseExpires } from "../../src/core/expires";

const at = Date.UTC(2030, 0, 2, 3, 4, 5, 678);

describe("parseExpires accepts RavenDB's formats", () => {
  it.each([
    ["2030-01-02T03:04:05.6780000Z", at],
    ["2030-01-02T03:04:05.6780000", at],
    ["2030-01-02T03:04:05.678Z", at],
    ["2030-01-02T03:04:05.678", at],
    ["2030-01-02T05:04:05.6780000+02:00", at],
    ["2030-01-01T22:04:05.678-05:00", at],
    ["2030-01-02T03:04:05Z", at - 678],
    ["Wed, 02 Jan 2030 03:04:05 GMT", at - 678],
  ])("%s", (text, expected) => expect(parseExpires(text)).toBe(expected));

  it.each([
    "",
    "tomorrow",
    "2030-02-30T00:00:00Z",
    "2030-13-01T00:00:00Z",
    "2030-01-01",
    "2030-01-01T25:00:00Z",
    "2030-01-01T00:00:00.12345678Z",
    "1735689600",
  ])("refuses %j", (text) => expect(parseExpires(text)).toBeNull());
});
