// transaction().check(key, index): our CompareExchangeCHECK through the edge client (HTTP, in
// process) and through the Service Binding (the raw RPC method and CmpxchgServiceClient).
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ClusterTransactionConcurrencyException, type CmpxchgApi, CmpxchgServiceClient, InvalidDataException } from "../../src/client";
import { clientFor, freshDb, thrown } from "./support";

const surfaces: [string, (db: string) => CmpxchgApi][] = [
  ["CmpxchgClient (HTTP)", (db) => clientFor(db)],
  ["CmpxchgServiceClient (Service Binding)", (db) => new CmpxchgServiceClient(exports.CmpxchgService, db)],
];

describe.each(surfaces)("transaction().check through %s", { timeout: 30_000 }, (_name, connect) => {
  it("commits when the index holds, writes nothing for the checked key, and answers its index", async () => {
    const db = connect(freshDb("check"));
    const owner = await db.create("tenants/acme/owner", "users/1");
    const result = await db
      .transaction()
      .check("tenants/acme/owner", owner.index)
      .create("orders/7/claim", "w1")
      .check("free/slot", 0)
      .commit();
    expect(result.results).toEqual([
      { type: "CompareExchangeCHECK", key: "tenants/acme/owner", index: owner.index },
      { type: "CompareExchangePUT", key: "orders/7/claim", index: result.index },
      { type: "CompareExchangeCHECK", key: "free/slot", index: 0 },
    ]);
    expect(result.index).toBeGreaterThan(owner.index);
    expect(await db.get("tenants/acme/owner")).toMatchObject({ value: "users/1", index: owner.index });
    expect(await db.get("free/slot")).toBeNull();
    expect(await db.get("orders/7/claim")).toMatchObject({ value: "w1", index: result.index });
  });

  it("throws ClusterTransactionConcurrencyException with the violation when the index moved, and writes nothing", async () => {
    const db = connect(freshDb("check"));
    const owner = await db.create("tenants/acme/owner", "users/1");
    const moved = await db.put("tenants/acme/owner", "users/2", owner.index);
    const conflict = await thrown(() => db.transaction().check("tenants/acme/owner", owner.index).create("orders/8/claim", "w1").commit());
    expect(conflict).toBeInstanceOf(ClusterTransactionConcurrencyException);
    expect((conflict as ClusterTransactionConcurrencyException).message).toContain(
      "Concurrency check failed for checking the key 'tenants/acme/owner'",
    );
    expect((conflict as ClusterTransactionConcurrencyException).violations).toEqual([
      { type: "CompareExchange", id: "tenants/acme/owner", expected: owner.index, actual: moved.index },
    ]);
    expect(await db.get("orders/8/claim")).toBeNull();
  });
});

describe("check through the raw Service Binding and the client's own validation", { timeout: 30_000 }, () => {
  it("a check is no change: watchers of the checked key see the next real write first", async () => {
    const db = clientFor(freshDb("check_watch"));
    const owner = await db.create("owners/1", "users/1");
    const stream = db.watch<string>("owners/1");
    await stream.ready;
    await db.transaction().check("owners/1", owner.index).create("owned/1", "x").commit();
    const moved = await db.put("owners/1", "users/2", owner.index);
    const event = await stream.next();
    expect(event.value).toMatchObject({ type: "Put", key: "owners/1", index: moved.index, value: "users/2" });
    await stream.return();
  });

  it("the RPC method takes the command as plain data and answers a failed check as a value", async () => {
    const db = freshDb("check_rpc");
    const service = exports.CmpxchgService;
    const created = await service.create(db, "flags/on", true);
    const ok = await service.transaction(db, [
      { type: "CompareExchangeCHECK", key: "flags/on", index: created.index },
      { type: "CompareExchangePUT", key: "jobs/1", value: "run", index: 0 },
    ]);
    if (!ok.committed) throw new Error(`expected a commit, got ${JSON.stringify(ok)}`);
    expect(ok.results[0]).toEqual({ type: "CompareExchangeCHECK", key: "flags/on", index: created.index });
    const stale = await service.transaction(db, [
      { type: "CompareExchangeCHECK", key: "flags/on", index: 0 },
      { type: "CompareExchangePUT", key: "jobs/2", value: "run", index: 0 },
    ]);
    expect(stale).toMatchObject({
      committed: false,
      violations: [{ type: "CompareExchange", id: "flags/on", expected: 0, actual: created.index }],
    });
    expect(await service.get(db, "jobs/2")).toBeNull();
  });

  it("a negative index is refused before anything is sent", async () => {
    let sent = 0;
    const db = clientFor(freshDb("check"), {
      fetch: (request) => {
        sent++;
        return exports.default.fetch(request);
      },
    });
    const refused = await thrown(() => db.transaction().check("k", -1).commit());
    expect(refused).toBeInstanceOf(InvalidDataException);
    expect(sent).toBe(0);
  });
});
