// Leader election on the fair lock's queue: campaign order, proclaim, resign, observe, and
// fail-over when the leader dies (its lease lapses).
import { describe, expect, it } from "vitest";
import { CmpxchgClient, Election, type Leader } from "../../src/client";
import { BASE, clientFor, delay, freshDb, workerFetch } from "./support";

/** A client whose process can "die": after `kill()` every request fails without an answer. */
function mortalClient(db: string): { client: CmpxchgClient; kill: () => void } {
  let dead = false;
  const client = new CmpxchgClient({
    url: BASE,
    database: db,
    retries: 0,
    fetch: (request) => (dead ? Promise.reject(new TypeError("network down")) : workerFetch(request)),
  });
  return { client, kill: () => (dead = true) };
}

describe("Election", { timeout: 60_000 }, () => {
  it("campaign, proclaim, resign, fail-over on a lapsed lease; observe sees every leader in order", async () => {
    const db = freshDb("elect");
    const election = (client = clientFor(db)) => new Election<string>(client, "primary", { ttlMs: 800 });
    const observed: Leader<string>[] = [];
    const stop = new AbortController();
    const observing = (async () => {
      for await (const leader of election().observe(stop.signal)) observed.push(leader);
    })();

    const first = await election().campaign("a:1", { owner: "a" });
    expect(await election().leader()).toMatchObject({ owner: "a", value: "a:1", token: first.token });
    const mortal = mortalClient(db);
    const second = election(mortal.client).campaign("b:1", { owner: "b" });
    await delay(100);
    const third = election().campaign("c:1", { owner: "c" });
    await delay(100);
    await first.proclaim("a:2");
    await delay(200);
    await first.resign();
    const b = await second;
    expect(b.owner).toBe("b");
    await delay(200);
    // b dies: no renew reaches the server, the lease lapses, c leads; b's own signal says so.
    mortal.kill();
    const c = await third;
    expect(c.owner).toBe("c");
    expect(c.token).toBeGreaterThan(b.token);
    await delay(300);
    expect(b.signal.aborted).toBe(true);
    await c.proclaim("c:2");
    await delay(300);
    stop.abort();
    await observing;
    expect(observed.map((l) => `${l.owner}=${l.value}`)).toEqual(["a=a:1", "a=a:2", "b=b:1", "c=c:1", "c=c:2"]);
    const tokens = observed.map((l) => l.token);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThanOrEqual(tokens[i - 1]!);
    await c.resign();
    expect(await election().leader()).toBeNull();
  });

  it("in a database with key hash tags (tickets are the queue's indexes): order, proclaim, resign, fail-over, observe", async () => {
    const db = freshDb("electtags");
    const created = await workerFetch(
      new Request(`${BASE}/admin/databases?name=${db}`, { method: "PUT", body: JSON.stringify({ DatabaseName: db, KeyHashTags: true }) }),
    );
    expect(created.status).toBe(201);
    const election = (client = clientFor(db)) => new Election<string>(client, "primary", { ttlMs: 800 });
    const first = await election().campaign("a:1", { owner: "a" });
    const observed: Leader<string>[] = [];
    const stop = new AbortController();
    const observing = (async () => {
      for await (const leader of election().observe(stop.signal)) observed.push(leader);
    })();
    const mortal = mortalClient(db);
    const second = election(mortal.client).campaign("b:1", { owner: "b" });
    await delay(100);
    const third = election().campaign("c:1", { owner: "c" });
    await delay(100);
    await first.proclaim("a:2");
    await delay(200);
    expect(await election().leader()).toMatchObject({ owner: "a", value: "a:2", token: first.token });
    await first.resign();
    const b = await second;
    expect(b.owner).toBe("b");
    expect(b.token).toBeGreaterThan(first.token);
    mortal.kill();
    const c = await third;
    expect(c.owner).toBe("c");
    expect(c.token).toBeGreaterThan(b.token);
    await delay(300);
    stop.abort();
    await observing;
    expect(observed.map((l) => `${l.owner}=${l.value}`)).toEqual(["a=a:1", "a=a:2", "b=b:1", "c=c:1"]);
    await c.resign();
    expect(await election().leader()).toBeNull();
  });

  it("a campaign can be abandoned through its signal; it leaves the queue", async () => {
    const db = freshDb("elect");
    const e = new Election<string>(clientFor(db), "x", { ttlMs: 5_000 });
    const leader = await e.campaign("l", { owner: "l" });
    const quit = new AbortController();
    const pending = e.campaign("q", { owner: "q", signal: quit.signal }).then(
      () => "led",
      () => "abandoned",
    );
    await delay(200);
    quit.abort();
    expect(await pending).toBe("abandoned");
    await leader.resign();
    expect(await e.leader()).toBeNull();
  });
});
