// Loads by id answer with an ETag and 304 to an If-None-Match that still holds (the client's HTTP
// cache), and HEAD /docs says whether a document exists with its change vector in the ETag
// (session.advanced.exists), both as RavenDB's server answers them.
import { describe, expect, it } from "vitest";
import type { RavenError } from "../src/core/errors";
import { parseWith, queryObject } from "../src/core/schemas/checked";
import { ExistsQuery } from "../src/core/schemas/documents";
import { bulk, call, cmpPut, docPut, freshDb, putItem } from "./helpers";

const load = (db: string, query: string, etag?: string) =>
  call(`/databases/${db}/docs?${query}`, { headers: etag === undefined ? {} : { "If-None-Match": etag } });

const head = (db: string, query: string, etag?: string) =>
  call(`/databases/${db}/docs?${query}`, { method: "HEAD", headers: etag === undefined ? {} : { "If-None-Match": etag } });

/** Status, body and ETag of an answer. */
async function answer(res: Response) {
  return { status: res.status, body: await res.text(), etag: res.headers.get("ETag") };
}

/** The change vector a load of `id` shows. */
async function changeVector(db: string, id: string): Promise<string> {
  const json = (await (await load(db, `id=${encodeURIComponent(id)}`)).json()) as any;
  return json.Results[0]["@metadata"]["@change-vector"];
}

describe("ETags of loads by id", () => {
  it("one document without includes: its change vector; 304 while it holds, a new one after a write", async () => {
    const db = freshDb("etag");
    await bulk(db, [docPut("users/1", { name: "Ada" })]);
    const first = await load(db, "id=users/1");
    const cv = ((await first.json()) as any).Results[0]["@metadata"]["@change-vector"];
    // A cluster-wide write: `RAFT:n-…,TRXN:n-…`, a tag with a comma in it.
    expect(cv).toContain(",");
    expect(first.headers.get("ETag")).toBe(`"${cv}"`);
    expect(await answer(await load(db, "id=users/1", `"${cv}"`))).toEqual({ status: 304, body: "", etag: `"${cv}"` });

    await bulk(db, [docPut("users/1", { name: "Ada L." })], { clusterWide: false });
    const after = await answer(await load(db, "id=users/1", `"${cv}"`));
    expect(after.status).toBe(200);
    expect(after.body).toContain("Ada L.");
    expect(after.etag).toBe(`"${await changeVector(db, "users/1")}"`);
    expect(after.etag).not.toBe(`"${cv}"`);
  });

  it("with includes: a hash that changes when an included document changes, appears or goes", async () => {
    const db = freshDb("etag");
    await bulk(db, [docPut("users/2", { name: "Bob", partnerId: "users/1" }), docPut("users/1", { name: "Ada" })]);
    const query = "id=users/2&include=partnerId";
    const first = await load(db, query);
    const etag = first.headers.get("ETag")!;
    expect(etag).toMatch(/^"Hash-\d+"$/);
    expect(Object.keys(((await first.json()) as any).Includes)).toEqual(["users/1"]);
    expect(await answer(await load(db, query, etag))).toEqual({ status: 304, body: "", etag });

    // The included document changes; the loaded one does not.
    expect((await bulk(db, [docPut("users/1", { name: "Ada L." })], { clusterWide: false })).status).toBe(201);
    const changed = await answer(await load(db, query, etag));
    expect(changed.status).toBe(200);
    expect(changed.body).toContain("Ada L.");
    expect(changed.etag).not.toBe(etag);
    expect((await load(db, query, changed.etag!)).status).toBe(304);

    // It goes, and comes back.
    expect((await bulk(db, [{ Type: "DELETE", Id: "users/1", ChangeVector: null }], { clusterWide: false })).status).toBe(201);
    const gone = await answer(await load(db, query, changed.etag!));
    expect([gone.status, JSON.parse(gone.body).Includes]).toEqual([200, {}]);
    expect((await bulk(db, [docPut("users/1", { name: "Ada L." })], { clusterWide: false })).status).toBe(201);
    const back = await answer(await load(db, query, gone.etag!));
    expect(back.status).toBe(200);
    expect(new Set([etag, changed.etag, gone.etag, back.etag]).size).toBe(4);
  });

  it("several ids: a missing one that appears changes the ETag", async () => {
    const db = freshDb("etag");
    await bulk(db, [docPut("users/1", { name: "Ada" })]);
    const query = "id=users/1&id=users/2";
    const first = await answer(await load(db, query));
    expect(JSON.parse(first.body).Results[1]).toBeNull();
    expect((await load(db, query, first.etag!)).status).toBe(304);
    await bulk(db, [docPut("users/2", { name: "Bob" })]);
    const after = await answer(await load(db, query, first.etag!));
    expect(after.status).toBe(200);
    expect(after.etag).not.toBe(first.etag);
  });

  it("included compare-exchange values: their indexes are in the ETag", async () => {
    const db = freshDb("etag");
    await bulk(db, [docPut("orders/1", { owner: "owners/ann" }, "Orders"), cmpPut("owners/ann", 0, "Ann")]);
    const query = "id=orders/1&cmpxchg=owner";
    const first = await answer(await load(db, query));
    expect(first.etag).toMatch(/^"Hash-\d+"$/);
    expect((await load(db, query, first.etag!)).status).toBe(304);
    const index = JSON.parse(first.body).CompareExchangeValueIncludes["owners/ann"].Index;
    await putItem(db, "owners/ann", index, "Annie");
    const after = await answer(await load(db, query, first.etag!));
    expect(after.status).toBe(200);
    expect(after.body).toContain("Annie");
    expect(after.etag).not.toBe(first.etag);
  });

  it("a single missing id: 404, and 304 to the `404 Response` tag the client caches it under", async () => {
    const db = freshDb("etag");
    expect(await answer(await load(db, "id=users/9"))).toEqual({ status: 404, body: "", etag: null });
    expect((await load(db, "id=users/9", '"404 Response"')).status).toBe(304);
    await bulk(db, [docPut("users/9", { name: "Nine" })]);
    expect((await load(db, "id=users/9", '"404 Response"')).status).toBe(200);
  });

  it("POST /docs (many ids) answers with the same ETag and 304", async () => {
    const db = freshDb("etag");
    await bulk(db, [docPut("users/1", { name: "Ada" })]);
    const post = (etag?: string) =>
      call(`/databases/${db}/docs`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...(etag ? { "If-None-Match": etag } : {}) },
        body: JSON.stringify({ Ids: ["users/1", "users/2"] }),
      });
    const etag = (await post()).headers.get("ETag")!;
    expect(etag).toBe((await load(db, "id=users/1&id=users/2")).headers.get("ETag"));
    expect((await post(etag)).status).toBe(304);
  });

  it("a lazy load (multi_get) carries the ETag, and an inner If-None-Match that holds answers 304", async () => {
    const db = freshDb("etag");
    await bulk(db, [docPut("users/1", { name: "Ada" })]);
    const etag = `"${await changeVector(db, "users/1")}"`;
    const res = await call(`/databases/${db}/multi_get`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        Requests: [
          { Url: `/databases/${db}/docs`, Query: "?id=users/1" },
          { Url: `/databases/${db}/docs`, Query: "?id=users/1", Headers: { "If-None-Match": etag } },
        ],
      }),
    });
    const { Results } = (await res.json()) as { Results: { StatusCode: number; Headers: { ETag?: string }; Result: unknown }[] };
    expect(Results.map((r) => [r.StatusCode, r.Headers.ETag])).toEqual([
      [200, etag],
      [304, etag],
    ]);
    expect(Results[1]!.Result).toBeNull();
  });
});

describe("HEAD /databases/{db}/docs", () => {
  it("200 with the change vector as ETag and no body; 304 to it (bare or quoted); 404 when missing", async () => {
    const db = freshDb("head");
    await bulk(db, [docPut("users/1", { name: "Ada" })]);
    const cv = await changeVector(db, "users/1");
    expect(await answer(await head(db, "id=users/1"))).toEqual({ status: 200, body: "", etag: `"${cv}"` });
    expect(await answer(await head(db, "id=USERS/1"))).toEqual({ status: 200, body: "", etag: `"${cv}"` });
    // The client sends the change vector bare; it holds a comma here (a cluster-wide write).
    expect((await head(db, "id=users/1", cv)).status).toBe(304);
    expect((await head(db, "id=users/1", `"${cv}"`)).status).toBe(304);
    expect((await head(db, "id=users/1", "A:1-stale")).status).toBe(200);
    expect(await answer(await head(db, "id=users/10"))).toEqual({ status: 404, body: "", etag: null });

    await bulk(db, [docPut("users/1", { name: "Ada L." })], { clusterWide: false });
    const after = await answer(await head(db, "id=users/1", cv));
    expect(after.status).toBe(200);
    expect(after.etag).toBe(`"${await changeVector(db, "users/1")}"`);
  });

  it("needs exactly one non-empty id: 400, with RavenDB's ArgumentException (read from the schema: a HEAD has no body)", async () => {
    const db = freshDb("head");
    const verdict = (query: string) => {
      try {
        parseWith(ExistsQuery, queryObject(ExistsQuery, new URLSearchParams(query)));
        return null;
      } catch (err) {
        return [(err as RavenError).status, (err as RavenError).type, (err as RavenError).message];
      }
    };
    for (const [query, message] of [
      ["", "Query string value 'id' must have a non empty value"],
      ["id=%20", "Query string value 'id' must have a non empty value"],
      ["id=a&id=b", "Query string value 'id' must appear exactly once"],
    ] as const) {
      expect(verdict(query), query).toEqual([400, "System.ArgumentException", message]);
      expect((await head(db, query)).status, query).toBe(400);
    }
    expect(verdict("id=users/1")).toBeNull();
  });

  it("a GET of the same path still loads (HEAD is handed to its own operation only)", async () => {
    const db = freshDb("head");
    await bulk(db, [docPut("users/1", { name: "Ada" })]);
    const res = await load(db, "id=users/1");
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).Results[0].name).toBe("Ada");
  });
});
