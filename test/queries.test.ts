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
  await bulk(db, [
    docPut("users/1", { name: "John", email: "john@example.com" }),
    cmpPut("emails/john@example.com", 0, "users/1"),
  ]);
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
    expect((await query(db, "from 'Users' where name = cmpxchg($p0)", { p0: "blocked" })).json.Results.map((r: any) => r.name)).toEqual(["Jane"]);
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
      "emails/john@example.com": { Key: "emails/john@example.com", Index: expect.any(Number), Value: { Object: "users/1" } },
    });
  });

  it("refuses unsupported RQL with a clear InvalidQueryException", async () => {
    const db = freshDb();
    const { status, json } = await query(db, "from Users order by name");
    expect([status, json.Type]).toEqual([400, "Raven.Client.Exceptions.InvalidQueryException"]);
    expect(json.Message).toContain("'order by'");
    expect((await query(db, "from Users where id() == cmpxchg($missing)")).status).toBe(400);
    expect((await query(db, "from Users where id() == cmpxchg(42)")).json.Message).toContain("Expected value of type string");
  });
});
