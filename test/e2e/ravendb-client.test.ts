/// <reference types="node" />
/**
 * The unmodified official RavenDB Node.js client (`ravendb` 7.2.2) against `wrangler dev`.
 * One server for the file; every test uses its own database, so tests share nothing.
 */
import {
  DeleteCompareExchangeValueOperation,
  DocumentStore,
  GetCompareExchangeValueOperation,
  GetCompareExchangeValuesOperation,
  PutCompareExchangeValueOperation,
  type IMetadataDictionary,
} from "ravendb";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { startWranglerDev, type WranglerDev, printServerLogsOnFailure } from "./wrangler-dev";

let server: WranglerDev | undefined;
const openStores: DocumentStore[] = [];
let dbCounter = 0;

beforeAll(async () => {
  server = await startWranglerDev();
});

afterEach(() => {
  for (const store of openStores.splice(0)) store.dispose();
});

printServerLogsOnFailure(() => server);

afterAll(async () => {
  for (const store of openStores.splice(0)) store.dispose();
  await server?.stop();
});

/** A store on a database no other test uses. */
function openStore(): DocumentStore {
  if (!server) throw new Error("wrangler dev did not start");
  const database = `e2e_${Date.now()}_${process.pid}_${++dbCounter}`;
  const store = new DocumentStore(server.url, database);
  store.initialize();
  openStores.push(store);
  return store;
}

/** Plain metadata objects work at runtime; the client's typings want an IMetadataDictionary. */
const meta = (fields: Record<string, unknown>) => fields as unknown as IMetadataDictionary;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/*
 * About "missing": for a single key the server answers 404 with an empty body (raw-http.test.ts
 * pins that), and the 7.2.2 client then leaves the command result unset, so
 * GetCompareExchangeValueOperation resolves to `undefined`, not `null`.
 */

describe("official client: compare-exchange operations", () => {
  test("create with index 0, then a second create fails and returns the current value", async () => {
    const ops = openStore().operations;

    const created = await ops.send(new PutCompareExchangeValueOperation("emails/alice", "users/1", 0));
    expect(created.successful).toBe(true);
    expect(created.value).toBe("users/1");
    expect(created.index).toBeGreaterThan(0);

    const again = await ops.send(new PutCompareExchangeValueOperation("emails/alice", "users/999", 0));
    expect(again.successful).toBe(false);
    expect(again.value).toBe("users/1");
    expect(again.index).toBe(created.index);
  });

  test("get an existing key returns value and index; a missing key gives no value", async () => {
    const ops = openStore().operations;
    const created = await ops.send(new PutCompareExchangeValueOperation("counters/1", 42, 0));
    expect(created.successful).toBe(true);

    const got = await ops.send(new GetCompareExchangeValueOperation<number>("counters/1"));
    expect(got).toBeTruthy();
    expect(got!.key).toBe("counters/1");
    expect(got!.value).toBe(42);
    expect(got!.index).toBe(created.index);

    const missing = await ops.send(new GetCompareExchangeValueOperation("counters/none"));
    expect(missing).toBeUndefined();
  });

  test("update with the right index succeeds with a higher index; a stale index fails", async () => {
    const ops = openStore().operations;
    const v1 = await ops.send(new PutCompareExchangeValueOperation("config/a", { name: "v1" }, 0));
    expect(v1.successful).toBe(true);

    const v2 = await ops.send(new PutCompareExchangeValueOperation("config/a", { name: "v2" }, v1.index));
    expect(v2.successful).toBe(true);
    expect(v2.value).toEqual({ name: "v2" });
    expect(v2.index).toBeGreaterThan(v1.index);

    const stale = await ops.send(new PutCompareExchangeValueOperation("config/a", { name: "stale" }, v1.index));
    expect(stale.successful).toBe(false);
    expect(stale.value).toEqual({ name: "v2" });
    expect(stale.index).toBe(v2.index);

    const got = await ops.send(new GetCompareExchangeValueOperation<{ name: string }>("config/a"));
    expect(got!.value).toEqual({ name: "v2" });
    expect(got!.index).toBe(v2.index);
  });

  test("nested objects and metadata round-trip", async () => {
    const ops = openStore().operations;
    const value = {
      name: "Alice",
      tags: ["x", "y"],
      nested: { n: 1, deeper: { ok: true, list: [1, { two: 2 }], none: null } },
      unicode: "fĀthēr&s0n ✓",
    };
    const put = await ops.send(new PutCompareExchangeValueOperation("profiles/alice", value, 0, meta({ "custom-flag": true })));
    expect(put.successful).toBe(true);
    expect(put.value).toEqual(value);

    const got = await ops.send(new GetCompareExchangeValueOperation<typeof value>("profiles/alice"));
    expect(got!.value).toEqual(value);
    expect(got!.index).toBe(put.index);
    expect(got!.metadata["custom-flag"]).toBe(true);
    expect({ ...got!.metadata }).toEqual({ "custom-flag": true });
  });

  test("keys are case-insensitive and a get echoes the key as sent", async () => {
    const ops = openStore().operations;
    const put = await ops.send(new PutCompareExchangeValueOperation("Emails/Alice@Example.com", "users/1", 0));
    expect(put.successful).toBe(true);

    const got = await ops.send(new GetCompareExchangeValueOperation<string>("emails/alice@example.com"));
    expect(got!.key).toBe("emails/alice@example.com");
    expect(got!.value).toBe("users/1");
    expect(got!.index).toBe(put.index);

    const upper = await ops.send(new PutCompareExchangeValueOperation("EMAILS/ALICE@EXAMPLE.COM", "users/2", 0));
    expect(upper.successful).toBe(false);
    expect(upper.value).toBe("users/1");
    expect(upper.index).toBe(put.index);
  });

  test("get many keys: keys echoed as sent, a missing key is an entry with value null and index -1", async () => {
    const ops = openStore().operations;
    const a = await ops.send(new PutCompareExchangeValueOperation("multi/a", "A", 0));
    const b = await ops.send(new PutCompareExchangeValueOperation("multi/b", { b: 2 }, 0, meta({ m: "b" })));

    const results = await ops.send(new GetCompareExchangeValuesOperation<unknown>({ keys: ["Multi/A", "multi/b", "multi/missing"] }));
    expect(Object.keys(results)).toEqual(["Multi/A", "multi/b", "multi/missing"]);

    expect(results["Multi/A"]!.key).toBe("Multi/A");
    expect(results["Multi/A"]!.value).toBe("A");
    expect(results["Multi/A"]!.index).toBe(a.index);

    expect(results["multi/b"]!.value).toEqual({ b: 2 });
    expect(results["multi/b"]!.index).toBe(b.index);
    expect(results["multi/b"]!.metadata.m).toBe("b");

    // What 7.2.2 makes of RavenDB's {"Key":k,"Value":null,"Index":-1}: an entry, not an absence.
    const missing = results["multi/missing"]!;
    expect(missing.key).toBe("multi/missing");
    expect(missing.value).toBeNull();
    expect(missing.index).toBe(-1);

    // A list of one missing key is a single-key GET: 404 (as RavenDB), which 7.2.2 turns into {}.
    const onlyMissing = await ops.send(new GetCompareExchangeValuesOperation<unknown>({ keys: ["multi/missing"] }));
    expect(onlyMissing).toEqual({});
  });

  test("prefix listing pages by start/pageSize in key order", async () => {
    const ops = openStore().operations;
    const all = Array.from({ length: 10 }, (_, i) => `page/${String(i).padStart(2, "0")}`);
    // Neighbours that sort right before/after the prefix range must never show up.
    await Promise.all(
      [...all, "pagf/x", "pag/x", "page", "pagez/x"].map((key) =>
        ops.send(new PutCompareExchangeValueOperation(key, { key }, 0)).then((r) => expect(r.successful).toBe(true)),
      ),
    );

    const slice = async (start: number, pageSize: number) => {
      const results = await ops.send(new GetCompareExchangeValuesOperation<{ key: string }>({ startWith: "page/", start, pageSize }));
      for (const [key, item] of Object.entries(results)) {
        expect(item.key).toBe(key);
        expect(item.value).toEqual({ key });
        expect(item.index).toBeGreaterThan(0);
      }
      return Object.keys(results);
    };

    expect(await slice(0, 3)).toEqual(["page/00", "page/01", "page/02"]);
    expect(await slice(3, 3)).toEqual(["page/03", "page/04", "page/05"]);
    expect(await slice(8, 5)).toEqual(["page/08", "page/09"]);

    // No pageSize: everything under the prefix, in order.
    const everything = await ops.send(new GetCompareExchangeValuesOperation<unknown>({ startWith: "page/" }));
    expect(Object.keys(everything)).toEqual(all);

    // The prefix is case-insensitive and listed keys come back lower-cased, as RavenDB stores them.
    const upper = await ops.send(new GetCompareExchangeValuesOperation<unknown>({ startWith: "PAGE/", start: 9, pageSize: 5 }));
    expect(Object.keys(upper)).toEqual(["page/09"]);
  });

  test("delete with a wrong index fails and keeps the item; the right index deletes it", async () => {
    const ops = openStore().operations;
    const put = await ops.send(new PutCompareExchangeValueOperation("locks/1", { owner: "a" }, 0));
    expect(put.successful).toBe(true);

    const wrong = await ops.send(new DeleteCompareExchangeValueOperation<{ owner: string }>("locks/1", put.index + 1000));
    expect(wrong.successful).toBe(false);
    expect(wrong.value).toEqual({ owner: "a" });
    expect(wrong.index).toBe(put.index);

    const zero = await ops.send(new DeleteCompareExchangeValueOperation<{ owner: string }>("locks/1", 0));
    expect(zero.successful).toBe(false);
    expect(zero.index).toBe(put.index);

    const survived = await ops.send(new GetCompareExchangeValueOperation<{ owner: string }>("locks/1"));
    expect(survived!.value).toEqual({ owner: "a" });
    expect(survived!.index).toBe(put.index);

    const deleted = await ops.send(new DeleteCompareExchangeValueOperation<{ owner: string }>("locks/1", put.index));
    expect(deleted.successful).toBe(true);
    expect(deleted.value).toEqual({ owner: "a" }); // the deleted value
    expect(deleted.index).toBeGreaterThan(put.index);

    expect(await ops.send(new GetCompareExchangeValueOperation("locks/1"))).toBeUndefined();

    // Re-creating after the delete works and gets a newer index.
    const again = await ops.send(new PutCompareExchangeValueOperation("locks/1", { owner: "b" }, 0));
    expect(again.successful).toBe(true);
    expect(again.index).toBeGreaterThan(deleted.index);
  });

  test("an item with @expires is absent from its expiry on, and can then be created again", async () => {
    const ops = openStore().operations;
    const expires = new Date(Date.now() + 2_000).toISOString();
    const put = await ops.send(new PutCompareExchangeValueOperation("sessions/1", { user: "u1" }, 0, meta({ "@expires": expires })));
    expect(put.successful).toBe(true);
    const keep = await ops.send(new PutCompareExchangeValueOperation("sessions/keep", { user: "k" }, 0));
    expect(keep.successful).toBe(true);

    const now = await ops.send(new GetCompareExchangeValueOperation<{ user: string }>("sessions/1"));
    expect(now!.value).toEqual({ user: "u1" });
    expect(now!.index).toBe(put.index);
    expect(now!.metadata["@expires"]).toBe(expires);

    await sleep(Math.max(0, Date.parse(expires) - Date.now()) + 1_000);

    // Deliberate deviation from RavenDB (which shows expired items until its ~60 s sweep).
    expect(await ops.send(new GetCompareExchangeValueOperation("sessions/1"))).toBeUndefined();
    const many = await ops.send(new GetCompareExchangeValuesOperation<unknown>({ keys: ["sessions/1", "sessions/keep"] }));
    expect(many["sessions/1"]!.index).toBe(-1);
    expect(many["sessions/1"]!.value).toBeNull();
    expect(many["sessions/keep"]!.index).toBe(keep.index);
    const listed = await ops.send(new GetCompareExchangeValuesOperation<unknown>({ startWith: "sessions/" }));
    expect(Object.keys(listed)).toEqual(["sessions/keep"]);

    const recreated = await ops.send(new PutCompareExchangeValueOperation("sessions/1", { user: "u2" }, 0));
    expect(recreated.successful).toBe(true);
    expect(recreated.value).toEqual({ user: "u2" });
    expect(recreated.index).toBeGreaterThan(put.index);

    const after = await ops.send(new GetCompareExchangeValueOperation<{ user: string }>("sessions/1"));
    expect(after!.value).toEqual({ user: "u2" });
    expect(after!.index).toBe(recreated.index);
  });

  test("a 513-character key is refused with CompareExchangeKeyTooBigException; 512 is fine", async () => {
    const ops = openStore().operations;
    let caught: unknown;
    try {
      await ops.send(new PutCompareExchangeValueOperation("k".repeat(513), "v", 0));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).name).toBe("CompareExchangeKeyTooBigException");
    expect((caught as Error).message).toContain("513");

    const ok = await ops.send(new PutCompareExchangeValueOperation("k".repeat(512), "v", 0));
    expect(ok.successful).toBe(true);
  });

  test("20 concurrent creates of one key: exactly one wins, the rest see the winner", async () => {
    const ops = openStore().operations;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ops.send(new PutCompareExchangeValueOperation("race/key", `writer-${i}`, 0))),
    );
    const winners = results.filter((r) => r.successful);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    expect(winner.index).toBeGreaterThan(0);
    for (const loser of results.filter((r) => !r.successful)) {
      expect(loser.index).toBe(winner.index);
      expect(loser.value).toBe(winner.value);
    }
    const got = await ops.send(new GetCompareExchangeValueOperation<string>("race/key"));
    expect(got!.value).toBe(winner.value);
    expect(got!.index).toBe(winner.index);
  });
});
