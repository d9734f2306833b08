// Resumable watches against the Worker: a stream whose connection is cut mid-way resumes by
// itself with no gap and no duplicate; fromIndex replays the shards' history; a history pruned
// past the stream's start says HistoryCompacted (or resyncs).
import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type ChangeEvent, type CmpxchgClient, expiresIn, HistoryCompactedException } from "../../src/client";
import { shardForKey } from "../../src/core/routing";
import { pruneHistory } from "../../src/objects/shard/store/history";
import { clientFor, freshDb, thrown, workerFetch } from "./support";

/**
 * The Worker's fetch, with every WebSocket it opens relayed through a pair the test holds: every
 * `dropEvery`-th change is not forwarded, and the connection is cut there (1011 to the client, the
 * Worker's socket closed), as a proxy or a network would.
 */
function droppingFetch(dropEvery: number) {
  const stats = { connections: 0, drops: 0 };
  const fetch = async (request: Request): Promise<Response> => {
    const response = await workerFetch(request);
    const upstream = response.webSocket;
    if (response.status !== 101 || !upstream) return response;
    stats.connections++;
    upstream.accept();
    const [clientEnd, relay] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    relay.accept();
    let changes = 0;
    let cut = false;
    upstream.addEventListener("message", (event) => {
      if (cut) return;
      const text = event.data as string;
      if (!text.startsWith('{"Type":"Ready"') && ++changes % dropEvery === 0) {
        cut = true;
        stats.drops++;
        relay.close(1011, "cut by the test");
        upstream.close(1000, "cut by the test");
        return;
      }
      try {
        relay.send(text);
      } catch {
        // The client left.
      }
    });
    upstream.addEventListener("close", (event) => {
      if (cut) return;
      try {
        relay.close(event.code === 1005 || event.code === 1006 ? 1011 : event.code, event.reason);
      } catch {
        // The client left.
      }
    });
    relay.addEventListener("close", () => {
      cut = true;
      try {
        upstream.close(1000, "the client left");
      } catch {
        // Closed already.
      }
    });
    return new Response(null, { status: 101, webSocket: clientEnd });
  };
  return { fetch, stats };
}

/** Reads `count` events from a stream, failing after `ms`. */
async function take<T>(stream: AsyncIterator<ChangeEvent<T>>, count: number, ms = 20_000): Promise<ChangeEvent<T>[]> {
  const events: ChangeEvent<T>[] = [];
  const deadline = Date.now() + ms;
  while (events.length < count) {
    const next = await Promise.race([stream.next(), scheduler.wait(Math.max(1, deadline - Date.now())).then(() => null)]);
    if (next === null) throw new Error(`only ${events.length} of ${count} events within ${ms} ms: ${JSON.stringify(events)}`);
    if (next.done) throw new Error(`the stream ended after ${events.length} of ${count} events`);
    events.push(next.value);
  }
  return events;
}

/** Nothing more arrives within `ms`. */
async function quiet<T>(stream: AsyncIterator<ChangeEvent<T>>, ms = 300): Promise<ChangeEvent<T> | null> {
  const next = await Promise.race([stream.next(), scheduler.wait(ms).then(() => null)]);
  return next && !next.done ? next.value : null;
}

type Committed = Map<string, [string, number][]>;

/** One writer over its own keys: creates, updates, deletes, and two-key transactions; records what committed. */
async function writer(client: CmpxchgClient, keys: string[], ops: number, committed: Committed, seed: number): Promise<void> {
  let random = seed;
  const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const current = new Map<string, number>();
  const record = (key: string, type: string, index: number) => {
    const list = committed.get(key) ?? [];
    list.push([type, index]);
    committed.set(key, list);
  };
  for (let op = 0; op < ops; op++) {
    if (op % 5 === 4) {
      // Both keys in one cluster-wide transaction: an index from a two-phase commit when they
      // are in different shards (given at prepare, so not in commit order across keys).
      const tx = client.transaction();
      for (const key of keys.slice(0, 2)) {
        const index = current.get(key);
        if (index === undefined) tx.create(key, op);
        else tx.put(key, op, index);
      }
      const result = await tx.commit();
      for (const key of keys.slice(0, 2)) {
        current.set(key, result.index);
        record(key, "Put", result.index);
      }
      continue;
    }
    const key = keys[Math.floor(next() * keys.length)]!;
    const index = current.get(key);
    if (index === undefined) {
      const created = await client.create(key, op);
      current.set(key, created.index);
      record(key, "Put", created.index);
    } else if (next() < 0.3) {
      const deleted = await client.delete(key, index);
      current.delete(key);
      record(key, "Delete", deleted.index);
    } else {
      const updated = await client.put(key, op, index);
      current.set(key, updated.index);
      record(key, "Put", updated.index);
    }
  }
}

/** Per key, the [type, index] pairs received, in the order received. */
function byKey(events: ChangeEvent[]): Committed {
  const seen: Committed = new Map();
  for (const event of events) {
    const list = seen.get(event.key) ?? [];
    list.push([event.type, event.index]);
    seen.set(event.key, list);
  }
  return seen;
}

describe("a watch that resumes after a dropped connection", { timeout: 90_000 }, () => {
  it("receives every committed change of a prefix across shards once, in order per key, though cut every 7 changes", async () => {
    const db = freshDb("resume");
    const { fetch, stats } = droppingFetch(7);
    const watcher = clientFor(db, { fetch });
    const stream = watcher.watch({ prefix: "Jobs/" });
    await stream.ready;
    const writers = clientFor(db);
    const committed: Committed = new Map();
    const keys = (w: number) => [`jobs/w${w}-a`, `jobs/w${w}-b`, `jobs/w${w}-c`];
    await Promise.all([
      ...[0, 1, 2, 3].map((w) => writer(writers, keys(w), 40, committed, w + 1)),
      // Not under the prefix: never delivered.
      (async () => {
        for (let i = 0; i < 10; i++) await writers.create(`other/${i}`, i);
      })(),
    ]);
    const total = [...committed.values()].reduce((n, list) => n + list.length, 0);
    // 32 single-key writes and 8 two-key transactions per writer.
    expect(total).toBe(4 * (32 + 2 * 8));
    const events = await take(stream, total);
    expect(await quiet(stream)).toBeNull();
    // Per key, what was received is exactly what was committed, in index order.
    const received = byKey(events);
    expect(new Set(received.keys())).toEqual(new Set(committed.keys()));
    for (const [key, list] of committed) expect(received.get(key), key).toEqual(list.sort((a, b) => a[1] - b[1]));
    // The keys span several shards, and the connection really was cut, many times.
    expect(new Set([...committed.keys()].map((key) => shardForKey(db, key, 16))).size).toBeGreaterThan(3);
    expect(stats.drops).toBeGreaterThanOrEqual(Math.floor(total / 7) - 1);
    expect(stats.connections).toBe(stats.drops + 1);
    await stream.return();
  });

  it("for one key too, deletes and expiries included", async () => {
    const db = freshDb("resume");
    const { fetch, stats } = droppingFetch(3);
    const stream = clientFor(db, { fetch }).watch<number>("Counter");
    await stream.ready;
    const client = clientFor(db);
    const expected: [string, number][] = [];
    let index = 0;
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 4; i++) {
        const written = await client.put("counter", i, index);
        index = written.index;
        expected.push(["Put", index]);
      }
      const deleted = await client.delete("counter", index);
      expected.push(["Delete", deleted.index]);
      index = 0;
    }
    // An expiry, from the shard's alarm, with an index of its own.
    const lease = await client.create("counter", "lease", expiresIn(200));
    expected.push(["Put", lease.index]);
    const events = await take(stream, expected.length + 1);
    expect(events.slice(0, -1).map((e) => [e.type, e.index])).toEqual(expected);
    expect(events.at(-1)!.type).toBe("Expire");
    expect(events.at(-1)!.index).toBeGreaterThan(lease.index);
    // Each connection forwards two changes and loses the third.
    expect(stats.drops).toBeGreaterThanOrEqual(Math.floor(expected.length / 3));
    expect(await quiet(stream)).toBeNull();
    await stream.return();
  });
});

describe("with key hash tags (a database created with KeyHashTags)", { timeout: 60_000 }, () => {
  it("a key stream and a tag's prefix stream resume on the tag's shard", async () => {
    const db = freshDb("tags");
    const created = await workerFetch(
      new Request(`http://cmpxchg.test/admin/databases?name=${db}`, {
        method: "PUT",
        body: JSON.stringify({ DatabaseName: db, KeyHashTags: true }),
      }),
    );
    expect(created.status).toBe(201);
    const { fetch, stats } = droppingFetch(2);
    const watcher = clientFor(db, { fetch });
    const key = watcher.watch<number>("cart/{u1}/0");
    const prefix = watcher.watch<number>({ prefix: "cart/{u1}/" });
    await Promise.all([key.ready, prefix.ready]);
    const client = clientFor(db);
    const expected: number[] = [];
    let index = 0;
    for (let i = 0; i < 6; i++) expected.push((index = (await client.put("cart/{u1}/0", i, index)).index));
    expect((await take(key, 6)).map((e) => e.index)).toEqual(expected);
    expect((await take(prefix, 6)).map((e) => e.index)).toEqual(expected);
    expect(await quiet(key)).toBeNull();
    expect(await quiet(prefix)).toBeNull();
    expect(stats.drops).toBeGreaterThanOrEqual(4);
    // The tag's prefix is watched on its one shard: its cursor names that shard only.
    expect(prefix.cursor).toMatch(/^\d+:\d+$/);
    expect(prefix.cursor.split(":")[0]).toBe(key.cursor.split(":")[0]);
    await key.return();
    await prefix.return();
  });
});

describe("a watch across a restart of the shard", { timeout: 60_000 }, () => {
  it("goes on with no gap and no duplicate when the shard's object is evicted", async () => {
    const db = freshDb("evict");
    const client = clientFor(db);
    const stream = client.watch<number>({ prefix: "e/" });
    await stream.ready;
    const a = await client.create("e/k", 1);
    expect((await take(stream, 1)).map((e) => e.index)).toEqual([a.index]);
    await evictDurableObject(env.SHARD.getByName(shardForKey(db, "e/k", 16)));
    const b = await client.put("e/k", 2, a.index);
    const c = await client.put("e/k", 3, b.index);
    expect((await take(stream, 2)).map((e) => [e.index, e.value])).toEqual([
      [b.index, 2],
      [c.index, 3],
    ]);
    expect(await quiet(stream)).toBeNull();
    await stream.return();
  });
});

describe("fromIndex and cursor", { timeout: 60_000 }, () => {
  it("replay what the shards hold above an index, then go on live", async () => {
    const db = freshDb("from");
    const client = clientFor(db);
    const a = await client.create("jobs/a", 1);
    const b = await client.create("jobs/b", 1);
    const a2 = await client.put("jobs/a", 2, a.index);
    const gone = await client.delete("jobs/b", b.index);
    await client.create("other", 1);
    const stream = client.watch<number>({ prefix: "jobs/" }, { fromIndex: a.index });
    await stream.ready;
    const c = await client.create("jobs/c", 3);
    // Before the watch: the changes above fromIndex (indexes are per shard, so jobs/b's first
    // may be at or below it). After it: every change, whatever its index (jobs/c's shard may
    // be behind the others).
    const before = [`Put jobs/a ${a.index}`, `Put jobs/b ${b.index}`, `Put jobs/a ${a2.index}`, `Delete jobs/b ${gone.index}`].filter(
      (line) => Number(line.split(" ")[2]) > a.index,
    );
    const expected = [...before, `Put jobs/c ${c.index}`];
    const events = await take(stream, expected.length);
    // Across shards only the order per key is promised: compare as a set.
    expect(events.map((e) => `${e.type} ${e.key} ${e.index}`).sort()).toEqual(expected.sort());
    expect(before).toContain(`Delete jobs/b ${gone.index}`);
    expect(events.find((e) => e.key === "jobs/a")!.value).toBe(2);
    expect(await quiet(stream)).toBeNull();
    // A later stream given this one's cursor starts where it stood.
    const cursor = stream.cursor;
    await stream.return();
    const d = await client.create("jobs/d", 4);
    const later = client.watch<number>({ prefix: "jobs/" }, { fromIndex: a.index, cursor });
    expect((await take(later, 1)).map((e) => [e.key, e.index])).toEqual([["jobs/d", d.index]]);
    expect(await quiet(later)).toBeNull();
    await later.return();
  });

  it("refuse a cursor the server did not give, and a negative fromIndex", async () => {
    const client = clientFor(freshDb("from"));
    expect((await thrown(() => client.watch("k", { cursor: "x" }).ready)) as Error).toMatchObject({ name: "ArgumentException" });
    expect((await thrown(() => client.watch("k", { cursor: "99:1" }).ready)) as Error).toMatchObject({ name: "ArgumentException" });
    expect((await thrown(() => client.watch("k", { fromIndex: -1 }).ready)) as Error).toMatchObject({ name: "ArgumentException" });
  });
});

describe("history compacted", { timeout: 60_000 }, () => {
  /** Ages the oldest `count` changes of a key's shard past a day and runs its alarm (which prunes by age). */
  async function ageAndPrune(db: string, key: string, count: number) {
    const shard = env.SHARD.getByName(shardForKey(db, key, 16));
    await runInDurableObject(shard, (_, state) => {
      state.storage.sql.exec(
        "UPDATE history SET at = at - 2 * 86400000 WHERE seq IN (SELECT seq FROM history ORDER BY seq LIMIT ?)",
        count,
      );
      return state.storage.setAlarm(Date.now() + 60_000);
    });
    await runDurableObjectAlarm(shard);
    return shard;
  }

  it("the alarm prunes by age; a stream from before then gets HistoryCompacted with the oldest index that works", async () => {
    const db = freshDb("compact");
    const client = clientFor(db);
    let index = 0;
    const indexes: number[] = [];
    for (let i = 0; i < 5; i++) indexes.push((index = (await client.put("k", i, index)).index));
    const shard = await ageAndPrune(db, "k", 3);
    const rows = await runInDurableObject(shard, (_, state) =>
      state.storage.sql.exec<{ idx: number }>("SELECT idx FROM history ORDER BY seq").toArray(),
    );
    expect(rows.map((r) => r.idx)).toEqual(indexes.slice(3));

    const err = await thrown(() => client.watch("k", { fromIndex: indexes[0]! }).next());
    expect(err).toBeInstanceOf(HistoryCompactedException);
    expect((err as HistoryCompactedException).oldestIndex).toBe(indexes[2]);
    // From the oldest index that still works: the changes after it.
    const stream = client.watch<number>("k", { fromIndex: indexes[2]! });
    expect((await take(stream, 2)).map((e) => e.index)).toEqual(indexes.slice(3));
    await stream.return();
  });

  it("by count (the retention's other bound), and a stream resyncs itself when asked", async () => {
    const db = freshDb("compact");
    const client = clientFor(db);
    await client.create("jobs/x", "x");
    let index = 0;
    for (let i = 0; i < 6; i++) index = (await client.put("jobs/y", i, index)).index;
    const shard = env.SHARD.getByName(shardForKey(db, "jobs/y", 16));
    // The prune the alarm runs, with a count of 2 (WATCH_HISTORY_RETENTION=2).
    await runInDurableObject(shard, (_, state) =>
      pruneHistory(state.storage.sql, { count: 2, maxAgeMs: null, maxBytes: 1 << 30 }, Date.now(), 500),
    );
    const count = await runInDurableObject(
      shard,
      (_, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM history").one().n,
    );
    expect(count).toBe(2);

    const stream = client.watch<string | number>({ prefix: "jobs/" }, { fromIndex: 0, onCompacted: "resync" });
    const reset = await take(stream, 3);
    expect(reset[0]).toMatchObject({ type: "Reset", key: "jobs/", index: -1 });
    expect(
      reset
        .slice(1)
        .map((e) => [e.type, e.key, e.value])
        .sort(),
    ).toEqual([
      ["Snapshot", "jobs/x", "x"],
      ["Snapshot", "jobs/y", 5],
    ]);
    const z = await client.create("jobs/z", "z");
    expect((await take(stream, 1))[0]).toMatchObject({ type: "Put", key: "jobs/z", index: z.index });
    expect(await quiet(stream)).toBeNull();
    await stream.return();
  });

  it("by size (the bound on storage): the newest changes that fit are kept", async () => {
    const db = freshDb("compact");
    const client = clientFor(db);
    const indexes: number[] = [];
    let index = 0;
    for (let i = 0; i < 6; i++) indexes.push((index = (await client.put("big", "x".repeat(1000), index)).index));
    const shard = env.SHARD.getByName(shardForKey(db, "big", 16));
    const kept = await runInDurableObject(shard, (_, state) => {
      const sql = state.storage.sql;
      // Each row counts its key and its stored body: 3 + {"Object":"x…x"} (1,013) characters.
      const sizes = sql.exec<{ size: number }>("SELECT size FROM history ORDER BY seq").toArray();
      expect(sizes.map((r) => r.size)).toEqual(Array(6).fill(3 + 1013));
      pruneHistory(sql, { count: 100_000, maxAgeMs: null, maxBytes: 2_500 }, Date.now(), 500);
      return sql.exec<{ idx: number }>("SELECT idx FROM history ORDER BY seq").toArray();
    });
    expect(kept.map((r) => r.idx)).toEqual(indexes.slice(-2));
    const err = await thrown(() => client.watch("big", { fromIndex: indexes[0]! }).next());
    expect((err as HistoryCompactedException).oldestIndex).toBe(indexes[3]);
  });

  it("a deleted database's history is gone: a stream from before says so", async () => {
    const db = freshDb("compact");
    const client = clientFor(db);
    const first = await client.create("k", 1);
    const shard = env.SHARD.getByName(shardForKey(db, "k", 16));
    await shard.destroy();
    const err = await thrown(() => client.watch("k", { fromIndex: first.index - 1 }).next());
    expect(err).toBeInstanceOf(HistoryCompactedException);
  });
});
