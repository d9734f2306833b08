// The anomalies Jepsen found in RavenDB 6.0.2's cluster-wide transactions, looked for here:
// fractured reads (a reader sees one key of a transaction but an older version of the other)
// and lost updates (a bank whose total drifts under concurrent transfers).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardOf } from "../src/core/routing";
import { bulk, call, cmpPut, freshDb, getItem } from "./helpers";
import { shardStub } from "../src/stubs";

function keysOnDistinctShards(prefix: string, count: number): string[] {
  const keys: string[] = [];
  const used = new Set<number>();
  for (let i = 0; keys.length < count; i++) {
    const key = `${prefix}/${i}`;
    if (!used.has(shardOf(key, 16))) {
      used.add(shardOf(key, 16));
      keys.push(key);
    }
  }
  return keys;
}

async function readMany(db: string, keys: string[]) {
  const res = await call(`/databases/${db}/cmpxchg?${keys.map((k) => `key=${encodeURIComponent(k)}`).join("&")}`);
  const json = (await res.json()) as { Results: { Value: { Object: number } | null; Index: number }[] };
  return json.Results.map((r) => ({ value: r.Value?.Object ?? 0, index: r.Index }));
}

describe("no fractured reads", () => {
  it("a reader that sees a transaction's write to one key sees it on the other", async () => {
    const db = freshDb("fractured");
    const [a, b] = keysOnDistinctShards("pair", 2) as [string, string];
    await bulk(db, [cmpPut(a, 0, 0), cmpPut(b, 0, 0)]);
    // Hold every commit at b open for a while, so readers meet b's lock after the decision —
    // exactly when answering b's old value would be a fractured read.
    await shardStub(env, db, shardOf(b, 16)).armFailpoint("shard.commit.before", "delay", 1000);
    let stop = false;
    let committed = 0;
    const anomalies: string[] = [];
    let reads = 0;

    // Writers go on until the readers have raced them enough (transactions answer at the commit
    // point now, so 15 each can be over before the readers' first timer fires).
    const writer = async () => {
      for (let i = 0; i < 15 || (reads <= 20 && i < 300); i++) {
        const [ra, rb] = await readMany(db, [a, b]);
        const next = Math.max(ra!.value, rb!.value) + 1;
        const res = await bulk(db, [cmpPut(a, ra!.index, next), cmpPut(b, rb!.index, next)]);
        if (res.status === 201) committed++;
        // Timers fire only when the event loop is idle (see the readers): yield to theirs.
        await scheduler.wait(1);
      }
    };
    // Readers stop with the writers, or at a deadline should a writer hang.
    const deadline = Date.now() + 30_000;
    const reader = async (first: string, second: string) => {
      while (!stop && Date.now() < deadline) {
        const x = await getItem(db, first);
        const y = await getItem(db, second);
        reads++;
        if ((y?.value as number) < (x?.value as number)) anomalies.push(`${first}=${x?.value} then ${second}=${y?.value}`);
        // Local workerd fires timers only when its event loop goes idle: without this pause the
        // readers would starve the delayed commits they are meant to race.
        await scheduler.wait(1);
      }
    };
    const readers = [reader(a, b), reader(b, a), reader(a, b)];
    try {
      await Promise.all([writer(), writer(), writer()]);
    } finally {
      stop = true;
      await Promise.all(readers);
    }
    expect(anomalies).toEqual([]);
    expect(committed).toBeGreaterThan(10);
    expect(reads).toBeGreaterThan(20);
    const [fa, fb] = await readMany(db, [a, b]);
    expect(fa).toEqual(fb);
  }, 60_000);
});

describe("no lost updates", () => {
  it("keeps a bank's total under concurrent transfers across shards", async () => {
    const db = freshDb("bank");
    const accounts = keysOnDistinctShards("account", 4);
    await bulk(
      db,
      accounts.map((key) => cmpPut(key, 0, 100)),
    );
    let transfers = 0;
    let conflicts = 0;
    const teller = async (seed: number) => {
      let x = seed;
      const random = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let i = 0; i < 20; i++) {
        const from = accounts[Math.floor(random() * 4)]!;
        let to = accounts[Math.floor(random() * 4)]!;
        if (to === from) to = accounts[(accounts.indexOf(from) + 1) % 4]!;
        const [rf, rt] = await readMany(db, [from, to]);
        const amount = Math.min(rf!.value, 1 + Math.floor(random() * 30));
        const res = await bulk(db, [cmpPut(from, rf!.index, rf!.value - amount), cmpPut(to, rt!.index, rt!.value + amount)]);
        if (res.status === 201) transfers++;
        else if (res.status === 409) conflicts++;
        else throw new Error(`unexpected ${res.status}: ${JSON.stringify(res.json)}`);
      }
    };
    await Promise.all([1, 2, 3, 4].map(teller));
    const balances = await readMany(db, accounts);
    expect(balances.reduce((sum, b) => sum + b.value, 0)).toBe(400);
    expect(balances.every((b) => b.value >= 0)).toBe(true);
    expect(transfers + conflicts).toBe(80);
    expect(transfers).toBeGreaterThan(0);
  }, 60_000);
});
