// Fair locks keep each lock's queue on ONE shard in both kinds of database: with key hash tags
// (the lock's name is the keys' tag) and without (the client draws queue keys on the shard of the
// lock's anchor key). There, each enqueue is one create whose index is the ticket: FIFO order,
// mutual exclusion, a waiter dying mid-queue and strictly increasing fencing tokens hold alike.
// And items queued by earlier clients (the ticket-counter scheme, on any shard) are honoured.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { acquireFairLock, withFairLock, type FairLock } from "../../src/client";
import { enqueue, lockKeys, queueOf, type Ticket } from "../../src/client/fair-lock";
import { expiresIn } from "../../src/client/api";
import { lowerKey } from "../../src/core/keys";
import { hashTagOf, shardOf } from "../../src/core/routing";
import { shardStub } from "../../src/stubs";
import { BASE, clientFor, delay, freshDb, workerFetch } from "./support";

const SHARDS = 16;

/** A fresh database, created with key hash tags or used implicitly (whole-key routing). */
async function database(tags: boolean): Promise<string> {
  const db = freshDb(tags ? "fair1tags" : "fair1plain");
  if (tags) {
    const created = await workerFetch(
      new Request(`${BASE}/admin/databases?name=${db}`, { method: "PUT", body: JSON.stringify({ DatabaseName: db, KeyHashTags: true }) }),
    );
    expect(created.status).toBe(201);
  }
  expect(await clientFor(db).routing()).toEqual({ keyHashTags: tags, shardCount: SHARDS });
  return db;
}

/** How many of the lock's queue items each shard holds, asked of every shard itself. */
async function itemsPerShard(db: string, name: string): Promise<number[]> {
  const queue = lockKeys(name).queue;
  return Promise.all(
    Array.from({ length: SHARDS }, async (_, shard) => {
      const keys = await shardStub(env, db, shard).listKeys({
        prefix: lowerKey(queue),
        upper: `${lowerKey(queue.slice(0, -1))}0`,
        after: undefined,
        limit: 1000,
      });
      return keys.length;
    }),
  );
}

/** The shard that must hold the lock's queue: its tag's, or its anchor key's. */
function queueShard(name: string, tags: boolean): number {
  const anchor = lowerKey(lockKeys(name).anchor);
  return tags ? shardOf(hashTagOf(anchor)!, SHARDS) : shardOf(anchor, SHARDS, false);
}

async function queueLength(db: string, name: string, n: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await queueOf(clientFor(db), lockKeys(name))).length === n) return;
    await delay(10);
  }
  throw new Error(`the queue of '${name}' never reached ${n} items`);
}

describe.each([
  { kind: "without key hash tags", tags: false },
  { kind: "with key hash tags", tags: true },
])("fair lock $kind", { timeout: 60_000 }, ({ tags }) => {
  it("queues every item on one shard with one create each; FIFO; a dead waiter is passed at its expiry; tokens increase", async () => {
    const db = await database(tags);
    const client = clientFor(db);
    const holder = await acquireFairLock(client, "job", { ttlMs: 10_000, waitMs: 0, owner: "h" });
    const order: string[] = [];
    const tokens: number[] = [holder.token];
    const acquiredAt = new Map<string, number>();
    const waiters: Promise<void>[] = [];
    let dead: Ticket | null = null;
    const queueWaiter = async (id: string) => {
      waiters.push(
        withFairLock(clientFor(db), "job", { ttlMs: 10_000, waitMs: 45_000, owner: id }, async (lock) => {
          order.push(id);
          tokens.push(lock.token);
          acquiredAt.set(id, Date.now());
          await delay(5);
        }),
      );
      await queueLength(db, "job", waiters.length + 1 + (dead ? 1 : 0));
    };
    await queueWaiter("w1");
    await queueWaiter("w2");
    // A waiter that dies right after queueing: never renews, never leaves.
    dead = await enqueue(client, lockKeys("job"), { owner: "dead", enqueuedAt: new Date().toISOString() }, 1_500);
    await queueWaiter("w3");
    await queueWaiter("w4");

    const perShard = await itemsPerShard(db, "job");
    const home = queueShard("job", tags);
    expect(perShard[home]).toBe(6);
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(6);
    // No transaction at all: no ticket counter, each enqueue was one create.
    const panel = await workerFetch(new Request(`${BASE}/databases/${db}/transactions?limit=100`));
    expect(((await panel.json()) as { Results: unknown[] }).Results).toEqual([]);
    expect(await client.get(lockKeys("job").anchor)).toBeNull();

    expect(await holder.release()).toBe(true);
    await Promise.all(waiters);
    expect(order).toEqual(["w1", "w2", "w3", "w4"]);
    // w3 queued behind the dead waiter: its turn came only once that lease had run out.
    expect(acquiredAt.get("w3")!).toBeGreaterThanOrEqual(dead.expiresAt);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
    expect(dead.ticket).toBeGreaterThan(tokens[2]!);
    expect(dead.ticket).toBeLessThan(tokens[3]!);
    expect(await queueOf(client, lockKeys("job"))).toEqual([]);
  });

  it("6 workers × 3 sections racing, each its own client: never overlapping, tokens strictly increasing, all on one shard", async () => {
    const db = await database(tags);
    let inside: string | null = null;
    const tokens: number[] = [];
    const keysSeen = new Set<string>();
    const worker = async (id: string) => {
      const client = clientFor(db);
      for (let section = 0; section < 3; section++) {
        await withFairLock(client, "race", { ttlMs: 10_000, waitMs: 45_000, owner: id }, async (lock: FairLock) => {
          expect(inside, `${id} entered while ${inside} held the lock`).toBeNull();
          inside = id;
          tokens.push(lock.token);
          keysSeen.add(lock.key);
          await delay(2);
          inside = null;
        });
      }
    };
    await Promise.all(["a", "b", "c", "d", "e", "f"].map(worker));
    expect(tokens).toHaveLength(18);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
    const home = queueShard("race", tags);
    const shards = new Set([...keysSeen].map((key) => (tags ? home : shardOf(lowerKey(key), SHARDS, false))));
    expect([...shards]).toEqual([home]);
  });
});

describe("fair lock without key hash tags, after the ticket-counter scheme of earlier clients", { timeout: 60_000 }, () => {
  it("an old-scheme holder (a 16-digit ticket item on any shard) is waited for, and the new token is larger", async () => {
    const db = await database(false);
    const client = clientFor(db);
    const keys = lockKeys("old");
    // The old clients' ticket counter (its name, as they wrote it).
    const seqKey = "locks/{old}/seq";
    // Raise another shard's index counter well above the anchor's, then let a transaction over
    // both write `seq`, as the old enqueue did: seq's index (and the old tickets) end up high.
    const home = queueShard("old", false);
    let bump = 0;
    while (shardOf(lowerKey(`bump/${bump}`), SHARDS, false) === home) bump++;
    let index = 0;
    for (let i = 0; i < 30; i++) index = (await client.put(`bump/${bump}`, i, index)).index;
    await client.transaction().put(seqKey, 0, 0).put(`bump/${bump}`, "x", index).commit();
    // The old client's enqueue: ticket = seq's index + 1, one transaction with the 16-digit item.
    const seq = (await client.get<number>(seqKey))!;
    const ticket = seq.index + 1;
    const oldKey = keys.queue + String(ticket).padStart(16, "0");
    const record = { owner: "old", enqueuedAt: new Date().toISOString(), ticket };
    const committed = await client.transaction().put(seqKey, ticket, seq.index).create(oldKey, record, expiresIn(10_000)).commit();
    expect(ticket).toBeGreaterThan(30);

    let newHolds = false;
    const next = acquireFairLock(clientFor(db), "old", { ttlMs: 10_000, waitMs: 30_000, owner: "new" }).then((lock) => {
      newHolds = true;
      return lock;
    });
    await queueLength(db, "old", 2);
    await delay(300);
    expect(newHolds).toBe(false);
    // The old holder releases as old clients did: its item marked released, at its index.
    const oldIndex = (await client.get(oldKey))!.index;
    expect(oldIndex).toBe(committed.index);
    expect((await client.put(oldKey, { ...record, released: true }, oldIndex, expiresIn(500))).successful).toBe(true);
    const lock = await next;
    expect(lock.owner).toBe("new");
    expect(lock.token).toBeGreaterThan(ticket);
    expect(shardOf(lowerKey(lock.key), SHARDS, false)).toBe(home);
    await lock.release();
  });
});
