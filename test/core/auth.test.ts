import { describe, expect, it } from "vitest";
import { allows, parseGrants } from "../../src/core/auth";

describe("allows", () => {
  const grants = [{ database: "Orders", role: "write" as const }];
  it("ranks roles and ignores database case", () => {
    expect(allows(grants, { scope: "database", role: "read" }, "orders")).toBe(true);
    expect(allows(grants, { scope: "database", role: "write" }, "ORDERS")).toBe(true);
    expect(allows(grants, { scope: "database", role: "admin" }, "orders")).toBe(false);
    expect(allows(grants, { scope: "database", role: "read" }, "other")).toBe(false);
  });
  it("gives the server only to '*' grants", () => {
    expect(allows(grants, { scope: "server", role: "read" })).toBe(false);
    expect(allows([{ database: "*", role: "read" }], { scope: "server", role: "admin" })).toBe(false);
    expect(allows([{ database: "*", role: "admin" }], { scope: "server", role: "admin" })).toBe(true);
  });
  it("needs a database name for a database-scoped requirement", () => {
    expect(allows(grants, { scope: "database", role: "read" })).toBe(false);
  });
  it("takes any credential for 'any', and nothing for 'public'", () => {
    expect(allows(grants, { scope: "any", role: "read" })).toBe(true);
    expect(allows([], { scope: "any", role: "read" })).toBe(false);
    expect(allows([], { scope: "public" })).toBe(true);
  });
});

describe("parseGrants", () => {
  it("reads and checks grants, failing closed", () => {
    expect(parseGrants(undefined, "sha256", "AUTH_TOKENS")).toEqual([]);
    expect(parseGrants('[{"sha256":"AB","database":"*","role":"read"}]', "sha256", "AUTH_TOKENS")).toEqual([
      { sha256: "ab", database: "*", role: "read" },
    ]);
    for (const bad of [
      "{",
      "{}",
      '[{"sha256":"zz","database":"*","role":"read"}]',
      '[{"sha256":"ab","database":"*","role":"root"}]',
      '[{"sha256":"ab","role":"read"}]',
    ]) {
      expect(() => parseGrants(bad, "sha256", "AUTH_TOKENS")).toThrow();
    }
  });
});
