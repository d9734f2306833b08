import { describe, expect, it } from "vitest";
import { RavenError } from "../../src/core/errors";
import { parseRql } from "../../src/core/rql";
import { cmpxchgOperands, inListSize, matches, pinnedIds } from "../../src/core/rql-eval";

function refusal(text: string): RavenError {
  try {
    parseRql(text);
  } catch (err) {
    if (err instanceof RavenError) return err;
    throw err;
  }
  throw new Error(`expected '${text}' to be refused`);
}

describe("parseRql", () => {
  it("reads the seeds' queries", () => {
    expect(parseRql('from Users where id() == cmpxchg("emails/x")')).toEqual({
      collection: "Users",
      where: { kind: "compare", op: "==", left: { kind: "id" }, right: { kind: "cmpxchg", key: { kind: "literal", value: "emails/x" } } },
      orderBy: [],
      loads: [],
      select: null,
      declarations: [],
      jsProjection: null,
      skip: null,
      take: null,
      includeCmpxchg: [],
      includeDocs: [],
    });
    const built = parseRql("from 'Users' where name = cmpxchg($p0) and lastName = cmpxchg($p1)");
    expect(built.collection).toBe("Users");
    expect(built.where?.kind).toBe("and");
  });

  it("reads @all_docs, paging, nesting, literals and includes", () => {
    const q = parseRql("FROM @all_docs WHERE (a.b = 1 OR c != 'x') AND d == true LIMIT 5 OFFSET 10 include cmpxchg(Email), cmpxchg('k')");
    expect(q.collection).toBeNull();
    expect([q.skip, q.take]).toEqual([
      { kind: "literal", value: 10 },
      { kind: "literal", value: 5 },
    ]);
    expect(q.includeCmpxchg).toEqual([
      { kind: "field", path: ["Email"], source: null },
      { kind: "literal", value: "k" },
    ]);
    expect(parseRql("from Users limit 2, 3")).toMatchObject({ skip: { value: 2 }, take: { value: 3 } });
    expect(parseRql("from Users limit $p0, $p1")).toMatchObject({
      skip: { kind: "param", name: "p0" },
      take: { kind: "param", name: "p1" },
    });
  });

  it("reads what the query builder emits: aliases, order by, load, select, include", () => {
    const q = parseRql(
      "from 'Orders' as o where o.Freight > $p0 and startsWith(o.Name, $p1) order by o.Freight as double desc, id() " +
        "load o.Company as c select o.Name as Name, c.Name as Company include Company,cmpxchg('Owner') limit $p2, $p3",
    );
    expect(q.where).toMatchObject({
      kind: "and",
      left: { kind: "compare", op: ">", left: { path: ["Freight"] } },
      right: { kind: "startsWith" },
    });
    expect(q.orderBy).toEqual([
      { operand: { kind: "field", path: ["Freight"], source: null }, ordering: "double", desc: true },
      { operand: { kind: "id" }, ordering: "string", desc: false },
    ]);
    expect(q.loads).toEqual([{ path: ["Company"], alias: "c" }]);
    expect(q.select).toEqual([
      { operand: { kind: "field", path: ["Name"], source: null }, name: "Name" },
      { operand: { kind: "field", path: ["Name"], source: "c" }, name: "Company" },
    ]);
    expect(q.includeDocs).toEqual([{ kind: "field", path: ["Company"], source: null }]);
    expect(q.includeCmpxchg).toEqual([{ kind: "literal", value: "Owner" }]);
  });

  it.each([
    ["from Users order by random()", "random()"],
    ["from index 'Users/ByName'", "'from index'"],
    ["from Users where search(name, 'a')", "'search()'"],
    ["from Users where regex(name, 'a')", "'regex()'"],
    ["from Users select distinct name", "'select distinct'"],
    ["from Users where tags[0] = 'a'", "Array indexing"],
    ["from Users group by name", "'group by'"],
    ["from Users include counters()", "counters"],
    ["from Users where a = 1 filter b = 2", "'filter'"],
    ["declare value x from Users", "'declare value'"],
    ["from Users update { this.a = 1 }", "'update'"],
  ])("refuses %j naming the construct", (text, construct) => {
    const err = refusal(text);
    expect(err.type).toBe("Raven.Client.Exceptions.InvalidQueryException");
    expect(err.status).toBe(400);
    expect(err.message).toContain(construct);
  });

  it("refuses malformed queries and a bare cmpxchg() condition", () => {
    for (const text of [
      "",
      "Users",
      "from",
      "from Users where",
      "from Users where a ==",
      "from Users where 'x",
      'from Users where cmpxchg("a")',
    ]) {
      expect(refusal(text).status).toBe(400);
    }
  });
});

describe("evaluation", () => {
  const value = (o: { kind: string; value?: unknown }) => o.value;
  it("matches fields case-insensitively, ids, numbers, nulls", () => {
    const q = parseRql("from Users where name = 'JOHN' and age = 42 and missing = null and id() == 'users/1'");
    expect(matches(q.where, { name: "john", age: 42 }, "Users/1", { value })).toBe(true);
    expect(matches(q.where, { name: "john", age: 41 }, "users/1", { value })).toBe(false);
    expect(matches(parseRql("from Users where tags = 'b'").where, { tags: ["a", "b"] }, "x", { value })).toBe(true);
  });
  it("pins ids when the where clause names them", () => {
    expect(pinnedIds(parseRql("from Users where id() == 'a' or id() = 'b'").where, value)).toEqual(["a", "b"]);
    expect(pinnedIds(parseRql("from Users where id() == 'a' and name = 'x'").where, value)).toEqual(["a"]);
    expect(pinnedIds(parseRql("from Users where id() == 'a' or name = 'x'").where, value)).toBeNull();
    expect(pinnedIds(parseRql("from Users where id() == null").where, value)).toEqual([]);
  });
});

describe("exact()", () => {
  // The users of the official client's QueryTest ("query where exact", "query where not").
  const users: [string, Record<string, unknown>][] = [
    ["users/1", { name: "John", age: 3, city: "Oslo", tags: ["Red", "blue"], vip: true }],
    ["users/2", { name: "John", age: 5, city: "oslo", tags: ["red"], vip: false }],
    ["users/3", { name: "Tarzan", age: 2, city: "Jungle", tags: [], vip: "True" }],
  ];
  const params: Record<string, unknown> = { p0: "tarzan", p1: "Tarzan", low: "JOHN", high: "Tarzan", list: ["oslo", "Jungle"] };
  const value = (o: { kind: string; value?: unknown; name?: string }) => (o.kind === "param" ? params[o.name!] : o.value);
  const ids = (text: string) =>
    users.filter(([id, doc]) => matches(parseRql(text).where, doc, id, { value })).map(([id]) => Number(id.split("/")[1]));

  it("reads what whereEquals(field, value, true) writes, around one comparison or a whole expression", () => {
    expect(parseRql("from 'Users' where exact(name = $p0)").where).toEqual({
      kind: "exact",
      inner: { kind: "compare", op: "==", left: { kind: "field", path: ["name"], source: null }, right: { kind: "param", name: "p0" } },
    });
    expect(parseRql("from Users where exact(name = 'a' or (city = 'b' and startsWith(name, 'c'))) and age > 1").where).toMatchObject({
      kind: "and",
      left: { kind: "exact", inner: { kind: "or", right: { kind: "and", right: { kind: "startsWith" } } } },
      right: { kind: "compare", op: ">" },
    });
    expect(parseRql("from Users where not exact(exact(name = 'a'))").where).toMatchObject({
      kind: "not",
      inner: { kind: "exact", inner: { kind: "exact" } },
    });
  });

  it("makes string equality respect case: QueryTest's 1, 0, 1 results and whereNotEquals' 2", () => {
    expect(ids("from Users where name = $p0")).toEqual([3]);
    expect(ids("from 'Users' where exact(name = $p0)")).toEqual([]);
    expect(ids("from 'Users' where exact(name = $p1)")).toEqual([3]);
    expect(ids("from 'Users' where exact(name != $p1)")).toEqual([1, 2]);
    expect(ids("from 'Users' where exact(name != $p0)")).toEqual([1, 2, 3]);
    expect(ids("from Users where not exact(name = 'john')")).toEqual([1, 2, 3]);
  });

  it("applies to in, all in, between, ranges, startsWith, endsWith, arrays and booleans; only inside it", () => {
    expect(ids("from Users where city in ('OSLO', 'jungle')")).toEqual([1, 2, 3]);
    expect(ids("from Users where exact(city in ('oslo', 'Jungle'))")).toEqual([2, 3]);
    expect(ids("from Users where exact(city in ($list))")).toEqual([2, 3]);
    expect(ids("from Users where exact(tags all in ('Red', 'blue'))")).toEqual([1]);
    expect(ids("from Users where exact(tags = 'red')")).toEqual([2]);
    // Case kept, strings order by code unit, upper case before lower: 'John' and 'Tarzan' sort below 'john'.
    expect(ids("from Users where name between $low and $high")).toEqual([1, 2, 3]);
    expect(ids("from Users where exact(name between 'Joh' and 'Tarzan')")).toEqual([1, 2, 3]);
    expect(ids("from Users where exact(name between 'john' and 'tarzan')")).toEqual([]);
    expect(ids("from Users where exact(name > 'Tarzan')")).toEqual([]);
    expect(ids("from Users where name > 'Tarzaa'")).toEqual([3]);
    expect(ids("from Users where exact(name >= 'TARZAN')")).toEqual([3]);
    expect(ids("from Users where exact(startsWith(name, 'j'))")).toEqual([]);
    expect(ids("from Users where exact(startsWith(name, 'J'))")).toEqual([1, 2]);
    expect(ids("from Users where exact(endsWith(city, 'slo'))")).toEqual([1, 2]);
    expect(ids("from Users where exact(endsWith(name, 'ZAN'))")).toEqual([]);
    expect(ids("from Users where endsWith(name, 'ZAN')")).toEqual([3]);
    expect(ids("from Users where vip = true")).toEqual([1, 3]);
    expect(ids("from Users where exact(vip = true)")).toEqual([1]);
    // Numbers are not strings: exact() changes nothing for them.
    expect(ids("from Users where exact(age < 4)")).toEqual([1, 3]);
    // A sibling outside exact() still ignores case.
    expect(ids("from Users where exact(city = 'oslo') or name = 'TARZAN'")).toEqual([2, 3]);
    expect(ids("from Users where exact(city = 'oslo' or name = 'TARZAN')")).toEqual([2]);
  });

  it("lets the route see cmpxchg() keys and in-list sizes inside it; never pins ids", () => {
    const q = parseRql("from Users where exact(name = cmpxchg('k') and city in (1, 2, 3))");
    expect(cmpxchgOperands(q.where)).toEqual([{ kind: "literal", value: "k" }]);
    expect(inListSize(q.where, value)).toBe(3);
    expect(pinnedIds(q.where, value)).toBeNull();
  });

  it.each([
    ["from Users where exact()", "Method exact() expects one argument, got 0."],
    ["from Users where exact(name = 'a', age = 1)", "Method exact() expects one argument"],
    ["from Users where exact(name = 'a'", "Expected ')'"],
    ["from Users where exact(id() = 'users/1')", "id() inside exact() is not supported"],
    ["from Users where exact(name = 'a' or startsWith(id(), 'users/'))", "id() inside exact()"],
    ["from Users where exact(lucene(name, 'a*'))", "The method 'lucene()'"],
    ["from Users where exact(search(name, 'a'))", "The method 'search()'"],
    ["from Users order by exact(name)", "'order by exact()'"],
    ["from Users select exact(name)", "The method 'exact()'"],
  ])("refuses %j", (text, message) => {
    const err = refusal(text);
    expect(err.type).toBe("Raven.Client.Exceptions.InvalidQueryException");
    expect(err.status).toBe(400);
    expect(err.message).toContain(message);
  });
});

describe("parseRql: JavaScript", () => {
  it("cuts out declare function sources and the projection's expression", () => {
    const q = parseRql(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the text is JavaScript holding a template literal
      "declare function incl(c) { includes.cmpxchg(c.externalId); return { a: '}', b: `${c.x}}` /* } */ }; } " +
        "declare function two(a, b) { return a; }\nfrom Companies as c load c.Ref as r select incl(c, r) limit 5",
    );
    expect(q.declarations).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the text is JavaScript holding a template literal
      { name: "incl", source: "function incl(c) { includes.cmpxchg(c.externalId); return { a: '}', b: `${c.x}}` /* } */ }; }" },
      { name: "two", source: "function two(a, b) { return a; }" },
    ]);
    expect(q.jsProjection).toEqual({ expression: "incl(c, r)", alias: "c", loadAliases: ["r"] });
    expect(q.select).toBeNull();
    expect(q.take).toEqual({ kind: "literal", value: 5 });
    expect(parseRql("from Companies as c select { Name: c.Name, Ext: cmpxchg(c.externalId) } include cmpxchg(c.x)")).toMatchObject({
      jsProjection: { expression: "{ Name: c.Name, Ext: cmpxchg(c.externalId) }", alias: "c", loadAliases: [] },
      includeCmpxchg: [{ kind: "field", path: ["x"] }],
    });
    // A call of an undeclared function is not JavaScript: refused as before.
    expect(refusal("from Companies as c select nope(c)").message).toContain("nope()");
    expect(refusal("declare function f(c) { return c; ").message).toContain("no matching '}'");
  });
});
