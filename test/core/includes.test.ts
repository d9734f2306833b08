// Include paths read as RavenDB's server reads them (src/core/includes.ts): arrays, $Keys and
// $Values, and the (prefix/) and [{0}/suffix] forms, with RavenDB's rules for malformed ones.
import { describe, expect, it } from "vitest";
import { includedKeys, parseIncludePath } from "../../src/core/includes";

const ids = (doc: unknown, ...paths: string[]) => includedKeys([doc], paths.map(parseIncludePath));

describe("include paths", () => {
  it("reads a field, a nested field, and numbers as written", () => {
    expect(ids({ company: "companies/1" }, "company")).toEqual(["companies/1"]);
    expect(ids({ address: { ref: "addresses/9" } }, "address.ref")).toEqual(["addresses/9"]);
    expect(ids({ supplier: 5 }, "supplier")).toEqual(["5"]);
    expect(ids({ company: null, other: true }, "company", "other", "missing")).toEqual([]);
  });

  it("walks arrays one level: nested arrays and objects at the end are no ids", () => {
    expect(ids({ tags: ["t/1", ["t/2"], { id: "t/3" }, "t/4"] }, "tags")).toEqual(["t/1", "t/4"]);
    const order = { lines: [{ product: "products/1" }, { product: "products/2" }, { product: null }] };
    expect(ids(order, "lines[].product")).toEqual(["products/1", "products/2"]);
    expect(ids(order, "lines.product")).toEqual(["products/1", "products/2"]);
  });

  it("reads an object's property names with $Keys and its values with $Values", () => {
    const doc = { byRegion: { "regions/1": "users/1", "regions/2": "users/2" } };
    expect(ids(doc, "byRegion.$Keys")).toEqual(["regions/1", "regions/2"]);
    expect(ids(doc, "byRegion.$Values")).toEqual(["users/1", "users/2"]);
  });

  it("adds prefix/<value> for Path(prefix/), and the value itself; a prefix without the separator adds nothing", () => {
    expect(ids({ customer: "1" }, "customer(customers/)")).toEqual(["customers/1", "1"]);
    expect(ids({ suppliers: [4, 5] }, "suppliers(suppliers/)")).toEqual(["suppliers/4", "4", "suppliers/5", "5"]);
    expect(ids({ customer: "1" }, "customer(customers-)")).toEqual(["1"]);
    expect(ids({ customer: "1" }, "customer(customers/")).toEqual([]);
  });

  it("adds <value>/suffix for Path[{0}/suffix]; any other bracket form includes nothing", () => {
    expect(ids({ customer: "1" }, "customer[{0}/profile]")).toEqual(["1/profile", "1"]);
    for (const malformed of ["customer[{0}-profile]", "customer[{0}]", "customer[/profile]", "lines[1].product", "lines[x].product"]) {
      expect(ids({ customer: "1", lines: [{ product: "p/1" }] }, malformed), malformed).toEqual([]);
    }
  });

  it("refuses a path with no field", () => {
    expect(() => parseIncludePath("  ")).toThrow(/not supported/);
    expect(() => parseIncludePath("(customers/)")).toThrow(/not supported/);
  });
});
