// CmpxchgClient against the Worker (in-process fetch): RavenDB's semantics through the typed API.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ArgumentException,
  ClusterTransactionConcurrencyException,
  CompareExchangeKeyTooBigException,
  expiresIn,
  FormatException,
  InvalidDataException,
  InvalidOperationException,
  ValueTooLargeException,
} from "../../src/client";
import { BASE, clientFor, delay, freshDb, thrown, workerFetch } from "./support";

describe("single items", { timeout: 30_000 }, () => {
  it("create, conflict, get, put with index, delete with index", async () => {
    const client = clientFor(freshDb());
    const created = await client.create("emails/ada@x.com", "users/1");
    expect(created).toMatchObject({ successful: true, value: "users/1", metadata: {} });
    const taken = await client.create("EMAILS/ADA@X.COM", "users/2");
    expect(taken).toEqual({ successful: false, index: created.index, value: "users/1", metadata: {} });

    const item = await client.get<string>("emails/ada@x.com");
    expect(item).toEqual({ key: "emails/ada@x.com", value: "users/1", metadata: {}, index: created.index });

    const stale = await client.put("emails/ada@x.com", "users/3", created.index + 1000);
    expect(stale).toMatchObject({ successful: false, index: created.index, value: "users/1" });
    const updated = await client.put("emails/ada@x.com", "users/3", created.index, { note: "moved" });
    expect(updated).toMatchObject({ successful: true, value: "users/3", metadata: { note: "moved" } });
    expect(updated.index).toBeGreaterThan(created.index);

    expect((await client.delete("emails/ada@x.com", created.index)).successful).toBe(false);
    const deleted = await client.delete<string>("emails/ada@x.com", updated.index);
    expect(deleted).toMatchObject({ successful: true, value: "users/3" });
    expect(await client.get("emails/ada@x.com")).toBeNull();
    // Missing key: RavenDB calls deleting nothing a success.
    expect((await client.delete("emails/ada@x.com", 0)).successful).toBe(true);
  });

  it("a put on a missing key with an index answers index 0 and no value", async () => {
    const client = clientFor(freshDb());
    expect(await client.put("nope", 1, 7)).toEqual({ successful: false, index: 0, value: null, metadata: {} });
  });

  it("keeps JSON values of every kind", async () => {
    const client = clientFor(freshDb());
    const values = [0, -1.5, true, false, "text", null, [1, [2]], { a: { b: [null, "x"] } }, "ünïcödé ✓"];
    for (const [i, value] of values.entries()) {
      expect((await client.create(`v/${i}`, value)).successful).toBe(true);
      expect((await client.get(`v/${i}`))?.value).toEqual(value);
    }
  });

  it("round-trips arbitrary JSON values and metadata (property)", async () => {
    const client = clientFor(freshDb());
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue({ maxDepth: 3 }),
        fc.dictionary(
          fc.string({ maxLength: 8 }).filter((k) => !k.startsWith("@")),
          fc.jsonValue({ maxDepth: 1 }),
          { maxKeys: 3 },
        ),
        async (value, extra) => {
          // JSON itself cannot tell -0 from 0: compare with what JSON can carry.
          const expected = JSON.parse(JSON.stringify(value));
          const metadata = JSON.parse(JSON.stringify(extra));
          const key = `prop/${++n}`;
          const created = await client.create(key, value, metadata);
          expect(created.successful).toBe(true);
          const item = await client.get(key);
          expect(item?.value).toEqual(expected);
          expect(item?.metadata).toEqual(metadata);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("hides an item from its @expires instant", async () => {
    const client = clientFor(freshDb());
    // 1.5 s of margin for the read before the expiry, even on a loaded machine; then past it.
    const first = await client.create("lease", "a", expiresIn(1_500));
    expect(first.metadata["@expires"]).toMatch(/Z$/);
    expect((await client.get("lease"))?.value).toBe("a");
    const expiresAt = Date.parse(first.metadata["@expires"] as string);
    while (Date.now() <= expiresAt) await delay(50);
    expect(await client.get("lease")).toBeNull();
    const second = await client.create("lease", "b");
    expect(second.successful).toBe(true);
    expect(second.index).toBeGreaterThan(first.index);
  });
});

describe("many items and listings", { timeout: 30_000 }, () => {
  it("getMany answers in request order with nulls for missing keys", async () => {
    const client = clientFor(freshDb());
    await client.create("a", 1);
    await client.create("b", 2);
    const items = await client.getMany<number>(["b", "missing", "A"]);
    expect(items.map((item) => item && [item.key, item.value])).toEqual([["b", 2], null, ["A", 1]]);
    expect(await client.getMany(["missing"])).toEqual([null]);
    expect(await client.getMany([])).toEqual([]);
  });

  it("getMany splits long key lists into several requests", async () => {
    const client = clientFor(freshDb());
    const keys = Array.from({ length: 60 }, (_, i) => `long/${String(i).padStart(3, "0")}/${"x".repeat(200)}`);
    for (const key of keys.slice(0, 30)) await client.create(key, key.length);
    const items = await client.getMany(keys);
    expect(items.filter((item) => item !== null)).toHaveLength(30);
    expect(items.slice(30).every((item) => item === null)).toBe(true);
  });

  it("list pages with continuation tokens; pages() and listAll() follow them", async () => {
    const client = clientFor(freshDb());
    for (let i = 0; i < 12; i++) await client.create(`Users/${String(i).padStart(2, "0")}`, i);
    await client.create("other/1", 1);

    const first = await client.list<number>("users/", { pageSize: 5 });
    expect(first.items.map((item) => item.key)).toEqual(["users/00", "users/01", "users/02", "users/03", "users/04"]);
    expect(first.continuationToken).toEqual(expect.any(String));

    const sizes: number[] = [];
    for await (const page of client.pages("users/", { pageSize: 5 })) sizes.push(page.items.length);
    expect(sizes).toEqual([5, 5, 2]);

    const values: number[] = [];
    for await (const item of client.listAll<number>("users/", { pageSize: 4 })) values.push(item.value);
    expect(values).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

    const everything = await client.list("users/", { pageSize: 0 });
    expect(everything.items).toHaveLength(12);
    expect(everything.continuationToken).toBeNull();
  });
});

describe("cluster-wide transactions", { timeout: 30_000 }, () => {
  it("commits items and documents together, with one index", async () => {
    const db = freshDb();
    const client = clientFor(db);
    const seat = await client.create("seats/1", "free");
    const result = await client
      .transaction()
      .put("seats/1", "ada", seat.index)
      .create("bookings/ada", { seat: 1 })
      .putDocument("bookings/1", { who: "ada" }, { collection: "Bookings" })
      .commit();
    expect(result.results).toEqual([
      {
        type: "PUT",
        id: "bookings/1",
        changeVector: expect.stringContaining("RAFT:"),
        collection: "Bookings",
        lastModified: expect.any(String),
      },
      { type: "CompareExchangePUT", key: "seats/1", index: result.index },
      { type: "CompareExchangePUT", key: "bookings/ada", index: result.index },
    ]);
    const [seatNow, booking] = await client.getMany(["seats/1", "bookings/ada"]);
    expect(seatNow?.index).toBe(result.index);
    expect(booking?.index).toBe(result.index);
    const doc = await workerFetch(new Request(`${BASE}/databases/${db}/docs?id=bookings/1`));
    expect(((await doc.json()) as any).Results[0].who).toBe("ada");

    const deleted = await client.transaction().delete("bookings/ada", result.index).deleteDocument("bookings/1").commit();
    expect(deleted.results.map((r) => r.type)).toEqual(["DELETE", "CompareExchangeDELETE"]);
    expect(await client.get("bookings/ada")).toBeNull();
  });

  it("a conflict applies nothing and names every violation", async () => {
    const client = clientFor(freshDb());
    const held = await client.create("emails/x", "users/1");
    await client.transaction().putDocument("users/1", { name: "first" }, { collection: "Users" }).commit();
    const err = await thrown(() =>
      client
        .transaction()
        .create("emails/x", "users/2")
        .create("emails/y", "users/2")
        .putDocument("users/1", { name: "second" }, { collection: "Users" })
        .commit(),
    );
    expect(err).toBeInstanceOf(ClusterTransactionConcurrencyException);
    const violations = (err as ClusterTransactionConcurrencyException).violations;
    expect(violations).toContainEqual({ type: "CompareExchange", id: "emails/x", expected: 0, actual: held.index });
    // The document's atomic guard, named as RavenDB names it.
    expect(violations).toContainEqual({ type: "Document", id: "rvn-atomic/users/1", expected: 0, actual: expect.any(Number) });
    expect(await client.get("emails/y")).toBeNull();
  });

  it("refuses an empty or reused builder, and a batch with one key twice", async () => {
    const client = clientFor(freshDb());
    expect(await thrown(() => client.transaction().commit())).toBeInstanceOf(Error);
    const tx = client.transaction().create("k", 1);
    await tx.commit();
    expect(await thrown(() => tx.commit())).toBeInstanceOf(Error);
    const twice = await thrown(() => client.transaction().create("dup", 1).delete("DUP", 3).commit());
    expect(twice).toBeInstanceOf(InvalidOperationException);
  });
});

describe("typed errors from the server's envelope", { timeout: 30_000 }, () => {
  it("maps Type to RavenDB's exception classes", async () => {
    const client = clientFor(freshDb());
    const tooBig = await thrown(() => client.create("k".repeat(513), 1));
    expect(tooBig).toBeInstanceOf(CompareExchangeKeyTooBigException);
    expect(tooBig).toMatchObject({ status: 400, type: expect.stringContaining("CompareExchangeKeyTooBigException") });

    const badExpiry = await thrown(() => client.create("k", 1, { "@expires": "soon" }));
    expect(badExpiry).toBeInstanceOf(FormatException);

    const blank = await thrown(() => client.put(" ", 1, 0));
    expect(blank).toBeInstanceOf(ArgumentException);

    const negative = await thrown(() => client.put("k", 1, -1));
    expect(negative).toBeInstanceOf(InvalidDataException);

    const large = await thrown(() => client.create("big", "x".repeat(1024 * 1024 + 10)));
    expect(large).toBeInstanceOf(ValueTooLargeException);
  });
});
