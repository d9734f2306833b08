// Locks and leases: mutual exclusion under contention, strictly increasing fencing tokens,
// expiry of a dead holder's lease, renew and release.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { acquireLock, CmpxchgClient, CmpxchgServiceClient, LockLostException, LockTimeoutException, withLock } from "../../src/client";
import { BASE, clientFor, delay, freshDb, thrown, workerFetch } from "./support";

describe("acquireLock", { timeout: 60_000 }, () => {
  it("6 workers × 3 critical sections: never overlapping, tokens strictly increasing", async () => {
    const db = freshDb("lock");
    let holder: string | null = null;
    const tokens: number[] = [];
    const log: string[] = [];
    const worker = async (id: string) => {
      // Each worker has its own client, as separate isolates would.
      const client = clientFor(db);
      for (let section = 0; section < 3; section++) {
        const lock = await acquireLock(client, "report", { ttlMs: 10_000, waitMs: 45_000, owner: id });
        expect(holder, `${id} entered while ${holder} held the lock`).toBeNull();
        holder = id;
        tokens.push(lock.token);
        log.push(`${id}:${section}`);
        // Real work with awaits inside the section: other workers get every chance to barge in.
        await client.put(`work/${id}/${section}`, lock.token, 0);
        await delay(5);
        expect(holder).toBe(id);
        holder = null;
        expect(await lock.release()).toBe(true);
      }
    };
    await Promise.all(["w1", "w2", "w3", "w4", "w5", "w6"].map(worker));
    expect(log).toHaveLength(18);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
  });

  it("a dead holder's lock is taken right after its lease expires, by waiting, not polling", async () => {
    const db = freshDb("lock");
    const dead = await acquireLock(clientFor(db), "cron", { ttlMs: 500, waitMs: 0, owner: "dead" });
    // The holder "dies": it never renews nor releases.
    let requests = 0;
    const counting = new CmpxchgClient({
      url: BASE,
      database: db,
      fetch: (request) => {
        requests++;
        return workerFetch(request);
      },
    });
    const started = Date.now();
    const next = await acquireLock(counting, "cron", { ttlMs: 5_000, waitMs: 10_000, owner: "next" });
    const waited = Date.now() - started;
    expect(next.token).toBeGreaterThan(dead.token);
    expect(dead.expiresAt - started - waited).toBeLessThanOrEqual(10);
    expect(waited).toBeLessThan(3_000);
    // create (held) → one long-poll → create (won); a poller would have made dozens.
    expect(requests).toBeLessThanOrEqual(5);
    // The dead holder finds out when it tries to go on.
    expect(await thrown(() => dead.renew())).toBeInstanceOf(LockLostException);
    expect(await dead.release()).toBe(false);
    expect(await next.release()).toBe(true);
  });

  it("gives up after waitMs with LockTimeoutException", async () => {
    const db = freshDb("lock");
    const held = await acquireLock(clientFor(db), "busy", { ttlMs: 10_000, waitMs: 0, owner: "a" });
    const started = Date.now();
    const err = await thrown(() => acquireLock(clientFor(db), "busy", { ttlMs: 1_000, waitMs: 300 }));
    expect(err).toBeInstanceOf(LockTimeoutException);
    expect((err as Error).message).toContain("'a'");
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(await thrown(() => acquireLock(clientFor(db), "busy", { ttlMs: 1_000, waitMs: 0 }))).toBeInstanceOf(LockTimeoutException);
    await held.release();
  });

  it("renew keeps the lease past its first expiry; release hands it over at once", async () => {
    const db = freshDb("lock");
    const client = clientFor(db);
    // A 3 s lease renewed after 1.8 s and checked 1.8 s later: past the first lease's end by any
    // clock, with 1.2 s of margin on each deadline for a loaded machine.
    const lock = await acquireLock(client, "lease", { ttlMs: 3_000, waitMs: 0 });
    const first = lock.expiresAt;
    await delay(1_800);
    await lock.renew();
    await delay(1_800);
    expect(Date.now()).toBeGreaterThan(first);
    expect(lock.expiresAt).toBeGreaterThan(first);
    expect(lock.index).toBeGreaterThan(lock.token);
    // Past the first lease's end, still held.
    expect(await thrown(() => acquireLock(client, "lease", { ttlMs: 3_000, waitMs: 0 }))).toBeInstanceOf(LockTimeoutException);

    const waiter = acquireLock(clientFor(db), "lease", { ttlMs: 3_000, waitMs: 10_000 });
    await delay(50);
    expect(await lock.release()).toBe(true);
    const next = await waiter;
    // Woken by the release, not by the renewed lease running out.
    expect(Date.now()).toBeLessThan(lock.expiresAt);
    expect(next.token).toBeGreaterThan(lock.index);
    await next.release();
  });

  it("withLock releases after the callback, also when it throws", async () => {
    const client = clientFor(freshDb("lock"));
    expect(await withLock(client, "w", { ttlMs: 5_000, waitMs: 0 }, async (lock) => lock.token > 0)).toBe(true);
    expect(
      await thrown(() => withLock(client, "w", { ttlMs: 5_000, waitMs: 0 }, async () => Promise.reject(new Error("boom")))),
    ).toMatchObject({
      message: "boom",
    });
    const again = await acquireLock(client, "w", { ttlMs: 5_000, waitMs: 0 });
    await again.release();
  });

  it("works the same through the Service Binding", async () => {
    const client = new CmpxchgServiceClient(exports.CmpxchgService, freshDb("lock"));
    const first = await acquireLock(client, "svc", { ttlMs: 5_000, waitMs: 0 });
    const second = acquireLock(client, "svc", { ttlMs: 5_000, waitMs: 10_000 });
    await delay(50);
    await first.release();
    expect((await second).token).toBeGreaterThan(first.token);
  });
});
