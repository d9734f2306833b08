/// <reference types="node" />
/**
 * Lazy operations through the unmodified official client (`ravendb` 7.2.2) against one
 * `wrangler dev`: a lazy query is a POST of `/queries` inside a `multi_get`, and a repeated one is
 * answered 304 from the client's cache, as RavenDB's server answers it. The test reads what went
 * over the wire (the client's fetch, recorded).
 */
import { DocumentStore } from "ravendb";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { printServerLogsOnFailure, startWranglerDev, type WranglerDev } from "./wrangler-dev";

let server: WranglerDev | undefined;
const openStores: DocumentStore[] = [];
const realFetch = globalThis.fetch;
/** The multi_get exchanges of the current test: what was asked and what came back. */
const multiGets: { request: string; response: string }[] = [];

async function recordingFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  const res = await realFetch(input, init);
  if (server && url.startsWith(server.url) && url.includes("/multi_get")) {
    multiGets.push({ request: typeof init?.body === "string" ? init.body : "", response: await res.clone().text() });
  }
  return res;
}

beforeAll(async () => {
  server = await startWranglerDev();
  globalThis.fetch = recordingFetch as typeof fetch;
});
printServerLogsOnFailure(() => server);
beforeEach(() => {
  multiGets.length = 0;
});
afterEach(() => {
  for (const store of openStores.splice(0)) store.dispose();
});
afterAll(async () => {
  globalThis.fetch = realFetch;
  await server?.stop();
});

function openStore(): DocumentStore {
  if (!server) throw new Error("wrangler dev did not start");
  const store = new DocumentStore(server.url, `e2e_lazy_${Date.now()}_${process.pid}_${openStores.length}`);
  store.initialize();
  openStores.push(store);
  return store;
}

class User {
  public id?: string;
  constructor(
    public name = "",
    public age = 0,
  ) {}
}

interface MultiGetResult {
  StatusCode: number;
  Headers: Record<string, string>;
  Result: unknown;
}

const resultsOf = (response: string) => (JSON.parse(response) as { Results: MultiGetResult[] }).Results;

describe("lazy queries (multi_get)", () => {
  test("a lazy query runs inside one multi_get, and a repeated one is answered 304 from the client's cache", async () => {
    const store = openStore();
    const seed = store.openSession();
    await seed.store(new User("ada", 36), "users/1");
    await seed.store(new User("bob", 41), "users/2");
    await seed.store(new User("cy", 29), "users/3");
    await seed.saveChanges();

    const first = store.openSession();
    const lazy = first.query<User>({ collection: "Users", documentType: User }).whereGreaterThan("age", 30).orderBy("name").lazily();
    expect(multiGets).toHaveLength(0); // nothing is sent before the value is asked for
    const users = await lazy.getValue();
    expect(users.map((u) => u.name)).toEqual(["ada", "bob"]);
    expect(first.advanced.numberOfRequests).toBe(1);
    expect(multiGets).toHaveLength(1);
    const sent = JSON.parse(multiGets[0]!.request) as { Requests: { Method: string; Url: string }[] };
    expect(sent.Requests[0]).toMatchObject({ Method: "POST" });
    expect(sent.Requests[0]!.Url).toMatch(/\/queries$/);
    const [answer] = resultsOf(multiGets[0]!.response);
    expect(answer!.StatusCode).toBe(200);
    expect(answer!.Headers.ETag).toMatch(/^"[^"]+"$/);

    // The same query again: the client sends If-None-Match; nothing changed, so 304 and no body.
    const second = store.openSession();
    const again = await second
      .query<User>({ collection: "Users", documentType: User })
      .whereGreaterThan("age", 30)
      .orderBy("name")
      .lazily()
      .getValue();
    expect(again.map((u) => u.name)).toEqual(["ada", "bob"]);
    const [cached] = resultsOf(multiGets[1]!.response);
    expect(cached).toMatchObject({ StatusCode: 304, Result: null });

    // A result changed: the query runs again and the new ETag differs.
    const writer = store.openSession();
    const bob = await writer.load<User>("users/2", User);
    bob!.name = "bobby";
    await writer.saveChanges();
    const third = store.openSession();
    const changed = await third
      .query<User>({ collection: "Users", documentType: User })
      .whereGreaterThan("age", 30)
      .orderBy("name")
      .lazily()
      .getValue();
    expect(changed.map((u) => u.name)).toEqual(["ada", "bobby"]);
    const [fresh] = resultsOf(multiGets[2]!.response);
    expect(fresh!.StatusCode).toBe(200);
    expect(fresh!.Headers.ETag).not.toBe(answer!.Headers.ETag);
  });

  test("lazy loads and a lazy query share one multi_get", async () => {
    const store = openStore();
    const seed = store.openSession();
    await seed.store(new User("ada", 36), "users/1");
    await seed.saveChanges();
    const session = store.openSession();
    const loaded = session.advanced.lazily.load<User>("users/1", User);
    const counted = session.query<User>({ collection: "Users", documentType: User }).lazily();
    await session.advanced.eagerly.executeAllPendingLazyOperations();
    expect((await loaded.getValue())!.name).toBe("ada");
    expect((await counted.getValue()).map((u) => u.name)).toEqual(["ada"]);
    expect(multiGets).toHaveLength(1);
    expect(resultsOf(multiGets[0]!.response).map((r) => r.StatusCode)).toEqual([200, 200]);
  });

  test("an inner POST other than a query is refused, with RavenDB's envelope", async () => {
    if (!server) throw new Error("wrangler dev did not start");
    const db = `e2e_lazy_post_${Date.now()}`;
    const res = await realFetch(`${server.url}/databases/${db}/multi_get`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ Requests: [{ Url: `/databases/${db}/bulk_docs`, Method: "POST", Content: { Commands: [] } }] }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { Type: string; Message: string };
    expect(body.Type).toBe("System.IO.InvalidDataException");
    expect(body.Message).toContain("POST");
  });
});
