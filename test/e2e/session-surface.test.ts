/// <reference types="node" />
/**
 * The session surface around compare-exchange, through the unmodified official client (`ravendb`
 * 7.2.2) against one `wrangler dev`, written the way RavenDB's documentation shows: includes of
 * compare-exchange values and documents on loads and queries (served from the session afterwards:
 * the client's request count does not grow), the query builder's clauses (parameters everywhere,
 * order by, projections, ranges, in, not, startsWith, exact) and collection statistics,
 * server-side identities, JavaScript in queries (declare function, JavaScript projections, with
 * their limits), the HTTP cache of loads and session.advanced.exists. Every test uses its own
 * database.
 */
import {
  AbstractJavaScriptIndexCreationTask,
  DocumentStore,
  GetCollectionStatisticsOperation,
  GetDetailedCollectionStatisticsOperation,
  GetIdentitiesOperation,
  GetDetailedStatisticsOperation,
  NextIdentityForOperation,
  PutCompareExchangeValueOperation,
  QueryData,
  SeedIdentityForOperation,
  type IDocumentSession,
} from "ravendb";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { printServerLogsOnFailure, startWranglerDev, type WranglerDev } from "./wrangler-dev";

let server: WranglerDev | undefined;
const openStores: DocumentStore[] = [];
let dbCounter = 0;

beforeAll(async () => {
  server = await startWranglerDev();
});
printServerLogsOnFailure(() => server);
afterEach(() => {
  for (const store of openStores.splice(0)) store.dispose();
});
afterAll(async () => {
  for (const store of openStores.splice(0)) store.dispose();
  await server?.stop();
});

function openStore(): DocumentStore {
  if (!server) throw new Error("wrangler dev did not start");
  const store = new DocumentStore(server.url, `e2e_ss_${Date.now()}_${process.pid}_${++dbCounter}`);
  store.initialize();
  openStores.push(store);
  return store;
}

const clusterSession = (store: DocumentStore): IDocumentSession => store.openSession({ transactionMode: "ClusterWide" });

class Company {
  public id?: string;
  constructor(
    public name = "",
    public externalId = "",
    public employees = 0,
    public city = "",
    public parentId = "",
  ) {}
}

class Person {
  public id?: string;
  constructor(public name = "") {}
}

/** A static index, as RavenDB's documentation defines one. */
class CompaniesByName extends AbstractJavaScriptIndexCreationTask<Company, Pick<Company, "name">> {
  constructor() {
    super();
    this.map(Company, (c) => ({ name: c.name }));
  }
}

/** The HiLo document as the official client's tests write it. */
class HiloDoc {
  public Max = 0;
}

class User {
  public id?: string;
  constructor(
    public name = "",
    public age = 0,
  ) {}
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

/** QueryTest's addUsers: John (3), John (5), Tarzan (2). */
async function addUsers(store: DocumentStore): Promise<void> {
  const session = store.openSession();
  await session.store(new User("John", 3), "users/1");
  await session.store(new User("John", 5), "users/2");
  await session.store(new User("Tarzan", 2), "users/3");
  await session.saveChanges();
}

/** Companies with external ids reserved as compare-exchange items (the docs' include example). */
async function seedCompanies(store: DocumentStore): Promise<void> {
  const session = clusterSession(store);
  session.advanced.clusterTransaction.createCompareExchangeValue("ext/acme", { country: "NO" });
  session.advanced.clusterTransaction.createCompareExchangeValue("ext/globex", { country: "US" });
  await session.store(new Company("Acme", "ext/acme", 50, "Oslo", "companies/globex"), "companies/acme");
  await session.store(new Company("Globex", "ext/globex", 1200, "Springfield"), "companies/globex");
  await session.store(new Company("Initech", "ext/none", 7, "austin"), "companies/initech");
  await session.store(new Company("Hooli", "ext/none", 300, "Palo Alto"), "companies/hooli");
  await session.saveChanges();
}

describe("compare-exchange and document includes", () => {
  test("load with includeCompareExchangeValue: getCompareExchangeValue is served from the session", async () => {
    const store = openStore();
    await seedCompanies(store);
    const session = clusterSession(store);
    const company = await session.load<Company>("companies/acme", {
      documentType: Company,
      includes: (b) => b.includeCompareExchangeValue("externalId"),
    });
    expect(company!.name).toBe("Acme");
    const requests = session.advanced.numberOfRequests;
    const value = await session.advanced.clusterTransaction.getCompareExchangeValue<{ country: string }>(company!.externalId);
    expect(value!.value).toEqual({ country: "NO" });
    expect(value!.index).toBeGreaterThan(0);
    expect(session.advanced.numberOfRequests).toBe(requests);

    // A missing item is included too (index -1): null, still without a request.
    const initech = await session.load<Company>("companies/initech", {
      documentType: Company,
      includes: (b) => b.includeCompareExchangeValue("externalId"),
    });
    const before = session.advanced.numberOfRequests;
    expect(await session.advanced.clusterTransaction.getCompareExchangeValue(initech!.externalId)).toBeNull();
    expect(session.advanced.numberOfRequests).toBe(before);

    // The included value can be updated in the same session (its index came with the include).
    value!.value = { country: "SE" };
    await session.saveChanges();
    const reader = clusterSession(store);
    expect((await reader.advanced.clusterTransaction.getCompareExchangeValue<{ country: string }>("ext/acme"))!.value).toEqual({
      country: "SE",
    });
  });

  test("load with includeDocuments: the included document loads without a request", async () => {
    const store = openStore();
    await seedCompanies(store);
    const session = store.openSession();
    const acme = await session.include("parentId").load<Company>("companies/acme", Company);
    const requests = session.advanced.numberOfRequests;
    const parent = await session.load<Company>(acme!.parentId, Company);
    expect(parent!.name).toBe("Globex");
    expect(session.advanced.numberOfRequests).toBe(requests);
  });

  test("include paths with a (prefix/) or [{0}/suffix], as RavenDB's server reads them: the built ids load without a request", async () => {
    const store = openStore();
    const seed = store.openSession();
    // The order keeps only the number of its customer; the customer's id is "customers/<n>".
    await seed.store(Object.assign(new Person("order"), { customerNo: 7, profileOf: "customers/7" }), "orders/1");
    await seed.store(new Person("Ann"), "customers/7");
    await seed.store(new Person("Ann's profile"), "customers/7/profile");
    await seed.saveChanges();
    const session = store.openSession();
    await session.include("customerNo(customers/)").include("profileOf[{0}/profile]").load("orders/1");
    const requests = session.advanced.numberOfRequests;
    expect((await session.load<Person>("customers/7", Person))!.name).toBe("Ann");
    expect((await session.load<Person>("customers/7/profile", Person))!.name).toBe("Ann's profile");
    expect(session.advanced.numberOfRequests).toBe(requests);
  });

  test("query with include(b => b.includeCompareExchangeValue(…)) and includeDocuments: one request", async () => {
    const store = openStore();
    await seedCompanies(store);
    const session = clusterSession(store);
    const companies = await session
      .query(Company)
      .include((b) => b.includeCompareExchangeValue("externalId").includeDocuments("parentId"))
      .whereEquals("name", "Acme")
      .all();
    expect(companies.map((c) => c.name)).toEqual(["Acme"]);
    const requests = session.advanced.numberOfRequests;
    expect((await session.advanced.clusterTransaction.getCompareExchangeValue<{ country: string }>("ext/acme"))!.value).toEqual({
      country: "NO",
    });
    expect((await session.load<Company>("companies/globex", Company))!.name).toBe("Globex");
    expect(session.advanced.numberOfRequests).toBe(requests);
  });

  test("raw RQL: include cmpxchg(c.externalId) with an alias", async () => {
    const store = openStore();
    await seedCompanies(store);
    const session = clusterSession(store);
    const companies = await session.advanced
      .rawQuery<Company>("from Companies as c where c.employees >= $min include cmpxchg(c.externalId)", Company)
      .addParameter("min", 1000)
      .all();
    expect(companies.map((c) => c.name)).toEqual(["Globex"]);
    const requests = session.advanced.numberOfRequests;
    expect((await session.advanced.clusterTransaction.getCompareExchangeValue<{ country: string }>("ext/globex"))!.value).toEqual({
      country: "US",
    });
    expect(session.advanced.numberOfRequests).toBe(requests);
  });
});

describe("query result ETags", () => {
  test("a repeated query is answered from the client's cache (304); after an included value changes it is not", async () => {
    const store = openStore();
    await seedCompanies(store);
    const run = async () => {
      const session = clusterSession(store);
      let stats: { durationInMs: number; resultEtag: number } | undefined;
      const companies = await session
        .query(Company)
        .include((b) => b.includeCompareExchangeValue("externalId"))
        .whereEquals("name", "Acme")
        .statistics((s) => (stats = s))
        .all();
      const requests = session.advanced.numberOfRequests;
      const item = await session.advanced.clusterTransaction.getCompareExchangeValue<{ country: string }>("ext/acme");
      expect(session.advanced.numberOfRequests).toBe(requests); // served from the include, cached or not
      return { names: companies.map((c) => c.name), stats: stats!, item: item! };
    };
    const first = await run();
    expect(first.names).toEqual(["Acme"]);
    expect(first.stats.durationInMs).toBeGreaterThanOrEqual(0);
    const second = await run();
    expect(second.stats.durationInMs).toBe(-1); // the client marks an answer from its cache so
    expect(second.stats.resultEtag).toBe(first.stats.resultEtag);
    expect(second.item.value).toEqual({ country: "NO" });

    await store.operations.send(new PutCompareExchangeValueOperation("ext/acme", { country: "DK" }, first.item.index));
    const third = await run();
    expect(third.stats.durationInMs).toBeGreaterThanOrEqual(0);
    expect(third.stats.resultEtag).not.toBe(first.stats.resultEtag);
    expect(third.item.value).toEqual({ country: "DK" });
  });
});

describe("document load ETags and exists", () => {
  class Partner {
    public id?: string;
    constructor(
      public name = "",
      public partnerId = "",
    ) {}
  }

  /** The client's requests to /docs (method and status), from its request executor's events. */
  function docsRequests(store: DocumentStore): { method: string; status: number }[] {
    const seen: { method: string; status: number }[] = [];
    store.getRequestExecutor().on("succeedRequest", (e) => {
      if (/\/docs\?/.test(e.url)) seen.push({ method: e.request.method ?? "GET", status: e.response.status });
    });
    return seen;
  }

  test("a load with an include is cached (one item), answered 304 in a new session, and not after the included document changes", async () => {
    const store = openStore();
    const seed = store.openSession();
    await seed.store(new Partner("Ayende"), "users/1");
    await seed.store(new Partner("", "users/1"), "users/2");
    await seed.saveChanges();
    const seen = docsRequests(store);
    const loadWithPartner = async () => {
      const session = store.openSession();
      const user = await session.include("partnerId").load<Partner>("users/2", Partner);
      const requests = session.advanced.numberOfRequests;
      const partner = await session.load<Partner>(user!.partnerId, Partner);
      expect(session.advanced.numberOfRequests).toBe(requests); // the include, from the cache or not
      return { requests, partner: partner!.name };
    };

    expect(await loadWithPartner()).toEqual({ requests: 1, partner: "Ayende" });
    // CachingOfDocumentInclude "can cache document with includes": the answer had an ETag, so it is kept.
    expect(store.getRequestExecutor().cache.numberOfItems).toBe(1);
    expect(await loadWithPartner()).toEqual({ requests: 1, partner: "Ayende" });
    expect(seen).toEqual([
      { method: "GET", status: 200 },
      { method: "GET", status: 304 },
    ]);

    // Only the included document changes: the cached answer must not be used.
    const writer = store.openSession();
    (await writer.load<Partner>("users/1", Partner))!.name = "Oren";
    await writer.saveChanges();
    seen.length = 0;
    expect(await loadWithPartner()).toEqual({ requests: 1, partner: "Oren" });
    expect(seen).toEqual([{ method: "GET", status: 200 }]);
  });

  test("session.advanced.exists (ExistsTest 'can tell if doc exists'): HEAD with the change vector as ETag", async () => {
    const store = openStore();
    const seed = store.openSession();
    await seed.store(new Partner("Idan"), "users/1");
    await seed.store(new Partner("Shalom"), "users/2");
    await seed.saveChanges();
    const seen = docsRequests(store);

    const session = store.openSession();
    expect(await session.advanced.exists("users/1")).toBe(true);
    expect(await session.advanced.exists("users/10")).toBe(false);
    await session.load("users/2");
    expect(await session.advanced.exists("users/2")).toBe(true);
    // users/1 by HEAD (200; users/10's 404 is no success), users/2 by GET, then from the session.
    expect(seen).toEqual([
      { method: "HEAD", status: 200 },
      { method: "GET", status: 200 },
    ]);
  });
});

describe("query builder", () => {
  test("take/skip in a cluster-wide session (limit $p0, $p1), order by strings, numbers and desc", async () => {
    const store = openStore();
    await seedCompanies(store);
    const session = clusterSession(store);
    const byName = await session.query(Company).orderBy("name").take(2).all();
    expect(byName.map((c) => c.name)).toEqual(["Acme", "Globex"]);
    const page = await session.query(Company).orderByDescending("employees", "Long").skip(1).take(2).all();
    expect(page.map((c) => c.name)).toEqual(["Hooli", "Acme"]);
    const byCity = await session.query(Company).orderBy("city").all();
    expect(byCity.map((c) => c.city)).toEqual(["austin", "Oslo", "Palo Alto", "Springfield"]);
    expect(byCity[0]).toBeInstanceOf(Company);
    expect(await session.query(Company).count()).toBe(4);
  });

  test("whereIn, ranges, between, not, or, startsWith", async () => {
    const store = openStore();
    await seedCompanies(store);
    const session = store.openSession();
    const names = async (query: { all(): Promise<Company[]> }) => (await query.all()).map((c) => c.name).sort();
    expect(await names(session.query(Company).whereIn("city", ["oslo", "Austin", "Gotham"]))).toEqual(["Acme", "Initech"]);
    expect(await names(session.query(Company).whereGreaterThan("employees", 50))).toEqual(["Globex", "Hooli"]);
    expect(await names(session.query(Company).whereLessThanOrEqual("employees", 50))).toEqual(["Acme", "Initech"]);
    expect(await names(session.query(Company).whereBetween("employees", 10, 500))).toEqual(["Acme", "Hooli"]);
    expect(await names(session.query(Company).not().whereEquals("externalId", "ext/none"))).toEqual(["Acme", "Globex"]);
    expect(await names(session.query(Company).whereStartsWith("name", "g").orElse().whereEquals("city", "Oslo"))).toEqual([
      "Acme",
      "Globex",
    ]);
    expect(
      await names(
        session
          .query(Company)
          .openSubclause()
          .whereEquals("city", "austin")
          .orElse()
          .whereEquals("city", "oslo")
          .closeSubclause()
          .andAlso()
          .whereLessThan("employees", 10),
      ),
    ).toEqual(["Initech"]);
  });

  test("selectFields projections, and unsupported constructs named in an InvalidQueryException", async () => {
    const store = openStore();
    await seedCompanies(store);
    const session = store.openSession();
    const projected = await session
      .query(Company)
      .whereEquals("city", "oslo")
      .selectFields<{ name: string; employees: number }>(["name", "employees"])
      .all();
    // (the client adds the stored @nested-object-types under __PROJECTED_NESTED_OBJECT_TYPES__ itself)
    expect(projected.map(({ name, employees }) => ({ name, employees }))).toEqual([{ name: "Acme", employees: 50 }]);
    const cities = await session.query(Company).orderBy("city").selectFields<string>("city").all();
    expect(cities).toEqual(["austin", "Oslo", "Palo Alto", "Springfield"]);

    const err = await rejection(session.query(Company).search("name", "acme").all());
    expect(err.name).toBe("InvalidQueryException");
    expect(err.message).toContain("search()");

    // Static indexes are no part of this server: creating one says so (501 System.NotSupportedException,
    // which the Node client, mapping only Raven.Client.* types, throws as a RavenException).
    const index = await rejection(new CompaniesByName().execute(store));
    expect(index.name).toBe("RavenException");
    expect(index.message).toContain("does not support static indexes");
  });

  test("whereEquals / whereNotEquals with exact = true respect case (exact(name = $p0))", async () => {
    const store = openStore();
    await addUsers(store);
    const session = store.openSession();
    expect(session.query(User).whereEquals("name", "tarzan", true).getIndexQuery().query).toBe("from 'Users' where exact(name = $p0)");
    expect(await session.query(User).whereEquals("name", "tarzan").all()).toHaveLength(1);
    expect(await session.query(User).whereEquals("name", "tarzan", true).all()).toHaveLength(0);
    const tarzan = await session.query(User).whereEquals("name", "Tarzan", true).all();
    expect(tarzan.map((u) => u.id)).toEqual(["users/3"]);
    expect(await session.query(User).whereNotEquals("name", "tarzan").all()).toHaveLength(2);
    // (this client writes whereNotEquals without exact(), whatever its third argument: QueryTest's 2 holds either way)
    expect(await session.query(User).whereNotEquals("name", "Tarzan", true).all()).toHaveLength(2);
    const notExact = (name: string) =>
      session.advanced.rawQuery<User>("from Users where exact(name != $name)", User).addParameter("name", name).all();
    expect(await notExact("Tarzan")).toHaveLength(2);
    expect(await notExact("tarzan")).toHaveLength(3);
    expect((await session.query(User).whereIn("name", ["john", "Tarzan"], true).all()).map((u) => u.name)).toEqual(["Tarzan"]);
    expect(await session.query(User).whereStartsWith("name", "j", true).all()).toHaveLength(0);
    expect(await session.query(User).whereStartsWith("name", "J", true).all()).toHaveLength(2);
  });

  test("GetCollectionStatisticsOperation and GetDetailedCollectionStatisticsOperation count documents per collection", async () => {
    const store = openStore();
    const session = store.openSession();
    await session.store(new User("John"), "users/1");
    await session.store(new User("Jane"), "users/2");
    await session.saveChanges();
    const stats = await store.maintenance.send(new GetCollectionStatisticsOperation());
    expect(stats.countOfDocuments).toBe(2);
    expect(stats.collections).toEqual({ Users: 2 });

    await seedCompanies(store);
    const more = await store.maintenance.send(new GetCollectionStatisticsOperation());
    expect(more.countOfDocuments).toBe(6);
    expect(more.collections).toEqual({ Companies: 4, Users: 2 });

    const detailed = await store.maintenance.send(new GetDetailedCollectionStatisticsOperation());
    expect(detailed.countOfDocuments).toBe(6);
    const companies = Object.values(detailed.collections).find((c) => c.name === "Companies");
    expect(companies?.countOfDocuments).toBe(4);
    expect(companies?.documentsSize.sizeInBytes).toBeGreaterThan(0);
  });
});

describe("JavaScript in queries", () => {
  class Projected {
    constructor(
      public Name = "",
      public Ext: { country: string } | null = null,
      public Parent: string | null = null,
    ) {}
  }

  test("declare function with includes.cmpxchg(): getCompareExchangeValue is served from the session", async () => {
    const store = openStore();
    await seedCompanies(store);
    const session = clusterSession(store);
    const companies = await session.advanced
      .rawQuery<Company>(
        "declare function incl(c) { includes.cmpxchg(c.externalId); return c; } from Companies as c where c.employees >= $min select incl(c)",
        Company,
      )
      .addParameter("min", 1000)
      .all();
    expect(companies.map((c) => c.name)).toEqual(["Globex"]);
    expect(companies[0]).toBeInstanceOf(Company);
    const requests = session.advanced.numberOfRequests;
    const value = await session.advanced.clusterTransaction.getCompareExchangeValue<{ country: string }>("ext/globex");
    expect(value!.value).toEqual({ country: "US" });
    expect(session.advanced.numberOfRequests).toBe(requests);
  });

  test("a JavaScript projection with cmpxchg() and load() (QueryData.customFunction, as RavenDB's docs write it)", async () => {
    const store = openStore();
    await seedCompanies(store);
    const session = store.openSession();
    const rows = await session
      .query(Company)
      .whereIn("name", ["Acme", "Globex"])
      .orderBy("name")
      .selectFields(
        QueryData.customFunction("c", "{ Name: c.name, Ext: cmpxchg(c.externalId), Parent: c.parentId ? load(c.parentId).name : null }"),
        Projected,
      )
      .all();
    expect(rows.map(({ Name, Ext, Parent }) => ({ Name, Ext, Parent }))).toEqual([
      { Name: "Acme", Ext: { country: "NO" }, Parent: "Globex" },
      { Name: "Globex", Ext: { country: "US" }, Parent: null },
    ]);
  });

  test("a runaway function, a string bomb, for…in, BigInt and long-string operators end with a clear JavaScript error; the next query works", async () => {
    const store = openStore();
    await seedCompanies(store);
    const session = store.openSession();
    const runaway = await rejection(
      session.advanced.rawQuery("declare function spin(c) { for (;;) {} } from Companies as c select spin(c)").all(),
    );
    expect(runaway.name).toBe("JavaScriptException");
    expect(runaway.message).toContain("CPU budget");
    const bomb = await rejection(
      session.advanced
        .rawQuery("declare function grow(c) { var s = 'x'; for (;;) { s = s + s; s.charCodeAt(0); } } from Companies as c select grow(c)")
        .all(),
    );
    expect(bomb.name).toBe("JavaScriptException");
    // Each + of a long string is charged by its length now (core/js-rewrite.ts): doubling a string
    // spends the CPU budget before the memory fills (the memory cap: test/js-sandbox.test.ts).
    expect(bomb.message).toContain("CPU budget");
    // for…in over many keys is charged too, and a BigInt literal is refused before anything runs.
    const keys = await rejection(
      session.advanced
        .rawQuery(
          "declare function keys(c) { var o = {}; for (var i = 0; i < 1e5; i++) o['k' + i] = i; for (;;) { for (var k in o) break; } } from Companies as c select keys(c)",
        )
        .all(),
    );
    expect(keys.name).toBe("JavaScriptException");
    expect(keys.message).toContain("CPU budget");
    const bigint = await rejection(session.advanced.rawQuery("from Companies as c select { n: 7n ** 20000n }").all());
    expect(bigint.name).toBe("JavaScriptParseException");
    expect(bigint.message).toContain("BigInt is not supported");
    // A loop over an expensive built-in (searching a large array) spends the CPU budget too.
    const searching = await rejection(
      session.advanced
        .rawQuery(
          "declare function search(c) { var a = []; for (var i = 0; i < 1e5; i++) a.push(i); for (;;) a.indexOf(-1); } from Companies as c select search(c)",
        )
        .all(),
    );
    expect(searching.name).toBe("JavaScriptException");
    expect(searching.message).toContain("CPU budget");
    // Operators no rewrite reaches (comparing 1 MB strings, a 10⁵-deep prototype chain): the
    // engine charges their native work (engine/README.md; that steps, not the clock, stop them
    // is shown in test/js-meter.test.ts, where the budget has no clock).
    for (const body of [
      "var s = 'ab'.repeat(5e5), t = 'ab'.repeat(5e5); for (;;) s === t;",
      "function F() {} var o = {}; for (var i = 0; i < 1e5; i++) { F.prototype = o; o = new F(); } for (;;) o.missing;",
    ]) {
      const native = await rejection(session.advanced.rawQuery(`declare function f(c) { ${body} } from Companies as c select f(c)`).all());
      expect(native.name).toBe("JavaScriptException");
      expect(native.message).toContain("CPU budget");
    }
    const next = await session.query(Company).whereEquals("name", "Hooli").all();
    expect(next.map((c) => c.name)).toEqual(["Hooli"]);
  });
});

describe("identities", () => {
  test("ids ending in '|' get the next identity of their prefix, also in cluster-wide sessions", async () => {
    const store = openStore();
    const session = store.openSession();
    const first = new Person("Ann");
    const second = new Person("Bob");
    await session.store(first, "people|");
    await session.store(second, "people|");
    await session.saveChanges();
    expect([first.id, second.id]).toEqual(["people/1", "people/2"]);
    expect((await store.openSession().load<Person>("people/2", Person))!.name).toBe("Bob");

    const cluster = clusterSession(store);
    const third = new Person("Cid");
    await cluster.store(third, "people|");
    cluster.advanced.clusterTransaction.createCompareExchangeValue("names/cid", "taken");
    await cluster.saveChanges();
    expect(third.id).toBe("people/3");

    expect(await store.maintenance.send(new NextIdentityForOperation("people"))).toBe(4);
    await store.maintenance.send(new SeedIdentityForOperation("people", 100));
    const fourth = new Person("Dee");
    const s2 = store.openSession();
    await s2.store(fourth, "people|");
    await s2.saveChanges();
    expect(fourth.id).toBe("people/101");
    expect(await store.maintenance.send(new GetIdentitiesOperation())).toEqual({ "people|": 101 });

    const stats = await store.maintenance.send(new GetDetailedStatisticsOperation());
    expect(stats.countOfIdentities).toBe(1);
    expect(stats.countOfDocuments).toBe(4);
    // names/cid and the atomic guard of people/3 (RavenDB counts guards as compare-exchange items).
    expect(stats.countOfCompareExchange).toBe(2);
  });

  test("concurrent sessions storing 'orders|' get distinct consecutive identities", async () => {
    const store = openStore();
    const ids = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const session = store.openSession();
        const person = new Person("x");
        await session.store(person, "orders|");
        await session.saveChanges();
        return person.id!;
      }),
    );
    expect(ids.map((id) => Number(id.split("/")[1])).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test("HiLo ids continue above the document Raven/Hilo/<tag>; a disposed store gives its unused range back", async () => {
    const store = openStore();
    // As after moving a database from RavenDB: people/1-A … people/64-A exist, and so does their HiLo document.
    const seed = store.openSession();
    await seed.store(Object.assign(new HiloDoc(), { Max: 64 }), "Raven/Hilo/people");
    await seed.saveChanges();
    const own = new DocumentStore(store.urls, store.database);
    own.initialize();
    const session = own.openSession();
    const ann = new Person("Ann");
    const bob = new Person("Bob");
    await session.store(ann);
    await session.store(bob);
    await session.saveChanges();
    expect([ann.id, bob.id]).toEqual(["people/65-A", "people/66-A"]);
    const loaded = await store.openSession().load<HiloDoc>("Raven/Hilo/people", HiloDoc);
    expect(loaded!.Max).toBe(96);
    const disposed = new Promise<void>((resolve) =>
      own.once("afterDispose", (handled: () => void) => {
        handled();
        resolve();
      }),
    );
    own.dispose(); // returns 67 … 96 (PUT /hilo/return)
    await disposed;
    const after = await store.openSession().load<HiloDoc>("Raven/Hilo/people", HiloDoc);
    expect(after!.Max).toBe(66);
    expect(after).toBeInstanceOf(HiloDoc); // its other fields (the client's type) were kept
  });

  test("ids ending in '/' get a server-generated unique id in RavenDB's format", async () => {
    const store = openStore();
    const session = store.openSession();
    const a = new Person("a");
    const b = new Person("b");
    await session.store(a, "people/");
    await session.store(b, "people/");
    await session.saveChanges();
    expect(a.id).toMatch(/^people\/\d{19}-A$/);
    expect(b.id).toMatch(/^people\/\d{19}-A$/);
    expect(a.id).not.toBe(b.id);
    expect((await store.openSession().load<Person>(b.id!, Person))!.name).toBe("b");
  });
});
