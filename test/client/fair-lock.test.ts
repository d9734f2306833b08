// Fair locks: arrival order, mutual exclusion, strictly increasing fencing tokens, a waiter that
// dies mid-queue, a holder whose lease lapses while it still believes it holds the lock, and
// keep-alive with loss reported through an AbortSignal.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  acquireFairLock,
  acquireLock,
  CmpxchgServiceClient,
  Election,
  fencedPut,
  update,
  LockLostException,
  LockTimeoutException,
  withFairLock,
  withLock,
  type FairLock,
} from "../../src/client";
import { enqueue, lockKeys, queueOf } from "../../src/client/fair-lock";
import { env } from "cloudflare:workers";
import { shardOf } from "../../src/core/routing";
import { shardStub } from "../../src/stubs";
import { BASE, clientFor, delay, freshDb, thrown, workerFetch } from "./support";

/** Waits (polling, test-side only) until the lock's queue holds `n` items. */
async function queueLength(db: string, name: string, n: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await queueOf(clientFor(db), lockKeys(name))).length === n) return;
    await delay(10);
  }
  throw new Error(`the queue of '${name}' never reached ${n} items`);
}

describe("acquireFairLock", { timeout: 60_000 }, () => {
  it("waiters get the lock in the order they queued, each once, tokens strictly increasing", async () => {
    const db = freshDb("fair");
    const holder = await acquireFairLock(clientFor(db), "job", { ttlMs: 10_000, waitMs: 0, owner: "h" });
    const order: string[] = [];
    const tokens: number[] = [holder.token];
    const waiters: Promise<void>[] = [];
    // Queue w1..w6 one after another (each is in the queue before the next starts), then release.
    for (let i = 1; i <= 6; i++) {
      const id = `w${i}`;
      waiters.push(
        acquireFairLock(clientFor(db), "job", { ttlMs: 10_000, waitMs: 45_000, owner: id }).then(async (lock) => {
          order.push(id);
          tokens.push(lock.token);
          await delay(5);
          expect(await lock.release()).toBe(true);
        }),
      );
      await queueLength(db, "job", i + 1);
    }
    expect(await holder.release()).toBe(true);
    await Promise.all(waiters);
    expect(order).toEqual(["w1", "w2", "w3", "w4", "w5", "w6"]);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
    expect(await queueOf(clientFor(db), lockKeys("job"))).toEqual([]);
  });

  it("in a database with key hash tags, waiters queue by one create each on the tag's shard, in order", async () => {
    const db = freshDb("fairtags");
    const created = await workerFetch(
      new Request(`${BASE}/admin/databases?name=${db}`, { method: "PUT", body: JSON.stringify({ DatabaseName: db, KeyHashTags: true }) }),
    );
    expect(created.status).toBe(201);
    expect(await clientFor(db).routing()).toEqual({ keyHashTags: true, shardCount: 16 });
    const holder = await acquireFairLock(clientFor(db), "job", { ttlMs: 10_000, waitMs: 0, owner: "h" });
    const order: string[] = [];
    const tokens: number[] = [holder.token];
    const waiters: Promise<void>[] = [];
    for (const id of ["w1", "w2", "w3"]) {
      waiters.push(
        withFairLock(clientFor(db), "job", { ttlMs: 10_000, waitMs: 30_000, owner: id }, async (lock) => {
          order.push(id);
          tokens.push(lock.token);
          // A renew stores the ticket in the value: the order must not change with the index.
          await lock.renew();
        }),
      );
      await queueLength(db, "job", order.length + waiters.length + 1);
    }
    // Every item of the queue lives on the tag's shard (asked of that shard alone).
    const onShard = await shardStub(env, db, shardOf("job", 16)).listKeys({
      prefix: "locks/{job}/queue/",
      upper: "locks/{job}/queue0",
      after: undefined,
      limit: 100,
    });
    expect(onShard).toHaveLength(4);
    await holder.renew();
    await holder.release();
    await Promise.all(waiters);
    expect(order).toEqual(["w1", "w2", "w3"]);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
    // No transaction at all: each enqueue was one create, not a ticket transaction.
    const panel = await workerFetch(new Request(`${BASE}/databases/${db}/transactions?limit=100`));
    expect(((await panel.json()) as { Results: unknown[] }).Results).toEqual([]);
  });

  it("with key hash tags, a waiter whose predecessor gave up still waits for the holder before it", async () => {
    const db = freshDb("fairtags");
    await workerFetch(
      new Request(`${BASE}/admin/databases?name=${db}`, { method: "PUT", body: JSON.stringify({ DatabaseName: db, KeyHashTags: true }) }),
    );
    const holder = await acquireFairLock(clientFor(db), "q", { ttlMs: 10_000, waitMs: 0, owner: "h" });
    const quit = new AbortController();
    const quitter = thrown(() =>
      acquireFairLock(clientFor(db), "q", { ttlMs: 10_000, waitMs: 30_000, owner: "quitter", signal: quit.signal }),
    );
    await queueLength(db, "q", 2);
    let patientHolds = false;
    const patient = acquireFairLock(clientFor(db), "q", { ttlMs: 10_000, waitMs: 30_000, owner: "patient" }).then((lock) => {
      patientHolds = true;
      return lock;
    });
    await queueLength(db, "q", 3);
    // The quitter, the patient one's nearest predecessor, deletes its item: that says nothing of
    // the holder before it, which the patient one must find still there.
    quit.abort();
    await quitter;
    await queueLength(db, "q", 2);
    await delay(200);
    expect(patientHolds).toBe(false);
    expect(await holder.release()).toBe(true);
    const lock = await patient;
    expect(lock.token).toBeGreaterThan(holder.token);
    await lock.release();
    expect(await queueOf(clientFor(db), lockKeys("q"))).toEqual([]);
  });

  it("with key hash tags, a holder's renewal (a new index) does not move it behind later waiters", async () => {
    const db = freshDb("fairtags");
    await workerFetch(
      new Request(`${BASE}/admin/databases?name=${db}`, { method: "PUT", body: JSON.stringify({ DatabaseName: db, KeyHashTags: true }) }),
    );
    const holder = await acquireFairLock(clientFor(db), "r", { ttlMs: 10_000, waitMs: 0, owner: "h", keepAlive: false });
    const held: string[] = [];
    const take = (owner: string) =>
      acquireFairLock(clientFor(db), "r", { ttlMs: 10_000, waitMs: 30_000, owner, keepAlive: false }).then((lock) => {
        held.push(owner);
        return lock;
      });
    const w = take("w");
    await queueLength(db, "r", 2);
    // The holder's item now has an index above w's: its ticket is what its value records.
    await holder.renew();
    const x = take("x");
    await queueLength(db, "r", 3);
    await holder.release();
    const wLock = await w;
    await delay(200);
    expect(held).toEqual(["w"]);
    await wLock.release();
    await (await x).release();
    expect(held).toEqual(["w", "x"]);
  });

  it("6 workers × 3 sections racing: never overlapping, tokens strictly increasing", async () => {
    const db = freshDb("fair");
    let inside: string | null = null;
    const tokens: number[] = [];
    const worker = async (id: string) => {
      const client = clientFor(db);
      for (let section = 0; section < 3; section++) {
        await withFairLock(client, "report", { ttlMs: 10_000, waitMs: 45_000, owner: id }, async (lock, signal) => {
          expect(inside, `${id} entered while ${inside} held the lock`).toBeNull();
          inside = id;
          tokens.push(lock.token);
          await client.put(`work/${id}/${section}`, lock.token, 0);
          await delay(3);
          expect(signal.aborted).toBe(false);
          inside = null;
        });
      }
    };
    await Promise.all(["a", "b", "c", "d", "e", "f"].map(worker));
    expect(tokens).toHaveLength(18);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
  });

  it("a waiter that dies mid-queue leaves it when its lease expires; the next one moves on", async () => {
    const db = freshDb("fair");
    const client = clientFor(db);
    const holder = await acquireFairLock(client, "q", { ttlMs: 10_000, waitMs: 0, owner: "h" });
    // The dead waiter: queued (ticket taken, item created) and then never renews nor leaves.
    const dead = await enqueue(client, lockKeys("q"), { owner: "dead", enqueuedAt: new Date().toISOString() }, 800);
    const next = acquireFairLock(clientFor(db), "q", { ttlMs: 10_000, waitMs: 30_000, owner: "next" });
    await queueLength(db, "q", 3);
    await holder.release();
    const lock = await next;
    // The turn came only once the dead waiter's lease had run out.
    expect(Date.now()).toBeGreaterThanOrEqual(dead.expiresAt);
    expect(lock.token).toBeGreaterThan(dead.ticket);
    expect((await queueOf(client, lockKeys("q"))).map((item) => item.value.owner)).toEqual(["next"]);
    expect(await lock.release()).toBe(true);
  });

  it("a waiter that gives up leaves the queue at once; the one behind it is not held up", async () => {
    const db = freshDb("fair");
    const holder = await acquireFairLock(clientFor(db), "g", { ttlMs: 10_000, waitMs: 0, owner: "h" });
    const quitter = thrown(() => acquireFairLock(clientFor(db), "g", { ttlMs: 10_000, waitMs: 300, owner: "quitter" }));
    await queueLength(db, "g", 2);
    const patient = acquireFairLock(clientFor(db), "g", { ttlMs: 10_000, waitMs: 30_000, owner: "patient" });
    expect(await quitter).toBeInstanceOf(LockTimeoutException);
    // The quitter's item is gone (10 s lease): only the holder and the patient waiter remain.
    await queueLength(db, "g", 2);
    expect((await queueOf(clientFor(db), lockKeys("g"))).map((item) => item.value.owner)).toEqual(["h", "patient"]);
    await holder.release();
    const lock = await patient;
    expect(lock.owner).toBe("patient");
    await lock.release();
  });

  it("a holder whose lease lapsed is told by its signal, and its fencing token is refused", async () => {
    const db = freshDb("fair");
    // No keep-alive: the holder "pauses" (a long GC, a frozen isolate) past its lease.
    const stale = await acquireFairLock(clientFor(db), "fence", { ttlMs: 500, waitMs: 0, keepAlive: false, owner: "stale" });
    const fresh = await acquireFairLock(clientFor(db), "fence", { ttlMs: 10_000, waitMs: 30_000, owner: "fresh" });
    expect(fresh.token).toBeGreaterThan(stale.token);
    expect(stale.signal.aborted).toBe(true);
    expect(stale.signal.reason).toBeInstanceOf(LockLostException);
    // The fresh holder writes first; the stale one, still believing it holds the lock, is refused.
    expect(await fencedPut(clientFor(db), "resource/report", "fresh's", fresh.token)).toMatchObject({ accepted: true });
    const refused = await fencedPut(clientFor(db), "resource/report", "stale's", stale.token);
    expect(refused).toEqual({ accepted: false, token: fresh.token, value: "fresh's" });
    expect((await clientFor(db).get("resource/report"))!.value).toEqual({ token: fresh.token, value: "fresh's" });
    expect(await thrown(() => stale.renew())).toBeInstanceOf(LockLostException);
    expect(await stale.release()).toBe(false);
    expect(await fresh.release()).toBe(true);
  });

  it("keep-alive holds a lock past several TTLs; its signal stays quiet until the lease is lost", async () => {
    const db = freshDb("fair");
    let seen: FairLock | null = null;
    await withFairLock(clientFor(db), "alive", { ttlMs: 600, waitMs: 0 }, async (lock, signal) => {
      seen = lock;
      await delay(1_800); // three TTLs
      expect(signal.aborted).toBe(false);
      expect(await thrown(() => acquireFairLock(clientFor(db), "alive", { ttlMs: 600, waitMs: 0 }))).toBeInstanceOf(LockTimeoutException);
    });
    expect(seen!.signal.aborted).toBe(false);
  });

  it("withLock (the simple lock) keeps its lease alive and passes the loss signal to fn", async () => {
    const db = freshDb("fair");
    await withLock(clientFor(db), "simple", { ttlMs: 600, waitMs: 0 }, async (lock, signal) => {
      await delay(1_500);
      expect(signal.aborted).toBe(false);
      expect(await thrown(() => acquireLock(clientFor(db), "simple", { ttlMs: 600, waitMs: 0 }))).toBeInstanceOf(LockTimeoutException);
      // Someone deletes the item from under us: the next renew is refused and the signal fires.
      await clientFor(db).delete(lock.key, lock.index);
      await delay(600);
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBeInstanceOf(LockLostException);
    });
  });

  it("works the same through a Service Binding (CmpxchgServiceClient): fair lock, election, update", async () => {
    const db = freshDb("fair");
    const client = new CmpxchgServiceClient(exports.CmpxchgService, db);
    const first = await acquireFairLock(client, "svc", { ttlMs: 5_000, waitMs: 0, owner: "one" });
    const second = acquireFairLock(client, "svc", { ttlMs: 5_000, waitMs: 10_000, owner: "two" });
    await delay(100);
    await first.release();
    const held = await second;
    expect(held.owner).toBe("two");
    expect(held.token).toBeGreaterThan(first.token);
    await held.release();
    const election = new Election<string>(client, "svc", { ttlMs: 5_000 });
    const leading = await election.campaign("v", { owner: "l" });
    expect(await election.leader()).toMatchObject({ owner: "l", value: "v", token: leading.token });
    await leading.resign();
    expect((await update<number>(client, "n", (n) => (n ?? 0) + 2)).value).toBe(2);
  });
});
