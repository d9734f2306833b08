/// <reference types="node" />
/**
 * Seed scenarios with the unmodified official RavenDB Node.js client (`ravendb` 7.2.2) against
 * `wrangler dev`, the way the official test suite (ravendb-nodejs-client's TestDriver) drives a
 * server:
 *
 *  1. Harness lifecycle: a manager store with `disableTopologyUpdates` creates each test's database
 *     with CreateDatabaseOperation, a normal store uses it, DeleteDatabasesOperation (hardDelete)
 *     removes it. Ports RavenDB_7701 (creating a database twice -> ConcurrencyException) and the
 *     countOfCompareExchange checks of RavenDB_10038 / UniqueValuesTest.
 *  2. Docs "Compare exchange overview", Example I: email reservation + `cmpxchg()` in RQL, raw and
 *     through the query builder's `CmpXchg.value(...)`; RavenDB_14034's point that a query must
 *     not be served stale from the HTTP cache after the referenced item changed.
 *  3. Docs Example II: a shared-resource lock with a timeout, here with `@expires` metadata; six
 *     concurrent workers never overlap, and a dead holder's lock becomes free at its expiry.
 *
 * The server runs with DATABASES = "explicit" (the production setting), so a database exists only
 * between CreateDatabaseOperation and DeleteDatabasesOperation, as on a real RavenDB server.
 * Deliberate deviation from RavenDB: an expired compare-exchange item is absent at once (RavenDB
 * keeps it visible until its cluster observer sweeps, up to ~60 s later).
 */
import {
  CmpXchg,
  CreateDatabaseOperation,
  DeleteCompareExchangeValueOperation,
  DeleteDatabasesOperation,
  DocumentStore,
  GetCompareExchangeValueOperation,
  GetDatabaseNamesOperation,
  GetDetailedStatisticsOperation,
  PutCompareExchangeValueOperation,
  type IMetadataDictionary,
} from "ravendb";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { startWranglerDev, type WranglerDev, printServerLogsOnFailure } from "./wrangler-dev";

let server: WranglerDev | undefined;
/** The harness's server-wide store: no database of its own, no topology updates. */
let manager: DocumentStore | undefined;
const openStores: DocumentStore[] = [];
/** Databases a test created and has not deleted yet (afterEach removes them). */
const liveDatabases = new Set<string>();
let dbCounter = 0;

beforeAll(async () => {
  server = await startWranglerDev({ vars: { DATABASES: "explicit" } });
  // As ravendb-nodejs-client test/TestDriver: new DocumentStore(url, "test.manager") +
  // disableTopologyUpdates, used only for server-wide (maintenance.server) operations.
  manager = new DocumentStore(server.url, "test.manager");
  manager.conventions.disableTopologyUpdates = true;
  manager.initialize();
});

afterEach(async () => {
  for (const store of openStores.splice(0)) store.dispose();
  for (const database of [...liveDatabases]) {
    liveDatabases.delete(database);
    try {
      await manager!.maintenance.server.send(new DeleteDatabasesOperation({ databaseNames: [database], hardDelete: true }));
    } catch {
      // best effort: the test may have deleted it already
    }
  }
});

printServerLogsOnFailure(() => server);

afterAll(async () => {
  for (const store of openStores.splice(0)) store.dispose();
  manager?.dispose();
  await server?.stop();
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Plain metadata objects work at runtime; the client's typings want an IMetadataDictionary. */
const meta = (fields: Record<string, unknown>) => fields as unknown as IMetadataDictionary;

/** A database name no other test (or earlier run against the same server) uses. */
function newDatabaseName(): string {
  return `seeds_${Date.now()}_${process.pid}_${++dbCounter}`;
}

/** The harness's per-test database: CreateDatabaseOperation through the manager store. */
async function createDatabase(databaseName = newDatabaseName()): Promise<string> {
  await manager!.maintenance.server.send(new CreateDatabaseOperation({ databaseName }));
  liveDatabases.add(databaseName);
  return databaseName;
}

/** A normal store (topology updates on) for a database. */
function openStore(database: string): DocumentStore {
  if (!server) throw new Error("wrangler dev did not start");
  const store = new DocumentStore(server.url, database);
  store.initialize();
  openStores.push(store);
  return store;
}

async function databaseNames(): Promise<string[]> {
  return manager!.maintenance.server.send(new GetDatabaseNamesOperation(0, 100));
}

/** The error an awaited call rejects with (fails the test if it resolves). */
async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    return err as Error;
  }
  throw new Error("expected the call to throw, but it resolved");
}

describe("harness lifecycle (as ravendb-nodejs-client's TestDriver)", () => {
  test("create -> use -> hard delete; names listed; double create is a ConcurrencyException; countOfCompareExchange", async () => {
    const db = newDatabaseName();

    // Before creation the database does not exist (DATABASES = "explicit").
    expect(await databaseNames()).not.toContain(db);
    const early = openStore(db);
    const missing = await caught(early.operations.send(new GetCompareExchangeValueOperation("x")));
    expect(missing.name).toBe("DatabaseDoesNotExistException");

    await createDatabase(db);
    expect(await databaseNames()).toContain(db);

    // RavenDB_7701.cannot_create_database_with_the_same_name: Assert.Throws<ConcurrencyException>.
    const twice = await caught(manager!.maintenance.server.send(new CreateDatabaseOperation({ databaseName: db })));
    expect(twice.name).toBe("ConcurrencyException");
    expect(twice.message).toContain(db);
    expect(twice.message).toContain("already exists");

    // A normal store uses it (first request fetches /topology, which now succeeds).
    const store = openStore(db);
    const stats0 = await store.maintenance.send(new GetDetailedStatisticsOperation());
    expect(stats0.countOfCompareExchange).toBe(0);
    expect(stats0.countOfDocuments).toBe(0);

    // RavenDB_10038 / UniqueValuesTest: countOfCompareExchange counts the items put.
    const keys = ["emojis/poo", "emojis/pooclown", "users/unique/a", "users/unique/b", "x"];
    const puts = [];
    for (const [i, key] of keys.entries()) {
      const put = await store.operations.send(new PutCompareExchangeValueOperation(key, { n: i }, 0));
      expect(put.successful).toBe(true);
      puts.push(put);
    }
    const stats5 = await store.maintenance.send(new GetDetailedStatisticsOperation());
    expect(stats5.countOfCompareExchange).toBe(keys.length);

    // A failed create and an update change nothing; a delete removes one.
    expect((await store.operations.send(new PutCompareExchangeValueOperation("x", "again", 0))).successful).toBe(false);
    expect((await store.operations.send(new PutCompareExchangeValueOperation("x", { n: 99 }, puts[4]!.index))).successful).toBe(true);
    expect((await store.maintenance.send(new GetDetailedStatisticsOperation())).countOfCompareExchange).toBe(keys.length);
    expect((await store.operations.send(new DeleteCompareExchangeValueOperation("emojis/poo", puts[0]!.index))).successful).toBe(true);
    expect((await store.maintenance.send(new GetDetailedStatisticsOperation())).countOfCompareExchange).toBe(keys.length - 1);

    // Documents are counted apart from compare-exchange items.
    const session = store.openSession();
    await session.store({ name: "Doc" }, "docs/1");
    await session.saveChanges();
    const statsDoc = await store.maintenance.send(new GetDetailedStatisticsOperation());
    expect(statsDoc.countOfDocuments).toBe(1);
    expect(statsDoc.countOfCompareExchange).toBe(keys.length - 1);

    // Hard delete: gone from the list, and the store that used it now gets DatabaseDoesNotExist.
    await manager!.maintenance.server.send(new DeleteDatabasesOperation({ databaseNames: [db], hardDelete: true }));
    liveDatabases.delete(db);
    expect(await databaseNames()).not.toContain(db);
    const afterDelete = await caught(store.operations.send(new GetCompareExchangeValueOperation("x")));
    expect(afterDelete.name).toBe("DatabaseDoesNotExistException");

    // Re-created under the same name it starts empty (compare-exchange items went with it,
    // as UniqueValues.CompareExchangeShouldBeRemovedFromStorageWhenDbGetsDeleted expects).
    await createDatabase(db);
    const fresh = openStore(db);
    const statsFresh = await fresh.maintenance.send(new GetDetailedStatisticsOperation());
    expect(statsFresh.countOfCompareExchange).toBe(0);
    expect(statsFresh.countOfDocuments).toBe(0);
    expect(await fresh.operations.send(new GetCompareExchangeValueOperation("x"))).toBeUndefined();
  });
});

/** A class, so the client files the documents under the "Users" collection (object literals go to @empty). */
class User {
  constructor(
    public name = "",
    public email = "",
  ) {}
}

describe("docs Example I: email reservation with cmpxchg() in RQL", () => {
  test("reserve, store, query raw and via CmpXchg.value, second reservation fails", async () => {
    const store = openStore(await createDatabase());
    const email = "john@example.com";
    const key = `emails/${email}`;

    // What the client puts on the wire for queries.
    const sent: { url: string; body: unknown }[] = [];
    store.addSessionListener("beforeRequest", (e) => {
      if (e.url.includes("/queries")) sent.push({ url: e.url, body: JSON.parse(String(e.request.body)) });
    });

    const reserved = await store.operations.send(new PutCompareExchangeValueOperation(key, "users/1", 0));
    expect(reserved.successful).toBe(true);
    expect(reserved.value).toBe("users/1");
    expect(reserved.index).toBeGreaterThan(0);

    {
      const session = store.openSession();
      await session.store(new User("John", email), "users/1");
      await session.store(new User("Jane", "jane@example.com"), "users/2");
      await session.saveChanges();
    }

    // Raw RQL, as in the docs.
    {
      const session = store.openSession();
      const rql = `from Users where id() == cmpxchg("${key}")`;
      const users = await session.advanced.rawQuery<User>(rql, User).all();
      expect(users).toHaveLength(1);
      expect(users[0]!.name).toBe("John");
      expect(users[0]!.email).toBe(email);
      expect(session.advanced.getDocumentId(users[0]!)).toBe("users/1");
      expect(sent.at(-1)!.body).toEqual({ Query: rql, QueryParameters: {} });
    }

    // Query builder: whereEquals("id", CmpXchg.value(key)).
    {
      const session = store.openSession();
      const query = session.query<User>({ collection: "Users" }).whereEquals("id", CmpXchg.value(key));
      expect(query.toString()).toBe("from 'Users' where id() = cmpxchg($p0)");
      const users = await query.all();
      expect(sent.at(-1)!.body).toEqual({
        Query: "from 'Users' where id() = cmpxchg($p0)",
        QueryParameters: { p0: key },
      });
      expect(users).toHaveLength(1);
      expect(users[0]!.name).toBe("John");
      expect(session.advanced.getDocumentId(users[0]!)).toBe("users/1");
    }

    // A second reservation of the same email is refused and names the current owner.
    const second = await store.operations.send(new PutCompareExchangeValueOperation(key, "users/2", 0));
    expect(second.successful).toBe(false);
    expect(second.value).toBe("users/1");
    expect(second.index).toBe(reserved.index);

    // RavenDB_14034: the same query after the referenced item changed must not come from the
    // client's HTTP cache. Hand the address over to users/2 and ask again. (Today this server sends
    // no ETag on query responses, so the client caches nothing; this guards any future ETag.)
    const moved = await store.operations.send(new PutCompareExchangeValueOperation(key, "users/2", reserved.index));
    expect(moved.successful).toBe(true);
    {
      const session = store.openSession();
      const raw = await session.advanced.rawQuery<User>(`from Users where id() == cmpxchg("${key}")`).all();
      expect(raw.map((u) => u.name)).toEqual(["Jane"]);
      const built = await session.query<User>({ collection: "Users" }).whereEquals("id", CmpXchg.value(key)).all();
      expect(built.map((u) => u.name)).toEqual(["Jane"]);
    }

    // A missing reservation matches nothing (cmpxchg() of a missing key is null).
    {
      const session = store.openSession();
      const none = await session.advanced.rawQuery<User>('from Users where id() == cmpxchg("emails/nobody@example.com")').all();
      expect(none).toEqual([]);
    }
  });
});

interface SharedResource {
  owner: string;
  /** The docs' ReservedUntil, as an ISO string. */
  reservedUntil: string;
}

const LOCK_KEY = "locks/printer";

/**
 * One attempt of the docs' LockResource loop, plus `@expires` so the item goes away on its own.
 * Returns the index of the reservation, or the failed put's result.
 */
async function tryLock(store: DocumentStore, owner: string, ttlMs: number) {
  const now = Date.now();
  const until = new Date(now + ttlMs).toISOString();
  const resource: SharedResource = { owner, reservedUntil: until };
  const save = await store.operations.send(
    new PutCompareExchangeValueOperation<SharedResource>(LOCK_KEY, resource, 0, meta({ "@expires": until })),
  );
  if (save.successful) return { taken: true as const, index: save.index, via: "create" as const };
  // The docs' takeover: the holder's own ReservedUntil has passed, so replace it at its index.
  // (This server already treats an item past its @expires as absent, so this path is a fallback.)
  if (save.value && Date.parse(save.value.reservedUntil) < now) {
    const take = await store.operations.send(
      new PutCompareExchangeValueOperation<SharedResource>(LOCK_KEY, resource, save.index, meta({ "@expires": until })),
    );
    if (take.successful) return { taken: true as const, index: take.index, via: "takeover" as const };
  }
  return { taken: false as const, current: save };
}

describe("docs Example II: shared resource lock with a timeout", () => {
  test("6 concurrent workers x 3 critical sections never overlap", async () => {
    const db = await createDatabase();
    const WORKERS = 6;
    const SECTIONS = 3;
    const TTL_MS = 10_000; // far longer than a section: no lock may time out here

    const sections: { worker: string; index: number; enter: number; exit: number; via: string }[] = [];
    const releases: boolean[] = [];
    let inCritical = 0;
    let maxInCritical = 0;
    let failedAttempts = 0;

    const worker = async (name: string) => {
      const store = openStore(db); // each worker its own client, as separate processes would have
      for (let s = 0; s < SECTIONS; s++) {
        let lock: Awaited<ReturnType<typeof tryLock>>;
        for (;;) {
          lock = await tryLock(store, name, TTL_MS);
          if (lock.taken) break;
          failedAttempts++;
          await sleep(5 + Math.random() * 15); // the docs wait a little and retry
        }
        inCritical++;
        maxInCritical = Math.max(maxInCritical, inCritical);
        const enter = performance.now();
        // The "work": hold the lock a while, and check nobody else got in meanwhile.
        await sleep(15 + Math.random() * 20);
        const holder = await store.operations.send(new GetCompareExchangeValueOperation<SharedResource>(LOCK_KEY));
        expect(holder!.value.owner).toBe(name);
        expect(holder!.index).toBe(lock.index);
        const exit = performance.now();
        inCritical--;
        sections.push({ worker: name, index: lock.index, enter, exit, via: lock.via });
        // The docs' ReleaseResource.
        const released = await store.operations.send(new DeleteCompareExchangeValueOperation<SharedResource>(LOCK_KEY, lock.index));
        releases.push(released.successful);
      }
    };

    const started = performance.now();
    await Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(`worker-${i}`)));
    console.log(`lock: ${sections.length} sections, ${failedAttempts} refused attempts, ${Math.round(performance.now() - started)} ms`);

    expect(maxInCritical).toBe(1);
    expect(sections).toHaveLength(WORKERS * SECTIONS);
    expect(releases).toEqual(Array(WORKERS * SECTIONS).fill(true));
    expect(sections.every((s) => s.via === "create")).toBe(true);
    expect(failedAttempts).toBeGreaterThan(0); // there was contention

    const ordered = [...sections].sort((a, b) => a.enter - b.enter);
    for (let i = 1; i < ordered.length; i++) {
      // Disjoint intervals, and every new reservation is a newer item.
      expect(ordered[i]!.enter).toBeGreaterThanOrEqual(ordered[i - 1]!.exit);
      expect(ordered[i]!.index).toBeGreaterThan(ordered[i - 1]!.index);
    }
    for (let w = 0; w < WORKERS; w++) {
      expect(sections.filter((s) => s.worker === `worker-${w}`)).toHaveLength(SECTIONS);
    }

    const store = openStore(db);
    expect(await store.operations.send(new GetCompareExchangeValueOperation(LOCK_KEY))).toBeUndefined();
  });

  test("a holder that dies: the lock is refused until its @expires, then taken with a newer index", async () => {
    const db = await createDatabase();
    const dead = openStore(db);
    const alive = openStore(db);

    const TTL_MS = 1_500;
    const expiresAt = Date.now() + TTL_MS;
    const until = new Date(expiresAt).toISOString();
    const held = await dead.operations.send(
      new PutCompareExchangeValueOperation<SharedResource>(
        LOCK_KEY,
        { owner: "dead", reservedUntil: until },
        0,
        meta({ "@expires": until }),
      ),
    );
    expect(held.successful).toBe(true);
    // ...and the dead holder never releases.

    // Well before expiry: refused, and the failed put names the holder.
    const early = await tryLock(alive, "alive", 5_000);
    expect(early.taken).toBe(false);
    if (early.taken) throw new Error("unreachable");
    expect(early.current.value!.owner).toBe("dead");
    expect(early.current.index).toBe(held.index);

    // Poll with plain creates (index 0): every refusal was sent before the expiry, and the first
    // success comes at or after it (and promptly: this server needs no expiry sweep).
    const attempts: { sentAt: number; doneAt: number; successful: boolean; index: number; owner?: string }[] = [];
    for (;;) {
      const sentAt = Date.now();
      const until2 = new Date(sentAt + 5_000).toISOString();
      const r = await alive.operations.send(
        new PutCompareExchangeValueOperation<SharedResource>(
          LOCK_KEY,
          { owner: "alive", reservedUntil: until2 },
          0,
          meta({ "@expires": until2 }),
        ),
      );
      attempts.push({ sentAt, doneAt: Date.now(), successful: r.successful, index: r.index, owner: r.value?.owner });
      if (r.successful) break;
      if (Date.now() > expiresAt + 5_000) break;
      await sleep(50);
    }
    const refusals = attempts.filter((a) => !a.successful);
    const success = attempts.at(-1)!;
    expect(refusals.length).toBeGreaterThan(0);
    for (const r of refusals) {
      expect(r.sentAt).toBeLessThan(expiresAt);
      expect(r.owner).toBe("dead");
      expect(r.index).toBe(held.index);
    }
    expect(success.successful).toBe(true);
    expect(success.doneAt).toBeGreaterThanOrEqual(expiresAt);
    expect(success.sentAt).toBeLessThan(expiresAt + 1_000);
    expect(success.index).toBeGreaterThan(held.index);

    const now = await alive.operations.send(new GetCompareExchangeValueOperation<SharedResource>(LOCK_KEY));
    expect(now!.value.owner).toBe("alive");
    expect(now!.index).toBe(success.index);

    // The docs' ReleaseResource from the dead holder, if it ever came back: someone else took
    // the lock due to timeout, so its delete fails and the new holder keeps it.
    const late = await dead.operations.send(new DeleteCompareExchangeValueOperation<SharedResource>(LOCK_KEY, held.index));
    expect(late.successful).toBe(false);
    expect(late.value!.owner).toBe("alive");
    expect(late.index).toBe(success.index);

    const released = await alive.operations.send(new DeleteCompareExchangeValueOperation<SharedResource>(LOCK_KEY, success.index));
    expect(released.successful).toBe(true);
  });
});
