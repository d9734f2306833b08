/**
 * Coordination recipes, side by side: the simple lock (create at index 0, every waiter long-polls
 * the lock item: the baseline), the fair lock of src/client (fair-lock.ts, bundled from
 * source and used as a user would), and etcd's own lock (v3 lock API through its HTTP gateway,
 * one lease per waiter). Plus election fail-over: how long after the leader's lease lapses the
 * next candidate leads (src/client election.ts against etcd's v3 election API).
 *
 * Hand-off = from the holder's release answer to the next holder's acquisition (same process,
 * performance.now()). Every holder releases at once and queues again.
 */
import { buildSync } from "esbuild";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

/** The client package's source, bundled to one ESM file and imported. */
export async function loadClient(root) {
  const out = buildSync({
    entryPoints: [path.join(root, "src/client/index.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
  });
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-client-")), "client.mjs");
  fs.writeFileSync(file, out.outputFiles[0].text);
  return import(file);
}

function summarize(handoffs, acquisitions, seconds, errors = 0) {
  handoffs.sort((x, y) => x - y);
  return { rps: acquisitions / seconds, p50: quantile(handoffs, 0.5), p99: quantile(handoffs, 0.99), errors };
}

/** The baseline: the simple lock's protocol over raw HTTP (create; else long-poll). */
export async function simpleLockHandoff(url, waiters, seconds) {
  const db = `bench_slock_${Date.now()}_${waiters}`;
  const key = "locks/bench";
  const base = `${url}/databases/${db}/cmpxchg?key=${encodeURIComponent(key)}`;
  const handoffs = [];
  let released = null;
  let acquisitions = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: waiters }, async () => {
      while (Date.now() < until) {
        const res = await fetch(`${base}&index=0&raft-request-id=${crypto.randomUUID()}`, {
          method: "PUT",
          body: JSON.stringify({ Object: "holder" }),
        });
        const put = await res.json();
        if (put.Successful) {
          if (released !== null) handoffs.push(performance.now() - released);
          acquisitions++;
          const del = await fetch(`${base}&index=${put.Index}&raft-request-id=${crypto.randomUUID()}`, { method: "DELETE" });
          await del.arrayBuffer();
          released = performance.now();
        } else {
          const wait = await fetch(`${url}/databases/${db}/cmpxchg/wait?key=${encodeURIComponent(key)}&index=${put.Index}&timeout=2000`);
          await wait.arrayBuffer();
        }
      }
    }),
  );
  return summarize(handoffs, acquisitions, seconds);
}

/**
 * Creates a database with key hash tags (`PUT /admin/databases`, our `KeyHashTags` extension), so
 * that a fair lock's keys (`locks/{name}/…`) all live on one shard.
 */
export async function createTaggedDatabase(url, db) {
  const res = await fetch(`${url}/admin/databases?name=${db}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ DatabaseName: db, KeyHashTags: true }),
  });
  if (res.status !== 201) throw new Error(`creating ${db} with KeyHashTags: ${res.status} ${await res.text()}`);
}

/**
 * The fair lock of src/client: each waiter its own client, as separate processes would have.
 * `tags`: in a database created with key hash tags; otherwise in one used implicitly, whole-key
 * routing (the client then draws queue keys on one shard, see fair-lock.ts).
 *
 * `holdMs`: how long each holder works under the lock before releasing (0: releases at once).
 * Per acquisition it also records the per-waiter bound, two ways: `excess` = the wait
 * (from the call to acquireFairLock to holding) − (the number of others who held the lock
 * meanwhile) × holdMs, i.e. everything beyond the work the waiter sat through (its enqueue and
 * listing, and per holder ahead: the release write and the hand-off); `idle` = the wait − the time
 * within it during which someone held the lock (a hold runs from its acquisition to its release's
 * answer), i.e. how long the lock lay free while this waiter waited: the bound's "small" part,
 * FIFO or not. Both skip each waiter's first acquisition (all waiters enqueue at once on cold
 * objects: that start-up is not a steady-state wait). And `overtakes`: acquisitions, during a
 * wait, by a waiter with a LARGER token (one queued behind it): FIFO says none.
 */
export async function fairLockHandoff(client, url, waiters, seconds, { tags = true, holdMs = 0 } = {}) {
  const db = `bench_flock_${tags ? "tags" : "plain"}_${Date.now()}_${waiters}_${holdMs}`;
  if (tags) await createTaggedDatabase(url, db);
  const handoffs = [];
  const excess = [];
  const idle = [];
  const tokens = [];
  /** Every hold: [acquired, released (null while held)], performance.now() times. */
  const holds = [];
  let overtakes = 0;
  let released = null;
  let acquisitions = 0;
  let errors = 0;
  let holding = false;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: waiters }, async () => {
      const api = new client.CmpxchgClient({ url, database: db });
      let first = true;
      while (Date.now() < until) {
        try {
          const start = performance.now();
          const before = tokens.length;
          const lock = await client.acquireFairLock(api, "bench", { ttlMs: 10_000, waitMs: Math.max(1, until - Date.now() + 2_000) });
          if (holding) errors++; // two holders at once: must never happen
          holding = true;
          const now = performance.now();
          if (released !== null) handoffs.push(now - released);
          const served = tokens.length - before;
          for (let i = before; i < tokens.length; i++) if (tokens[i] > lock.token) overtakes++;
          let held = 0;
          for (let i = holds.length - 1; i >= 0 && (holds[i][1] ?? now) > start; i--)
            held += Math.min(holds[i][1] ?? now, now) - Math.max(holds[i][0], start);
          if (!first) {
            excess.push(now - start - served * holdMs);
            idle.push(now - start - held);
          }
          first = false;
          const hold = [now, null];
          holds.push(hold);
          tokens.push(lock.token);
          acquisitions++;
          if (holdMs > 0) await new Promise((r) => setTimeout(r, holdMs));
          holding = false;
          await lock.release();
          released = performance.now();
          hold[1] = released;
        } catch (err) {
          if (!(err instanceof client.LockTimeoutException)) errors++;
        }
      }
    }),
  );
  excess.sort((x, y) => x - y);
  idle.sort((x, y) => x - y);
  return {
    ...summarize(handoffs, acquisitions, seconds, errors),
    excessP50: quantile(excess, 0.5),
    excessP99: quantile(excess, 0.99),
    excessMax: excess.length ? excess[excess.length - 1] : NaN,
    idleP50: quantile(idle, 0.5),
    idleP99: quantile(idle, 0.99),
    idleMax: idle.length ? idle[idle.length - 1] : NaN,
    overtakes,
  };
}

const b64 = (text) => Buffer.from(text).toString("base64");

async function etcdPost(etcd, route, body, signal) {
  const res = await fetch(`${etcd}${route}`, { method: "POST", body: JSON.stringify(body), signal });
  const json = await res.json();
  if (!res.ok || json.error) throw new Error(`etcd ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** etcd's lock: POST /v3/lock/lock blocks until the caller (one lease each) holds it. */
export async function etcdLockHandoff(etcd, waiters, seconds) {
  const name = b64(`bench-${Date.now()}-${waiters}`);
  const handoffs = [];
  let released = null;
  let acquisitions = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: waiters }, async () => {
      const { ID: lease } = await etcdPost(etcd, "/v3/lease/grant", { TTL: 60 });
      while (Date.now() < until) {
        const { key } = await etcdPost(etcd, "/v3/lock/lock", { name, lease });
        if (released !== null) handoffs.push(performance.now() - released);
        acquisitions++;
        await etcdPost(etcd, "/v3/lock/unlock", { key });
        released = performance.now();
      }
      await etcdPost(etcd, "/v3/lease/revoke", { ID: lease });
    }),
  );
  return summarize(handoffs, acquisitions, seconds);
}

/**
 * Ours: a leader campaigns with a `ttlMs` lease and dies (never renews); a follower campaigns
 * behind it. Fail-over = the follower leads − the leader's lease end.
 */
export async function oursFailover(client, url, ttlMs) {
  const db = `bench_elect_${Date.now()}`;
  const api = new client.CmpxchgClient({ url, database: db });
  const election = new client.Election(api, "primary", { ttlMs });
  const leaderLock = await client.acquireFairLock(api, "primary", {
    ttlMs,
    waitMs: 0,
    keepAlive: false,
    prefix: "elections/",
    value: "leader",
  });
  const follower = await election.campaign("follower");
  const failover = Date.now() - leaderLock.expiresAt;
  await follower.resign();
  return failover;
}

/** etcd: the leader's lease (TTL s) is never kept alive; the follower's campaign blocks until it leads. */
export async function etcdFailover(etcd, ttlSeconds) {
  const name = b64(`elect-${Date.now()}`);
  const granted = Date.now();
  const { ID: leaderLease } = await etcdPost(etcd, "/v3/lease/grant", { TTL: ttlSeconds });
  await etcdPost(etcd, "/v3/election/campaign", { name, lease: leaderLease, value: b64("leader") });
  const { ID: followerLease } = await etcdPost(etcd, "/v3/lease/grant", { TTL: 60 });
  await etcdPost(etcd, "/v3/election/campaign", { name, lease: followerLease, value: b64("follower") });
  const failover = Date.now() - (granted + ttlSeconds * 1000);
  await etcdPost(etcd, "/v3/lease/revoke", { ID: followerLease });
  return failover;
}
