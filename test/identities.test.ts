// Identities over HTTP: server-side ids in batches and PUT /docs, and the identity endpoints.
import { describe, expect, it } from "vitest";
import { bulk, call, cmpPut, docPut, freshDb } from "./helpers";

const ids = (json: any) => json.Results.filter((r: any) => r.Type === "PUT" && r["@id"]).map((r: any) => r["@id"]);
const post = async (path: string) => {
  const res = await call(path, { method: "POST" });
  return { status: res.status, json: (await res.json()) as any };
};

describe("identities", () => {
  it("gives ids ending in '|' consecutive identities in command order, per prefix, case-insensitively", async () => {
    const db = freshDb();
    const first = await bulk(db, [docPut("people|", { n: 1 }), docPut("dogs|", { n: 2 }), docPut("People|", { n: 3 })], {
      clusterWide: false,
    });
    expect(first.status, JSON.stringify(first.json)).toBe(201);
    expect(ids(first.json)).toEqual(["people/1", "dogs/1", "People/2"]);
    const cluster = await bulk(db, [docPut("people|", { n: 4 }), cmpPut("names/x", 0, "people")]);
    expect(cluster.status, JSON.stringify(cluster.json)).toBe(201);
    expect(ids(cluster.json)).toEqual(["people/3"]);
    const loaded = (await (await call(`/databases/${db}/docs?id=people/3`)).json()) as any;
    expect(loaded.Results[0]).toMatchObject({ n: 4, "@metadata": { "@id": "people/3", "@flags": "FromClusterTransaction" } });
    // The atomic guard was made for the resolved id.
    const guard = (await (await call(`/databases/${db}/cmpxchg?key=rvn-atomic/people/3`)).json()) as any;
    expect(guard.Results[0].Value).toEqual({ Object: { Id: "people/3" } });
  });

  it("next, seed (raise or force) and list identities; PUT /docs?id=people| takes the next one", async () => {
    const db = freshDb();
    expect((await post(`/databases/${db}/identity/next?name=people`)).json).toEqual({ NewIdentityValue: 1 });
    expect((await post(`/databases/${db}/identity/next?name=People|`)).json).toEqual({ NewIdentityValue: 2 });
    expect((await post(`/databases/${db}/identity/seed?name=people&value=10`)).json).toEqual({ NewSeedValue: 10 });
    expect((await post(`/databases/${db}/identity/seed?name=people&value=5`)).json).toEqual({ NewSeedValue: 10 });
    expect((await post(`/databases/${db}/identity/seed?name=dogs&value=5&force=true`)).json).toEqual({ NewSeedValue: 5 });
    const put = await call(`/databases/${db}/docs?id=${encodeURIComponent("people|")}`, { method: "PUT", body: JSON.stringify({ n: 1 }) });
    expect([put.status, ((await put.json()) as any).Id]).toEqual([201, "people/11"]);
    const listed = (await (await call(`/databases/${db}/debug/identities`)).json()) as any;
    expect(listed).toEqual({ "dogs|": 5, "people|": 11 });
    const stats = (await (await call(`/databases/${db}/stats/detailed`)).json()) as any;
    expect([stats.CountOfIdentities, stats.CountOfDocuments]).toEqual([2, 1]);
    expect((await post(`/databases/${db}/identity/next`)).status).toBe(400);
    expect((await post(`/databases/${db}/identity/seed?name=x&value=abc`)).status).toBe(400);
  });

  it("gives ids ending in '/' unique server-generated ids; refuses them in cluster-wide transactions as RavenDB does", async () => {
    const db = freshDb();
    const { status, json } = await bulk(db, [docPut("orders/", { a: 1 }), docPut("orders/", { a: 2 }), docPut("items/", { a: 3 })], {
      clusterWide: false,
    });
    expect(status, JSON.stringify(json)).toBe(201);
    const made = ids(json);
    expect(made).toHaveLength(3);
    for (const id of made) expect(id).toMatch(/^(orders|items)\/\d{19}-A$/);
    expect(new Set(made).size).toBe(3);
    const refused = await bulk(db, [docPut("orders/", { a: 1 })]);
    expect([refused.status, refused.json.Type]).toEqual([400, "Raven.Server.Rachis.RachisApplyException"]);
    expect(refused.json.Message).toBe("Document id orders/ cannot end with '|' or '/' as part of cluster transaction");
  });
});
