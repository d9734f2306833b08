import { describe, expect, it } from "vitest";
import { allows, parseGrants, requiredAccess } from "../../src/core/auth";

const access = (method: string, url: string) => {
  const parsed = new URL(url, "http://x");
  return requiredAccess(method, parsed.pathname, parsed.searchParams);
};

describe("requiredAccess", () => {
  it.each([
    ["GET", "/databases/orders/cmpxchg?key=a", "orders", "read"],
    ["PUT", "/databases/orders/cmpxchg?key=a&index=0", "orders", "write"],
    ["DELETE", "/databases/orders/docs?id=a", "orders", "write"],
    ["POST", "/databases/orders/bulk_docs", "orders", "write"],
    ["POST", "/databases/orders/queries", "orders", "read"],
    ["POST", "/databases/orders/multi_get", "orders", "read"],
    ["GET", "/databases/orders/hilo/next?tag=users", "orders", "write"],
    ["GET", "/topology?name=orders", "orders", "read"],
    ["GET", "/cluster/node-info", "any", "read"],
    ["PUT", "/admin/databases?name=x", "*", "admin"],
    ["GET", "/databases", "*", "admin"],
  ])("%s %s needs %s/%s", (method, url, database, role) => {
    expect(access(method, url)).toEqual({ public: false, database, role });
  });
  it("leaves the Studio page public", () => expect(access("GET", "/studio")).toEqual({ public: true }));
});

describe("allows", () => {
  const grants = [{ database: "Orders", role: "write" as const }];
  it("ranks roles and ignores database case", () => {
    expect(allows(grants, { database: "orders", role: "read" })).toBe(true);
    expect(allows(grants, { database: "orders", role: "admin" })).toBe(false);
    expect(allows(grants, { database: "other", role: "read" })).toBe(false);
    expect(allows(grants, { database: "*", role: "read" })).toBe(false);
    expect(allows(grants, { database: "any", role: "read" })).toBe(true);
    expect(allows([{ database: "*", role: "admin" }], { database: "*", role: "admin" })).toBe(true);
  });
});

describe("parseGrants", () => {
  it("reads and checks grants, failing closed", () => {
    expect(parseGrants(undefined, "sha256", "AUTH_TOKENS")).toEqual([]);
    expect(parseGrants('[{"sha256":"AB","database":"*","role":"read"}]', "sha256", "AUTH_TOKENS")).toEqual([{ sha256: "ab", database: "*", role: "read" }]);
    for (const bad of ["{", "{}", '[{"sha256":"zz","database":"*","role":"read"}]', '[{"sha256":"ab","database":"*","role":"root"}]', '[{"sha256":"ab","role":"read"}]']) {
      expect(() => parseGrants(bad, "sha256", "AUTH_TOKENS")).toThrow();
    }
  });
});
