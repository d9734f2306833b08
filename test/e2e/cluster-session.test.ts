/// <reference types="node" />
/**
 * Cluster-wide sessions of the unmodified official RavenDB client (`ravendb` 7.2.2) against one
 * `wrangler dev`: the compare-exchange use cases of the RavenDB docs (I: reserve an email with a
 * document, III: a unique value through a reference document), session reads/updates/deletes of
 * compare-exchange items, HiLo ids, and concurrent writers (atomic guards). Every test uses its own
 * database.
 *
 * Each request the client sends is recorded (global fetch wrapped, the client itself untouched); a
 * failing test prints those exchanges and what wrangler logged meanwhile.
 */
import { DocumentStore, GetCompareExchangeValueOperation, GetCompareExchangeValuesOperation, type IDocumentSession } from "ravendb";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startWranglerDev, type WranglerDev } from "./wrangler-dev";

let server: WranglerDev | undefined;
const openStores: DocumentStore[] = [];
let dbCounter = 0;

// ---------------------------------------------------------------------------------------------
// Request log: what the client sent and what the server answered (bodies cut to 2 kB).

interface Exchange {
  method: string;
  url: string;
  requestBody: string | undefined;
  status: number | string;
  responseBody: string;
}

const exchanges: Exchange[] = [];
const realFetch = globalThis.fetch;
const cut = (s: string) => (s.length > 2048 ? `${s.slice(0, 2048)}…(${s.length} chars)` : s);

async function recordingFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  if (!server || !url.startsWith(server.url)) return realFetch(input, init);
  const method = init?.method ?? (input instanceof Request ? input.method : "GET");
  const requestBody = typeof init?.body === "string" ? init.body : init?.body == null ? undefined : "(stream)";
  const entry: Exchange = { method, url: url.slice(server.url.length), requestBody, status: "pending", responseBody: "" };
  exchanges.push(entry);
  try {
    const res = await realFetch(input, init);
    entry.status = res.status;
    res
      .clone()
      .text()
      .then((t) => (entry.responseBody = cut(t)))
      .catch(() => {});
    return res;
  } catch (err) {
    entry.status = `fetch failed: ${(err as Error).message}`;
    throw err;
  }
}

const formatExchanges = (list: Exchange[]) =>
  list
    .map(
      (e) => `${e.method} ${e.url}\n${e.requestBody === undefined ? "" : `  > ${cut(e.requestBody)}\n`}  < ${e.status} ${e.responseBody}`,
    )
    .join("\n");

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  server = await startWranglerDev();
  globalThis.fetch = recordingFetch as typeof fetch;
});

afterEach(({ task }) => {
  for (const store of openStores.splice(0)) store.dispose();
  // CLUSTER_SESSION_TRACE=1 prints every test's requests, not only a failing one's.
  if (process.env.CLUSTER_SESSION_TRACE) console.log(`--- ${task.name} ---\n${formatExchanges(exchanges)}`);
});

beforeEach(({ onTestFailed }) => {
  const mark = server?.logs().length ?? 0;
  exchanges.length = 0;
  onTestFailed(async () => {
    await new Promise((r) => setTimeout(r, 500)); // wrangler prints a request's log lines a bit later
    console.error(`--- requests of this test ---\n${formatExchanges(exchanges)}`);
    console.error(`--- wrangler dev output during this test ---\n${server?.logs().slice(mark) ?? "(no server)"}`);
  });
});

afterAll(async () => {
  for (const store of openStores.splice(0)) store.dispose();
  globalThis.fetch = realFetch;
  await server?.stop();
});

/** A store on a database no other test uses. */
function openStore(): DocumentStore {
  if (!server) throw new Error("wrangler dev did not start");
  const database = `e2e_cw_${Date.now()}_${process.pid}_${++dbCounter}`;
  const store = new DocumentStore(server.url, database);
  store.initialize();
  openStores.push(store);
  return store;
}

const clusterSession = (store: DocumentStore): IDocumentSession => store.openSession({ transactionMode: "ClusterWide" });

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    return err as Error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

/** What the 7.2.2 client throws when a cluster transaction loses a compare-exchange/guard check. */
const CONFLICT = "ClusterTransactionConcurrencyException";

interface Violation {
  Type: string;
  Id: string;
  Expected: number;
  Actual: number;
}

/** The 409's `ConcurrencyViolations`: the client keeps the raw response body in `err.json`. */
function violations(err: unknown): Violation[] {
  const raw = (err as { json?: unknown }).json;
  expect(typeof raw).toBe("string");
  return (JSON.parse(raw as string) as { ConcurrencyViolations: Violation[] }).ConcurrencyViolations;
}

/** A writer that lost the atomic guard of `docId` (RavenDB: ClusterTransactionCommand, violation type Document). */
function expectGuardConflict(err: unknown, docId: string, expected: number, actual: number): void {
  expect((err as Error).name).toBe(CONFLICT);
  expect((err as Error).message).toContain(`Guard compare exchange value 'rvn-atomic/${docId}' index does not match`);
  expect(violations(err)).toEqual([{ Type: "Document", Id: `rvn-atomic/${docId}`, Expected: expected, Actual: actual }]);
}

class User {
  constructor(
    public name = "",
    public email = "",
  ) {}
}

class Company {
  public id?: string;
  constructor(
    public name = "",
    public phone = "",
  ) {}
}

/** Reference document of Example III: `phones/<number>` → the company that owns the number. */
class PhoneReference {
  constructor(public companyId = "") {}
}

class Counter {
  constructor(
    public owner = "",
    public edits = 0,
  ) {}
}

// ---------------------------------------------------------------------------------------------

describe("cluster-wide session (official client)", () => {
  test("Example I: reserve an email with a compare-exchange item and store the user atomically", async () => {
    const store = openStore();
    const session = clusterSession(store);
    session.advanced.clusterTransaction.createCompareExchangeValue("emails/john@example.com", "users/2");
    await session.store(new User("John", "john@example.com"), "users/2");
    await session.saveChanges();

    const item = await store.operations.send(new GetCompareExchangeValueOperation<string>("emails/john@example.com"));
    expect(item).toBeTruthy();
    expect(item!.key).toBe("emails/john@example.com");
    expect(item!.value).toBe("users/2");
    expect(item!.index).toBeGreaterThan(0);

    const reader = store.openSession();
    const user = await reader.load<User>("users/2", User);
    expect(user).toBeInstanceOf(User);
    expect(user!.name).toBe("John");
    expect(user!.email).toBe("john@example.com");
    const metadata = reader.advanced.getMetadataFor(user!);
    expect(metadata["@collection"]).toBe("Users");
    expect(metadata["@flags"]).toBe("FromClusterTransaction");
  });

  test("Example I: a second reservation of the same email fails and stores nothing", async () => {
    const store = openStore();
    const first = clusterSession(store);
    first.advanced.clusterTransaction.createCompareExchangeValue("emails/john@example.com", "users/2");
    await first.store(new User("John", "john@example.com"), "users/2");
    await first.saveChanges();
    const before = await store.operations.send(new GetCompareExchangeValueOperation<string>("emails/john@example.com"));

    const second = clusterSession(store);
    second.advanced.clusterTransaction.createCompareExchangeValue("emails/john@example.com", "users/3");
    await second.store(new User("Johnny", "john@example.com"), "users/3");
    const err = await rejection(second.saveChanges());
    expect(err.name).toBe(CONFLICT);
    expect(err.message).toContain(
      `Concurrency check failed for putting the key 'emails/john@example.com'. Requested index: 0, actual index: ${before!.index}`,
    );
    expect(violations(err)).toEqual([{ Type: "CompareExchange", Id: "emails/john@example.com", Expected: 0, Actual: before!.index }]);

    const reader = store.openSession();
    expect(await reader.load("users/3")).toBeNull();
    const user = await reader.load<User>("users/2", User);
    expect(user!.name).toBe("John");

    const after = await store.operations.send(new GetCompareExchangeValueOperation<string>("emails/john@example.com"));
    expect(after!.value).toBe("users/2");
    expect(after!.index).toBe(before!.index);
    // All or nothing: not even the atomic guard of the refused document was created.
    expect(await store.operations.send(new GetCompareExchangeValueOperation("rvn-atomic/users/3"))).toBeUndefined();
  });

  test("read, update (new value object) and delete a compare-exchange item through sessions", async () => {
    const store = openStore();
    const creator = clusterSession(store);
    creator.advanced.clusterTransaction.createCompareExchangeValue("profiles/2", { nick: "johnny" });
    await creator.saveChanges();
    const created = await store.operations.send(new GetCompareExchangeValueOperation<{ nick: string }>("profiles/2"));
    expect(created!.value).toEqual({ nick: "johnny" });

    // Update: the session sends CompareExchangePUT with the index it read.
    const updater = clusterSession(store);
    const item = await updater.advanced.clusterTransaction.getCompareExchangeValue<{ nick: string }>("profiles/2");
    expect(item).toBeTruthy();
    expect(item!.key).toBe("profiles/2");
    expect(item!.value).toEqual({ nick: "johnny" });
    expect(item!.index).toBe(created!.index);
    item!.value = { nick: "john3" }; // a new object: in-place edits go unnoticed by 7.2.2 (protocol §12)
    await updater.saveChanges();
    expect(item!.index).toBeGreaterThan(created!.index); // the session takes the index from the reply

    const updated = await store.operations.send(new GetCompareExchangeValueOperation<{ nick: string }>("profiles/2"));
    expect(updated!.value).toEqual({ nick: "john3" });
    expect(updated!.index).toBeGreaterThan(created!.index);
    expect(updated!.index).toBe(item!.index);

    // A missing key read through the session.
    expect(await updater.advanced.clusterTransaction.getCompareExchangeValue("profiles/none")).toBeNull();

    // Delete with the item just read.
    const deleter = clusterSession(store);
    const toDelete = await deleter.advanced.clusterTransaction.getCompareExchangeValue<{ nick: string }>("profiles/2");
    expect(toDelete!.index).toBe(updated!.index);
    deleter.advanced.clusterTransaction.deleteCompareExchangeValue(toDelete!);
    await deleter.saveChanges();

    expect(await store.operations.send(new GetCompareExchangeValueOperation("profiles/2"))).toBeUndefined();
    const later = clusterSession(store);
    expect(await later.advanced.clusterTransaction.getCompareExchangeValue("profiles/2")).toBeNull();
  });

  test("getCompareExchangeValues by keys and by prefix in a cluster-wide session", async () => {
    const store = openStore();
    const writer = clusterSession(store);
    for (const [key, value] of [
      ["emails/a@example.com", "users/a"],
      ["emails/b@example.com", "users/b"],
      ["emails/c@example.com", "users/c"],
      ["phones/555-0001", "users/a"],
    ] as const) {
      writer.advanced.clusterTransaction.createCompareExchangeValue(key, value);
    }
    await writer.saveChanges();

    const session = clusterSession(store);
    const byKeys = await session.advanced.clusterTransaction.getCompareExchangeValues<string>([
      "emails/a@example.com",
      "phones/555-0001",
      "emails/missing@example.com",
    ]);
    expect(Object.keys(byKeys)).toEqual(["emails/a@example.com", "phones/555-0001", "emails/missing@example.com"]);
    expect(byKeys["emails/a@example.com"]!.value).toBe("users/a");
    expect(byKeys["emails/a@example.com"]!.index).toBeGreaterThan(0);
    expect(byKeys["phones/555-0001"]!.value).toBe("users/a");
    expect(byKeys["emails/missing@example.com"]).toBeNull();

    // A fresh session: 7.2.2 cannot re-read a key it already tracks when the value is a string
    // (CompareExchangeSessionValue.updateValue -> populateEntity on a string -> TypeError wrapped in
    // InvalidOperationException "Could not populate entity."), a client bug unrelated to the server.
    const prefixSession = clusterSession(store);
    const byPrefix = await prefixSession.advanced.clusterTransaction.getCompareExchangeValues<string>("emails/");
    expect(Object.keys(byPrefix)).toEqual(["emails/a@example.com", "emails/b@example.com", "emails/c@example.com"]);
    expect(Object.values(byPrefix).map((v) => v!.value)).toEqual(["users/a", "users/b", "users/c"]);

    // (startsWith, type, start, pageSize): the type comes second (protocol §12).
    const page = await clusterSession(store).advanced.clusterTransaction.getCompareExchangeValues<string>(
      "emails/",
      undefined as never,
      1,
      1,
    );
    expect(Object.keys(page)).toEqual(["emails/b@example.com"]);
    expect(page["emails/b@example.com"]!.value).toBe("users/b");
  });

  test("lazily.getCompareExchangeValue(s) in a cluster-wide session (multi_get)", async () => {
    const store = openStore();
    const writer = clusterSession(store);
    writer.advanced.clusterTransaction.createCompareExchangeValue("lazy/a", { n: 1 });
    writer.advanced.clusterTransaction.createCompareExchangeValue("lazy/b", "B");
    await writer.saveChanges();

    const index = (await store.operations.send(new GetCompareExchangeValueOperation("lazy/a")))!.index;

    const session = clusterSession(store);
    const mark = exchanges.length;
    const a = session.advanced.clusterTransaction.lazily.getCompareExchangeValue<{ n: number }>("lazy/a");
    const many = session.advanced.clusterTransaction.lazily.getCompareExchangeValues<unknown>(["lazy/b", "lazy/none"]);
    const missing = session.advanced.clusterTransaction.lazily.getCompareExchangeValue("lazy/missing");
    expect(exchanges.length).toBe(mark); // nothing sent before the lazy values are asked for
    await session.advanced.eagerly.executeAllPendingLazyOperations();

    // All three in one round trip.
    const sent = exchanges.slice(mark);
    expect(sent.map((e) => `${e.method} ${e.url.split("?")[0]} ${e.status}`)).toEqual([`POST /databases/${store.database}/multi_get 200`]);

    const itemA = await a.getValue();
    expect(itemA!.key).toBe("lazy/a");
    expect(itemA!.value).toEqual({ n: 1 });
    expect(itemA!.index).toBe(index);
    const values = await many.getValue();
    expect(Object.keys(values)).toEqual(["lazy/b", "lazy/none"]);
    expect(values["lazy/b"]!.value).toBe("B");
    expect(values["lazy/b"]!.index).toBe(index);
    expect(values["lazy/none"]).toBeNull();
    expect(await missing.getValue()).toBeNull();
    expect(exchanges.length).toBe(mark + 1);
  });

  test("4 concurrent sessions edit one loaded document: exactly one wins", async () => {
    const store = openStore();
    const creator = clusterSession(store);
    await creator.store(new Counter("nobody", 0), "users/c1");
    await creator.saveChanges();
    const guard = await store.operations.send(new GetCompareExchangeValueOperation("rvn-atomic/users/c1"));
    expect(guard!.index).toBeGreaterThan(0);

    const sessions = Array.from({ length: 4 }, () => clusterSession(store));
    const docs = await Promise.all(sessions.map((s) => s.load<Counter>("users/c1", Counter)));
    docs.forEach((doc, i) => {
      expect(doc!.owner).toBe("nobody");
      doc!.owner = `writer-${i}`;
      doc!.edits = i + 1;
    });
    const outcomes = await Promise.allSettled(sessions.map((s) => s.saveChanges()));

    const winners = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [i] : []));
    expect(winners).toHaveLength(1);
    const newGuard = await store.operations.send(new GetCompareExchangeValueOperation("rvn-atomic/users/c1"));
    expect(newGuard!.index).toBeGreaterThan(guard!.index);
    for (const o of outcomes) {
      if (o.status === "rejected") expectGuardConflict(o.reason, "users/c1", guard!.index, newGuard!.index);
    }

    const stored = await store.openSession().load<Counter>("users/c1", Counter);
    expect(stored!.owner).toBe(`writer-${winners[0]}`);
    expect(stored!.edits).toBe(winners[0]! + 1);
  });

  test("Example III: 6 concurrent companies claim one phone via phones/555-0100: exactly one wins", async () => {
    const store = openStore();
    const N = 6;
    const sessions = Array.from({ length: N }, () => clusterSession(store));
    const companyIds = await Promise.all(
      sessions.map(async (session, i) => {
        const company = new Company(`Company ${i}`, "555-0100");
        await session.store(company); // no id: HiLo (GET /hilo/next)
        await session.store(new PhoneReference(company.id!), "phones/555-0100");
        return company.id!;
      }),
    );
    expect(new Set(companyIds).size).toBe(N);
    for (const id of companyIds) expect(id).toMatch(/^companies\/\d+-A$/);

    const outcomes = await Promise.allSettled(sessions.map((s) => s.saveChanges()));
    const winners = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [i] : []));
    expect(winners).toHaveLength(1);
    // Losers tried to create phones/555-0100 (guard expected 0) after the winner made its guard.
    const guard = await store.operations.send(new GetCompareExchangeValueOperation("rvn-atomic/phones/555-0100"));
    expect(guard!.index).toBeGreaterThan(0);
    for (const o of outcomes) {
      if (o.status === "rejected") expectGuardConflict(o.reason, "phones/555-0100", 0, guard!.index);
    }
    const winnerId = companyIds[winners[0]!]!;

    const reader = store.openSession();
    const loaded = await Promise.all(companyIds.map((id) => reader.load<Company>(id, Company)));
    const existing = companyIds.filter((_, i) => loaded[i] !== null);
    expect(existing).toEqual([winnerId]);
    expect(loaded[winners[0]!]!.name).toBe(`Company ${winners[0]}`);
    expect(loaded[winners[0]!]!.phone).toBe("555-0100");

    const phone = await reader.load<PhoneReference>("phones/555-0100", PhoneReference);
    expect(phone!.companyId).toBe(winnerId);

    // All or nothing: only the winner's company has an atomic guard (a prefix listing returns keys
    // lower-cased, as RavenDB stores them).
    const companyGuards = await store.operations.send(
      new GetCompareExchangeValuesOperation<unknown>({ startWith: "rvn-atomic/companies/" }),
    );
    expect(Object.keys(companyGuards)).toEqual([`rvn-atomic/${winnerId.toLowerCase()}`]);
  });

  test("store without an id in a cluster-wide session gets a HiLo id companies/<n>-A", async () => {
    const store = openStore();
    const session = clusterSession(store);
    const company = new Company("Acme", "555-0199");
    await session.store(company);
    const id = session.advanced.getDocumentId(company);
    expect(id).toMatch(/^companies\/\d+-A$/);
    expect(company.id).toBe(id);
    await session.saveChanges();
    expect(exchanges.some((e) => e.method === "GET" && e.url.includes("/hilo/next?") && e.status === 201)).toBe(true);

    const loaded = await store.openSession().load<Company>(id, Company);
    expect(loaded!.name).toBe("Acme");
    expect(loaded!.id).toBe(id);
  });
});
