// Unique values: one owner per key, release only by the owner, and reservation + document in
// one cluster-wide transaction under concurrency.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CmpxchgServiceClient, releaseUnique, reserveUnique, reserveUniqueWithDocument } from "../../src/client";
import { BASE, clientFor, freshDb, workerFetch } from "./support";

async function loadDoc(db: string, id: string): Promise<Record<string, any> | null> {
  const res = await workerFetch(new Request(`${BASE}/databases/${db}/docs?id=${encodeURIComponent(id)}`));
  if (res.status === 404) return null;
  return ((await res.json()) as any).Results[0];
}

describe("reserveUnique / releaseUnique", { timeout: 30_000 }, () => {
  it("one owner per key; re-reserving is idempotent; only the owner releases", async () => {
    const client = clientFor(freshDb("uniq"));
    const ada = await reserveUnique(client, "usernames/ada", "users/1");
    expect(ada).toMatchObject({ reserved: true, owner: "users/1", key: "usernames/ada" });
    expect(await reserveUnique(client, "usernames/ada", "users/1")).toMatchObject({ reserved: true, owner: "users/1", index: ada.index });
    expect(await reserveUnique(client, "usernames/ADA", "users/2")).toMatchObject({ reserved: false, owner: "users/1", index: ada.index });

    expect(await releaseUnique(client, "usernames/ada", "users/2")).toBe(false);
    expect(await releaseUnique(client, "usernames/ada", "users/1")).toBe(true);
    expect(await releaseUnique(client, "usernames/ada", "users/1")).toBe(false);
    expect(await reserveUnique(client, "usernames/ada", "users/2")).toMatchObject({ reserved: true, owner: "users/2" });
  });

  it("10 concurrent reservations of one key: exactly one wins", async () => {
    const db = freshDb("uniq");
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => reserveUnique(clientFor(db), "seats/12A", `users/${i}`)));
    const winners = results.filter((r) => r.reserved);
    expect(winners).toHaveLength(1);
    expect(results.every((r) => r.owner === winners[0]!.owner)).toBe(true);
  });
});

describe("reserveUniqueWithDocument", { timeout: 60_000 }, () => {
  it("writes the reservation and the document together", async () => {
    const db = freshDb("uniq");
    const client = clientFor(db);
    const result = await reserveUniqueWithDocument(client, "emails/ada@x.com", "users/1", "users/1", { email: "ada@x.com" }, "Users");
    expect(result).toMatchObject({ reserved: true, owner: "users/1", violations: [] });
    expect(await client.get("emails/ada@x.com")).toMatchObject({ value: "users/1", index: result.index });
    const doc = await loadDoc(db, "users/1");
    expect(doc).toMatchObject({ email: "ada@x.com", "@metadata": { "@collection": "Users" } });

    // The documented query finds the user the reservation points at.
    const query = await workerFetch(
      new Request(`${BASE}/databases/${db}/queries`, {
        method: "POST",
        body: JSON.stringify({ Query: "from Users where id() == cmpxchg('emails/ada@x.com')" }),
      }),
    );
    expect(((await query.json()) as any).Results.map((d: any) => d.email)).toEqual(["ada@x.com"]);
  });

  it("writes nothing when the key is taken, or when the document id is", async () => {
    const db = freshDb("uniq");
    const client = clientFor(db);
    await reserveUniqueWithDocument(client, "emails/ada@x.com", "users/1", "users/1", { n: 1 }, "Users");

    const keyTaken = await reserveUniqueWithDocument(client, "emails/ada@x.com", "users/2", "users/2", { n: 2 }, "Users");
    expect(keyTaken).toMatchObject({ reserved: false, owner: "users/1" });
    expect(keyTaken.violations).toEqual([{ type: "CompareExchange", id: "emails/ada@x.com", expected: 0, actual: expect.any(Number) }]);
    expect(await loadDoc(db, "users/2")).toBeNull();

    const docTaken = await reserveUniqueWithDocument(client, "emails/eve@x.com", "users/1", "users/1", { n: 3 }, "Users");
    expect(docTaken).toMatchObject({ reserved: false, owner: null });
    expect(docTaken.violations.map((v) => v.type)).toEqual(["Document"]);
    expect(await client.get("emails/eve@x.com")).toBeNull();
    expect((await loadDoc(db, "users/1"))?.n).toBe(1);
  });

  it("10 concurrent signups with one email: exactly one wins and only its document exists", async () => {
    const db = freshDb("uniq");
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        reserveUniqueWithDocument(clientFor(db), "emails/race@x.com", `users/${i}`, `users/${i}`, { email: "race@x.com", i }, "Users"),
      ),
    );
    const winners = results.filter((r) => r.reserved);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.owner!;
    expect(results.filter((r) => !r.reserved).every((r) => r.owner === winner)).toBe(true);
    expect((await clientFor(db).get("emails/race@x.com"))?.value).toBe(winner);
    const docs = await Promise.all(Array.from({ length: 10 }, (_, i) => loadDoc(db, `users/${i}`)));
    const existing = docs.filter((d) => d !== null);
    expect(existing).toHaveLength(1);
    expect(existing[0]!["@metadata"]["@id"].toLowerCase()).toBe(winner);
  });

  it("works the same through the Service Binding", async () => {
    const db = freshDb("uniq");
    const client = new CmpxchgServiceClient(exports.CmpxchgService, db);
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        reserveUniqueWithDocument(client, "emails/svc@x.com", `users/${i}`, `users/${i}`, { i }, "Users"),
      ),
    );
    expect(results.filter((r) => r.reserved)).toHaveLength(1);
  });
});
