// Queries over HTTP: the RQL subset with cmpxchg(), as the official client sends them.
import { describe, expect, it } from "vitest";
import { bulk, call, cmpPut, docPut, freshDb, putItem } from "./helpers";

async function query(db: string, text: string, parameters: Record<string, unknown> = {}) {
  const res = await call(`/databases/${db}/queries?queryHash=x&addTimeSeriesNames=true`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ Query: text, QueryParameters: parameters }),
  });
  return { status: res.status, json: (await res.json()) as any };
}

async function seed(db: string) {
  await bulk(db, [docPut("users/1", { name: "John", email: "john@example.com" }), cmpPut("emails/john@example.com", 0, "users/1")]);
  await bulk(db, [docPut("users/2", { name: "Jane", email: "jane@example.com" })]);
  await bulk(db, [docPut("companies/1", { name: "Acme" }, "Companies")]);
  await putItem(db, "blocked", 0, "Jane");
}

describe("queries", () => {
  it("finds the user an email reservation points at (the seeds' Example I)", async () => {
    const db = freshDb();
    await seed(db);
    const { status, json } = await query(db, 'from Users where id() == cmpxchg("emails/john@example.com")');
    expect(status).toBe(200);
    expect(json.TotalResults).toBe(1);
    expect(json.Results[0]).toMatchObject({ name: "John", "@metadata": { "@id": "users/1", "@collection": "Users" } });
    const byParam = await query(db, "from Users where id() == cmpxchg($k)", { k: "emails/john@example.com" });
    expect(byParam.json.Results.map((r: any) => r["@metadata"]["@id"])).toEqual(["users/1"]);
  });

  it("compares fields with cmpxchg() values and finds nothing for a missing key", async () => {
    const db = freshDb();
    await seed(db);
    expect((await query(db, "from 'Users' where name = cmpxchg($p0)", { p0: "blocked" })).json.Results.map((r: any) => r.name)).toEqual([
      "Jane",
    ]);
    expect((await query(db, "from Users where name != cmpxchg('blocked')")).json.Results.map((r: any) => r.name)).toEqual(["John"]);
    expect((await query(db, "from Users where id() == cmpxchg('nope')")).json.TotalResults).toBe(0);
  });

  it("scans collections and @all_docs, pages with limit/offset", async () => {
    const db = freshDb();
    await seed(db);
    expect((await query(db, "from Users")).json.TotalResults).toBe(2);
    expect((await query(db, "from users")).json.TotalResults).toBe(2);
    expect((await query(db, "from @all_docs")).json.TotalResults).toBe(3);
    const paged = await query(db, "from Users limit 1 offset 1");
    expect([paged.json.TotalResults, paged.json.Results.length]).toEqual([2, 1]);
    expect((await query(db, "from Companies where name = 'ACME'")).json.Results[0].name).toBe("Acme");
  });

  it("includes compare-exchange values named by a field", async () => {
    const db = freshDb();
    await seed(db);
    await bulk(db, [docPut("users/3", { name: "Ref", emailKey: "emails/john@example.com" })]);
    const { json } = await query(db, "from Users where name = 'Ref' include cmpxchg(emailKey)");
    expect(json.CompareExchangeValueIncludes).toEqual({
      "emails/john@example.com": {
        Key: "emails/john@example.com",
        Index: expect.any(Number),
        Value: { Object: "users/1" },
        ChangeVector: null,
      },
    });
  });

  it("refuses unsupported RQL with a clear InvalidQueryException", async () => {
    const db = freshDb();
    const { status, json } = await query(db, "from Users group by name");
    expect([status, json.Type]).toEqual([400, "Raven.Client.Exceptions.InvalidQueryException"]);
    expect(json.Message).toContain("'group by'");
    const refused = async (text: string, construct: string) => {
      const answer = await query(db, text);
      expect([answer.status, answer.json.Type]).toEqual([400, "Raven.Client.Exceptions.InvalidQueryException"]);
      expect(answer.json.Message).toContain(construct);
    };
    await refused("declare value x", "'declare value'");
    await refused("from Users where { a: 1 }", "JavaScript object literals");
    await refused("from Users as u select { n: u.name }, name", "A JavaScript projection beside other fields");
    await refused("from Users where search(name, 'jo*')", "search()");
    await refused("from Users order by random()", "random()");
    await refused("from Users select distinct name", "select distinct");
    await refused("from Users include counters(u)", "counters");
    await refused("from index 'Users/ByName'", "static indexes");
    expect((await query(db, "from Users where id() == cmpxchg($missing)")).status).toBe(400);
    expect((await query(db, "from Users where id() == cmpxchg(42)")).json.Message).toContain("Expected value of type string");
  });

  it("takes limit and offset as $parameters, as the query builder sends them (limit $p0, $p1)", async () => {
    const db = freshDb();
    await bulk(
      db,
      [1, 2, 3, 4, 5].map((n) => docPut(`pages/${n}`, { n }, "Pages")),
    );
    const page = await query(db, "from 'Pages' order by n as long limit $p0, $p1", { p0: 1, p1: 2 });
    expect(page.status).toBe(200);
    expect([page.json.TotalResults, page.json.Results.map((r: any) => r.n)]).toEqual([5, [2, 3]]);
    const named = await query(db, "from Pages order by n as long desc limit $take offset $skip", { take: 2, skip: 1 });
    expect(named.json.Results.map((r: any) => r.n)).toEqual([4, 3]);
    const unlimited = await query(db, "from Pages limit $p0, $p1", { p0: 0, p1: null });
    expect(unlimited.json.Results.length).toBe(5);
    const bad = await query(db, "from Pages limit $p0", { p0: "ten" });
    expect([bad.status, bad.json.Message]).toEqual([400, expect.stringContaining("whole number")]);
    const tooFar = await query(db, "from Pages limit $p0, $p1", { p0: 100_000, p1: 10 });
    expect([tooFar.status, tooFar.json.Message]).toEqual([400, expect.stringContaining("offset plus page size")]);
    const longList = await query(db, "from Pages where n in ($p0)", { p0: Array.from({ length: 5000 }, (_, i) => i) });
    expect([longList.status, longList.json.Message]).toEqual([400, expect.stringContaining("'in' lists")]);
  });

  it("orders by strings (case-insensitive), numbers (as long/double), alphaNumeric, desc and several terms", async () => {
    const db = freshDb();
    const people = [
      { name: "bob", age: 30, code: "a10", score: 1.5 },
      { name: "Alice", age: 9, code: "a9", score: 2.25 },
      { name: "carol", age: 30, code: "a100", score: -1 },
      { name: "Dave", code: "b1", score: 0 },
    ];
    await bulk(
      db,
      people.map((p, i) => docPut(`people/${i + 1}`, p, "People")),
    );
    const names = async (text: string) => (await query(db, text)).json.Results.map((r: any) => r.name);
    expect(await names("from People order by name")).toEqual(["Alice", "bob", "carol", "Dave"]);
    expect(await names("from People order by name desc")).toEqual(["Dave", "carol", "bob", "Alice"]);
    expect(await names("from People order by age as long, name desc")).toEqual(["Dave", "Alice", "carol", "bob"]);
    expect(await names("from People order by age")).toEqual(["Dave", "bob", "carol", "Alice"]); // strings: "30" < "9"
    expect(await names("from People order by score as double desc")).toEqual(["Alice", "bob", "Dave", "carol"]);
    expect(await names("from People order by code as alphaNumeric")).toEqual(["Alice", "bob", "carol", "Dave"]);
    expect(await names("from People order by id() desc limit 2")).toEqual(["Dave", "carol"]);
    // Alice modified last, in a later millisecond than the creation (timestamps have ms resolution).
    await scheduler.wait(20);
    // Single-node: a cluster-wide PUT of an existing document without its atomic guard is a conflict.
    expect((await bulk(db, [docPut("people/2", { ...people[1], touched: true }, "People")], { clusterWide: false })).status).toBe(201);
    expect(await names("from People order by @metadata.@last-modified desc limit 1")).toEqual(["Alice"]);
    expect(await names("from People where @metadata.@id = 'people/3'")).toEqual(["carol"]);
  });

  it("keeps the best window while scanning: order by over more matches than the window", async () => {
    const db = freshDb();
    const n = 300;
    const values = Array.from({ length: n }, (_, i) => (i * 7919) % n); // a permutation of 0..n-1
    for (let i = 0; i < n; i += 100) {
      await bulk(
        db,
        values.slice(i, i + 100).map((v, j) => docPut(`items/${i + j}`, { v }, "Items")),
      );
    }
    const top = await query(db, "from Items order by v as long desc limit $p0, $p1", { p0: 5, p1: 3 });
    expect([top.json.TotalResults, top.json.Results.map((r: any) => r.v)]).toEqual([n, [n - 6, n - 7, n - 8]]);
    const last = await query(db, "from Items order by v as long limit 2 offset 298");
    expect(last.json.Results.map((r: any) => r.v)).toEqual([298, 299]);
  });

  it("where: ranges, between, in, all in, not, startsWith, endsWith, exists, true and not, nested paths", async () => {
    const db = freshDb();
    await bulk(db, [
      docPut("p/1", { name: "Alice", age: 9, tags: ["a", "b"], address: { city: "Paris" } }, "P"),
      docPut("p/2", { name: "Bob", age: 30, tags: ["b"], address: { city: "Rome" } }, "P"),
      docPut("p/3", { name: "Alfred", age: 45, tags: [], lines: [{ product: "x" }, { product: "y" }] }, "P"),
    ]);
    const names = async (text: string, p: Record<string, unknown> = {}) => {
      const answer = await query(db, text, p);
      expect(answer.status, JSON.stringify(answer.json)).toBe(200);
      return answer.json.Results.map((r: any) => r.name).sort();
    };
    expect(await names("from P where age > $p0", { p0: 9 })).toEqual(["Alfred", "Bob"]);
    expect(await names("from P where age >= 9 and age < 45")).toEqual(["Alice", "Bob"]);
    expect(await names("from P where age between $p0 and $p1", { p0: 10, p1: 45 })).toEqual(["Alfred", "Bob"]);
    expect(await names("from P where name in ($p0)", { p0: ["alice", "BOB", "zed"] })).toEqual(["Alice", "Bob"]);
    expect(await names("from P where tags all in ('a', 'b')")).toEqual(["Alice"]);
    expect(await names("from P where tags in ('b')")).toEqual(["Alice", "Bob"]);
    expect(await names("from P where true and not name = $p0", { p0: "bob" })).toEqual(["Alfred", "Alice"]);
    expect(await names("from P where not (age < 10 or age > 40)")).toEqual(["Bob"]);
    expect(await names("from P where startsWith(name, $p0)", { p0: "al" })).toEqual(["Alfred", "Alice"]);
    expect(await names("from P where endsWith(name, 'ED')")).toEqual(["Alfred"]);
    expect(await names("from P where exists(address)")).toEqual(["Alice", "Bob"]);
    expect(await names("from P as p where p.address.city = 'rome'")).toEqual(["Bob"]);
    expect(await names("from P where lines[].product = 'y'")).toEqual(["Alfred"]);
    expect(await names("from P where id() in ($ids)", { ids: ["p/1", "P/3"] })).toEqual(["Alfred", "Alice"]);
  });

  it("select projections, with an alias and with load", async () => {
    const db = freshDb();
    await bulk(db, [
      docPut("companies/1", { name: "Acme", city: "Oslo" }, "Companies"),
      docPut("orders/1", { company: "companies/1", freight: 12.5 }, "Orders"),
      docPut("orders/2", { company: "companies/404", freight: 3 }, "Orders"),
    ]);
    const plain = await query(db, "from Orders select freight order by freight as double");
    expect(plain.status).toBe(400); // select comes after order by in RQL
    const { status, json } = await query(
      db,
      "from Orders as o order by o.freight as double load o.company as c select o.freight as Freight, c.name as Company, id(o) as Id",
    );
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json.Results).toEqual([
      { Freight: 3, Id: "orders/2", "@metadata": expect.objectContaining({ "@projection": true, "@id": "orders/2" }) },
      { Freight: 12.5, Company: "Acme", Id: "orders/1", "@metadata": expect.objectContaining({ "@projection": true, "@id": "orders/1" }) },
    ]);
    const fields = await query(db, "from Orders where freight > 5 select company, freight");
    expect(fields.json.Results.map(({ "@metadata": _, ...r }: any) => r)).toEqual([{ company: "companies/1", freight: 12.5 }]);
  });

  it("include <path> returns the referenced documents in Includes; include cmpxchg('path') the values, missing ones with index -1", async () => {
    const db = freshDb();
    await bulk(db, [
      docPut("companies/1", { name: "Acme" }, "Companies"),
      docPut("orders/1", { company: "companies/1", owner: "owners/ann" }, "Orders"),
      docPut("orders/2", { company: "companies/404", owner: "owners/nobody" }, "Orders"),
      cmpPut("owners/ann", 0, { email: "ann@example.com" }),
    ]);
    const { status, json } = await query(db, "from Orders include company, cmpxchg('owner')");
    expect(status, JSON.stringify(json)).toBe(200);
    expect(Object.keys(json.Includes)).toEqual(["companies/1"]);
    expect(json.Includes["companies/1"]).toMatchObject({ name: "Acme", "@metadata": { "@id": "companies/1" } });
    expect(json.CompareExchangeValueIncludes).toEqual({
      "owners/ann": { Key: "owners/ann", Index: expect.any(Number), Value: { Object: { email: "ann@example.com" } }, ChangeVector: null },
      "owners/nobody": { Key: "owners/nobody", Index: -1, Value: null, ChangeVector: null },
    });
    const aliased = await query(db, "from Orders as o where o.company = $c include o.company, cmpxchg(o.owner)", { c: "companies/1" });
    expect([Object.keys(aliased.json.Includes), Object.keys(aliased.json.CompareExchangeValueIncludes)]).toEqual([
      ["companies/1"],
      ["owners/ann"],
    ]);
  });

  it("lists included documents from many shards in the order asked, so the same query keeps its ETag", async () => {
    const db = freshDb();
    const companies = Array.from({ length: 24 }, (_, i) => `companies/${i}`);
    await bulk(db, [
      ...companies.map((id) => docPut(id, { name: id }, "Companies")),
      ...companies.map((id, i) => docPut(`orders/${String(i).padStart(2, "0")}`, { company: id }, "Orders")),
    ]);
    const ask = () =>
      call(`/databases/${db}/queries?queryHash=order`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ Query: "from Orders order by id() include company" }),
      });
    const etags = new Set<string | null>();
    for (let round = 0; round < 4; round++) {
      const res = await ask();
      expect(Object.keys(((await res.json()) as any).Includes)).toEqual(companies);
      etags.add(res.headers.get("ETag"));
    }
    expect(etags.size).toBe(1);
  });

  it("loads with include= and cmpxchg= return Includes and CompareExchangeValueIncludes", async () => {
    const db = freshDb();
    await bulk(db, [
      docPut("companies/1", { name: "Acme" }, "Companies"),
      docPut("orders/1", { company: "companies/1", owners: ["owners/ann", "owners/bob"] }, "Orders"),
      cmpPut("owners/ann", 0, "ann@example.com"),
    ]);
    const res = await call(`/databases/${db}/docs?id=orders%2F1&include=company&cmpxchg=owners`);
    const json = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(Object.keys(json.Includes)).toEqual(["companies/1"]);
    expect(json.CompareExchangeValueIncludes["owners/ann"]).toMatchObject({
      Index: expect.any(Number),
      Value: { Object: "ann@example.com" },
    });
    expect(json.CompareExchangeValueIncludes["owners/bob"]).toEqual({ Key: "owners/bob", Index: -1, Value: null, ChangeVector: null });
  });

  it("answers with an ETag, 304 to If-None-Match while nothing it returns changed, a new one after a change", async () => {
    const db = freshDb();
    await bulk(db, [docPut("orders/1", { owner: "owners/ann" }, "Orders"), cmpPut("owners/ann", 0, "Ann")]);
    const ask = (etag?: string) =>
      call(`/databases/${db}/queries?queryHash=etag`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...(etag ? { "If-None-Match": etag } : {}) },
        body: JSON.stringify({ Query: "from Orders include cmpxchg(owner)" }),
      });
    const first = await ask();
    const etag = first.headers.get("ETag")!;
    const body = (await first.json()) as any;
    expect(etag).toBe(`"${body.ResultEtag}"`);
    expect(body.ResultEtag).toBeGreaterThan(0);
    const again = await ask(etag);
    expect([again.status, await again.text(), again.headers.get("ETag")]).toEqual([304, "", etag]);

    const item = (await (await call(`/databases/${db}/cmpxchg?key=owners/ann`)).json()) as any;
    await putItem(db, "owners/ann", item.Results[0].Index, "Annie");
    const afterItem = await ask(etag);
    expect(afterItem.status).toBe(200);
    const etag2 = afterItem.headers.get("ETag")!;
    expect(etag2).not.toBe(etag);
    await bulk(db, [docPut("orders/2", { owner: "owners/bob" }, "Orders")]);
    expect((await ask(etag2)).status).toBe(200);
  });
});

// The first query of the file instantiates QuickJS (a slow step on a busy machine): a longer timeout.
describe("JavaScript in queries (declare function, select { … })", { timeout: 30_000 }, () => {
  async function seedCompanies(db: string) {
    await bulk(db, [
      cmpPut("ext/acme", 0, { country: "NO" }),
      docPut("companies/acme", { name: "Acme", externalId: "ext/acme", parentId: "companies/globex", n: 2 }, "Companies"),
      docPut("companies/globex", { name: "Globex", externalId: "ext/none", n: 3 }, "Companies"),
    ]);
  }

  it("declare function with includes.cmpxchg(): the value comes back in CompareExchangeValueIncludes", async () => {
    const db = freshDb();
    await seedCompanies(db);
    const { status, json } = await query(
      db,
      "declare function incl(c) { includes.cmpxchg(c.externalId); return c; } from Companies as c where c.name = 'Acme' select incl(c)",
    );
    expect(status).toBe(200);
    expect(json.Results).toHaveLength(1);
    expect(json.Results[0]).toMatchObject({ name: "Acme", "@metadata": { "@id": "companies/acme", "@projection": true } });
    expect(json.CompareExchangeValueIncludes["ext/acme"]).toMatchObject({ Key: "ext/acme", Value: { Object: { country: "NO" } } });
    expect(json.CompareExchangeValueIncludes["ext/acme"].Index).toBeGreaterThan(0);
  });

  it("select { … } with cmpxchg(), load(), id(), a load clause and $parameters", async () => {
    const db = freshDb();
    await seedCompanies(db);
    const { status, json } = await query(
      db,
      "from Companies as c order by c.name load c.parentId as p select { Name: c.name, Ext: cmpxchg(c.externalId), Parent: load(c.parentId), P: p ? p.name : null, Id: id(c), Twice: c.n * $k }",
      { k: 2 },
    );
    expect(json.Message).toBeUndefined();
    expect(status).toBe(200);
    const [acme, globex] = json.Results;
    expect(acme).toMatchObject({ Name: "Acme", Ext: { country: "NO" }, P: "Globex", Id: "companies/acme", Twice: 4 });
    expect(acme.Parent).toMatchObject({ name: "Globex", "@metadata": { "@id": "companies/globex" } });
    expect(globex).toMatchObject({ Name: "Globex", Ext: null, Parent: null, P: null, Twice: 6 });
    expect(acme["@metadata"]).toMatchObject({ "@projection": true, "@id": "companies/acme" });
  });

  it("a lookup that depends on another one (a cmpxchg() key read from a loaded document)", async () => {
    const db = freshDb();
    await seedCompanies(db);
    const { json } = await query(
      db,
      "from Companies as c where c.name = 'Globex' select { Child: cmpxchg(load('companies/acme').externalId) }",
    );
    expect(json.Results).toEqual([expect.objectContaining({ Child: { country: "NO" } })]);
  });

  it("a runaway function answers 400 JavaScriptException and the next query works", async () => {
    const db = freshDb();
    await seedCompanies(db);
    const runaway = await query(db, "declare function spin(c) { while (true) {} } from Companies as c select spin(c)");
    expect([runaway.status, runaway.json.Type]).toEqual([400, "Raven.Client.Exceptions.Documents.Patching.JavaScriptException"]);
    expect(runaway.json.Message).toContain("CPU budget");
    const bomb = await query(
      db,
      "from Companies as c select { x: (function () { var s = 'x'; for (;;) { s = s + s; s.charCodeAt(0); } })() }",
    );
    expect([bomb.status, bomb.json.Type]).toEqual([400, "Raven.Client.Exceptions.Documents.Patching.JavaScriptException"]);
    // Each + of a long string is charged by its length (core/js-rewrite.ts), so doubling a string
    // spends the CPU budget before it fills the memory (the memory cap: test/js-sandbox.test.ts).
    expect(bomb.json.Message).toContain("CPU budget");
    // Syntax whose one operation is O(n) natively is charged too: for…in over many keys.
    const keys = await query(
      db,
      "declare function keys(c) { var o = {}; for (var i = 0; i < 1e5; i++) o['k' + i] = i; for (;;) { for (var k in o) break; } } from Companies as c select keys(c)",
    );
    expect([keys.status, keys.json.Type]).toEqual([400, "Raven.Client.Exceptions.Documents.Patching.JavaScriptException"]);
    expect(keys.json.Message).toContain("CPU budget");
    const bigint = await query(db, "from Companies as c select { n: 7n ** 20000n }");
    expect([bigint.status, bigint.json.Type]).toEqual([400, "Raven.Client.Exceptions.Documents.Patching.JavaScriptParseException"]);
    expect(bigint.json.Message).toContain("BigInt is not supported");
    // A loop over an expensive built-in (sorting a large array) spends the same budget (worker/js-meter.ts).
    const sorting = await query(
      db,
      "declare function sorts(c) { var a = []; for (var i = 0; i < 1e5; i++) a.push(-i); for (;;) a.sort(); } from Companies as c select sorts(c)",
    );
    expect([sorting.status, sorting.json.Type]).toEqual([400, "Raven.Client.Exceptions.Documents.Patching.JavaScriptException"]);
    expect(sorting.json.Message).toContain("CPU budget");
    // Catastrophic backtracking: QuickJS checks the budget inside the regex engine too.
    const regex = await query(db, "from Companies as c select { m: /(a+)+b/.test('a'.repeat(40)) }");
    expect([regex.status, regex.json.Type]).toEqual([400, "Raven.Client.Exceptions.Documents.Patching.JavaScriptException"]);
    expect(regex.json.Message).toContain("CPU budget");
    const parse = await query(db, "declare function f(c) { return c..x; } from Companies as c select f(c)");
    expect([parse.status, parse.json.Type]).toEqual([400, "Raven.Client.Exceptions.Documents.Patching.JavaScriptParseException"]);
    // While a runaway query runs, the database's shards keep answering other requests.
    const [spinning, item] = await Promise.all([
      query(db, "declare function spin(c) { for (;;) {} } from Companies as c select spin(c)"),
      putItem(db, "during/runaway", 0, "written"),
    ]);
    expect(spinning.json.Type).toBe("Raven.Client.Exceptions.Documents.Patching.JavaScriptException");
    expect(item.Successful).toBe(true);
    const next = await query(db, "from Companies as c where c.name = 'Acme' select { N: c.name }");
    expect(next.status).toBe(200);
    expect(next.json.Results).toEqual([expect.objectContaining({ N: "Acme" })]);
  });
});
