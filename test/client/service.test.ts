// CmpxchgService: the RPC entrypoint, called through the loopback binding `exports.CmpxchgService`
// exactly as another Worker calls it through a Service Binding (same isolate in tests).
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  ClusterTransactionConcurrencyException,
  CmpxchgClient,
  CmpxchgServiceClient,
  CompareExchangeKeyTooBigException,
  ConcurrencyException,
  type RavenException,
} from "../../src/client";
import { freshDb, thrown } from "./support";

describe("CmpxchgService RPC methods", { timeout: 30_000 }, () => {
  it("create, get, put, getMany, list, delete", async () => {
    const db = freshDb("svc");
    const service = exports.CmpxchgService;
    const created = await service.create(db, "users/ada", { name: "Ada" });
    expect(created).toMatchObject({ successful: true, value: { name: "Ada" } });
    const again = await service.create(db, "users/ada", { name: "Eve" });
    expect(again).toMatchObject({ successful: false, index: created.index, value: { name: "Ada" } });
    expect(await service.get(db, "users/ada")).toEqual({ key: "users/ada", value: { name: "Ada" }, metadata: {}, index: created.index });
    expect(await service.get(db, "users/none")).toBeNull();

    const updated = await service.put(db, "users/ada", { name: "Ada L." }, created.index, { tag: "v2" });
    expect(updated).toMatchObject({ successful: true, value: { name: "Ada L." }, metadata: { tag: "v2" } });
    expect(updated.index).toBeGreaterThan(created.index);

    await service.create(db, "users/bob", 2);
    const many = await service.getMany(db, ["users/bob", "users/none", "USERS/ADA"]);
    expect(many.map((item) => item?.value ?? null)).toEqual([2, null, { name: "Ada L." }]);

    const page = await service.list(db, "users/", { pageSize: 1 });
    expect(page.items.map((item) => item.key)).toEqual(["users/ada"]);
    const next = await service.list(db, "users/", { pageSize: 1, continuationToken: page.continuationToken });
    expect(next.items.map((item) => item.key)).toEqual(["users/bob"]);

    const stale = await service.delete(db, "users/ada", created.index);
    expect(stale.successful).toBe(false);
    expect((await service.delete(db, "users/ada", updated.index)).successful).toBe(true);
    expect(await service.get(db, "users/ada")).toBeNull();
  });

  it("replays a write retried with the same request id", async () => {
    const db = freshDb("svc");
    const service = exports.CmpxchgService;
    const requestId = crypto.randomUUID();
    const first = await service.create(db, "seat/1", "ada", undefined, { requestId });
    const retry = await service.create(db, "seat/1", "ada", undefined, { requestId });
    expect(retry).toEqual(first);
    expect(retry.successful).toBe(true);
  });

  it("commits a transaction, answers a conflict as a value, and waits for a change", async () => {
    const db = freshDb("svc");
    const service = exports.CmpxchgService;
    const commands = [
      { type: "CompareExchangePUT", key: "emails/ada@x.com", value: "users/1", index: 0 },
      { type: "PUT", id: "users/1", document: { name: "Ada" }, collection: "Users" },
    ] as const;
    const tx = await service.transaction(db, [...commands]);
    if (!tx.committed) throw new Error("expected a commit");
    expect(tx.index).toBeGreaterThan(0);
    expect(tx.results.map((r) => r.type)).toEqual(["PUT", "CompareExchangePUT"]);

    // A lost race is an outcome, not an exception (no uncaught-exception log in the service).
    const again = await service.transaction(db, [...commands]);
    expect(again).toMatchObject({ committed: false, message: expect.stringContaining("emails/ada@x.com") });
    if (again.committed) throw new Error("expected a conflict");
    expect(again.violations.map((v) => v.id)).toEqual(["emails/ada@x.com", "rvn-atomic/users/1"]);

    const waiting = service.waitForChange(db, "emails/ada@x.com", tx.index, { timeoutMs: 5_000 });
    await service.delete(db, "emails/ada@x.com", tx.index);
    const change = await waiting;
    expect(change).toMatchObject({ changed: true, index: -1, item: null });
  });

  it("throws errors that keep their name and fields across RPC; the adapter restores classes", async () => {
    const db = freshDb("svc");
    const raw = await thrown(() => exports.CmpxchgService.create(db, "k".repeat(600), 1));
    expect((raw as Error).name).toBe("CompareExchangeKeyTooBigException");
    expect((raw as RavenException).status).toBe(400);

    const client = new CmpxchgServiceClient(exports.CmpxchgService, db);
    const tooBig = await thrown(() => client.create("k".repeat(600), 1));
    expect(tooBig).toBeInstanceOf(CompareExchangeKeyTooBigException);

    await client.create("emails/x", "users/1");
    const conflict = await thrown(() =>
      client.transaction().create("emails/x", "users/2").putDocument("users/2", {}, { collection: "Users" }).commit(),
    );
    expect(conflict).toBeInstanceOf(ClusterTransactionConcurrencyException);
    expect(conflict).toBeInstanceOf(ConcurrencyException);
    expect((conflict as ClusterTransactionConcurrencyException).violations).toEqual([
      { type: "CompareExchange", id: "emails/x", expected: 0, actual: expect.any(Number) },
    ]);
  });

  it("CmpxchgServiceClient pages through a listing", async () => {
    const db = freshDb("svc");
    const client = new CmpxchgServiceClient(exports.CmpxchgService, db);
    for (let i = 0; i < 7; i++) await client.create(`jobs/${i}`, i);
    const keys: string[] = [];
    for await (const item of client.listAll<number>("jobs/", { pageSize: 3 })) keys.push(item.key);
    expect(keys).toEqual(["jobs/0", "jobs/1", "jobs/2", "jobs/3", "jobs/4", "jobs/5", "jobs/6"]);
  });

  it("answers HTTP through the binding's fetch, so CmpxchgClient (and watch) work over it too", async () => {
    const db = freshDb("svc");
    const res = await exports.CmpxchgService.fetch(new Request(`http://any/databases/${db}/cmpxchg?key=nope`));
    expect(res.status).toBe(404);

    const client = new CmpxchgClient({ url: "http://cmpxchg", database: db, fetch: (request) => exports.CmpxchgService.fetch(request) });
    const stream = client.watch<number>("counter");
    await stream.ready;
    const created = await client.create("counter", 1);
    const event = await stream.next();
    expect(event.value).toMatchObject({ type: "Put", key: "counter", index: created.index, value: 1 });
    await stream.return();
  });
});
