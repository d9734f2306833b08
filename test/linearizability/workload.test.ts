// Linearizability of single-key compare-exchange under faults: 12
// clients on 3 hot keys through the Worker, while a nemesis arms the shard write failpoints
// (crash before/after the write, throw, drop the reply), evicts shards and resets every Durable
// Object; lost answers are retried with the same raft-request-id. The whole history — final reads
// after a last reset included, so a lost acknowledged write is a violation — must be linearizable
// under RavenDB's compare-exchange model, with a definite verdict. The same driver against
// in-memory fakes shows the pipeline can fail: a racy compare-and-set and a store that loses
// acknowledged writes are both caught.
import { env } from "cloudflare:workers";
import { abortAllDurableObjects, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { shardForKey } from "../../src/core/routing";
import type { FailAction } from "../../src/objects/failpoints";
import { call, freshDb } from "../helpers";
import { check, cmpxchgModel, type CheckResult } from "./checker";
import { FakeCmpxchg, runWorkload, sleep, type CxService, type Reply, type WorkloadResult } from "./workload";

const SHARDS = 16;

/** The service through the Worker's HTTP API (exports.default.fetch). */
function workerService(db: string): CxService {
  const path = (key: string, rest = "") => `/databases/${db}/cmpxchg?key=${encodeURIComponent(key)}${rest}`;
  const unknown = (detail: string): Reply => ({ kind: "unknown", detail });
  const writeReply = async (res: Response): Promise<Reply> => {
    if (res.status !== 200) {
      const text = await res.text();
      if (res.status >= 500) return unknown(`${res.status} ${text.slice(0, 200)}`);
      throw new Error(`unexpected ${res.status}: ${text}`);
    }
    const json = (await res.json()) as { Index: number; Value: { Object: string } | null; Successful: boolean };
    return { kind: "answer", output: { value: json.Value?.Object ?? null, index: json.Index, successful: json.Successful } };
  };
  return {
    async get(key) {
      try {
        const res = await call(path(key));
        if (res.status === 404) {
          await res.body?.cancel();
          return { kind: "answer", output: { value: null, index: 0 } };
        }
        if (res.status >= 500) return unknown(`${res.status} ${await res.text()}`);
        if (res.status !== 200) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
        const json = (await res.json()) as { Results: { Value: { Object: string }; Index: number }[] };
        const item = json.Results[0]!;
        return { kind: "answer", output: { value: item.Value.Object, index: item.Index } };
      } catch (err) {
        if (String(err).includes("unexpected")) throw err;
        return unknown(String(err));
      }
    },
    async put(key, index, value, requestId) {
      let res: Response;
      try {
        res = await call(path(key, `&index=${index}&raft-request-id=${requestId}`), {
          method: "PUT",
          body: JSON.stringify({ Object: value }),
        });
      } catch (err) {
        return unknown(String(err));
      }
      return writeReply(res);
    },
    async remove(key, index, requestId) {
      let res: Response;
      try {
        res = await call(path(key, `&index=${index}&raft-request-id=${requestId}`), { method: "DELETE" });
      } catch (err) {
        return unknown(String(err));
      }
      return writeReply(res);
    },
  };
}

const FAILPOINTS: [string, FailAction][] = [
  ["shard.write.before", "abort"],
  ["shard.write.before", "throw"],
  ["shard.write.after", "drop-reply"],
  ["shard.write.after", "abort"],
];

/**
 * Faults, one about every 8 operations: arm a write failpoint on a hot key's shard (for its next
 * 1–2 writes), evict that shard, or reset every Durable Object (a crash of everything; storage
 * is kept).
 */
function nemesis(db: string, keys: string[], mix: { failpoint: number; evict: number }) {
  // A graceful eviction waits for the object's requests and references to drain: under load it can
  // land a little later or, when references stay alive, time out after ~30 s. So it runs in the
  // background, only completed evictions count, and the load waits at most 1.5 s for the rest.
  const evictions: Promise<unknown>[] = [];
  const done = { evicted: 0 };
  return {
    done,
    every: 8,
    settle: () => Promise.race([Promise.all(evictions), sleep(1500)]).then(() => undefined),
    inject: async (rng: () => number): Promise<string | null> => {
      const key = keys[Math.floor(rng() * keys.length)]!;
      const stub = env.SHARD.getByName(shardForKey(db, key, SHARDS));
      const roll = rng();
      try {
        if (roll < mix.failpoint) {
          const [name, action] = FAILPOINTS[Math.floor(rng() * FAILPOINTS.length)]!;
          await stub.armFailpoint(name, action, 1 + Math.floor(rng() * 2));
          return `${name}/${action}`;
        }
        if (roll < mix.failpoint + mix.evict) {
          evictions.push(
            evictDurableObject(stub).then(
              () => done.evicted++,
              () => undefined,
            ),
          );
          return null;
        }
        await abortAllDurableObjects();
        return "abort-all";
      } catch {
        // The shard crashed under us while arming: no fault this time.
        return null;
      }
    },
  };
}

function report(label: string, run: WorkloadResult, result: CheckResult) {
  const s = run.stats;
  console.log(
    `${label}: ${result.ops} ops checked (${s.reads} reads, ${s.writes} writes: ${s.okWrites} ok, ${s.failedWrites} failed, ${s.info} unknown), ` +
      `${s.faults} faults ${JSON.stringify(s.faultKinds)}, ${s.unknownAnswers} lost answers, ${s.retries} retries, ` +
      `${s.droppedReads} failed reads; verdict ${result.verdict} in ${result.elapsedMs.toFixed(0)} ms ` +
      `(${result.partitions.map((p) => `${p.key}: ${p.ops} ops/${p.steps} steps`).join(", ")}); load ${s.elapsedMs} ms, slowest ${s.slowest.what} ${s.slowest.ms} ms`,
  );
  if (result.explanation) console.log(result.explanation);
}

/** Three hot keys, two of them on one shard and one on another. */
function hotKeys(db: string): string[] {
  const keys = ["hot/0"];
  const first = shardForKey(db, "hot/0", SHARDS);
  for (let i = 1; keys.length < 3; i++) {
    const key = `hot/${i}`;
    const same = shardForKey(db, key, SHARDS) === first;
    if ((keys.length === 1 && same) || (keys.length === 2 && !same)) keys.push(key);
  }
  return keys;
}

describe("the Worker under faults", () => {
  for (const [seed, mix, retries, label] of [
    [101, { failpoint: 0.8, evict: 0.15 }, 5, "failpoints"],
    [202, { failpoint: 0.45, evict: 0.35 }, 5, "crashes"],
    // No retries: every lost answer stays an unknown outcome in the history.
    [303, { failpoint: 0.7, evict: 0.2 }, 0, "unknown outcomes"],
  ] as const) {
    it(`is linearizable per key: 12 clients, 3 hot keys, ${label} (seed ${seed})`, { timeout: 40_000 }, async () => {
      const db = freshDb(`lin_${seed}`);
      const keys = hotKeys(db);
      const faults = nemesis(db, keys, mix);
      const run = await runWorkload(workerService(db), {
        clients: 12,
        keys,
        maxOps: 360,
        maxMs: 12_000,
        seed,
        retries,
        retryDelayMs: 0,
        varyCase: true,
        nemesis: faults,
        // A last crash of everything, so the final reads come from storage.
        heal: () => abortAllDurableObjects(),
      });
      const result = check(cmpxchgModel, run.history, { timeoutMs: 10_000 });
      run.stats.faults += faults.done.evicted;
      if (faults.done.evicted) run.stats.faultKinds.evict = faults.done.evicted;
      report(`worker/${label}`, run, result);
      expect(result.verdict).toBe("ok");
      expect(run.stats.faults).toBeGreaterThan(5);
      expect(run.stats.okWrites).toBeGreaterThan(20);
      // The faults really cost answers; retries with the same id recovered most of them.
      expect(run.stats.unknownAnswers).toBeGreaterThan(0);
      if (retries > 0) {
        expect(run.stats.retries).toBeGreaterThan(0);
        // Retries with the same raft-request-id resolve every lost answer: no outcome stays unknown.
        expect(run.stats.info).toBe(0);
      } else expect(run.stats.info).toBeGreaterThan(0);
    });
  }
});

describe("the same workload against in-memory fakes", () => {
  const options = { clients: 12, keys: ["a", "b", "c"], maxOps: 300, maxMs: 10_000, retries: 3, retryDelayMs: 1 };

  it("a correct fake (atomic compare-and-set, lost replies retried) is linearizable", async () => {
    const run = await runWorkload(new FakeCmpxchg({ dropReply: 0.1, seed: 7 }), { ...options, seed: 7 });
    const result = check(cmpxchgModel, run.history, { timeoutMs: 10_000 });
    report("fake/correct", run, result);
    expect(result.verdict).toBe("ok");
    expect(run.stats.retries).toBeGreaterThan(0);
  });

  it("a racy fake (read, await, then write) is caught", async () => {
    const run = await runWorkload(new FakeCmpxchg({ racy: true, seed: 8 }), { ...options, seed: 8 });
    const result = check(cmpxchgModel, run.history, { timeoutMs: 10_000 });
    report("fake/racy", run, result);
    expect(result.verdict).toBe("illegal");
    expect(result.explanation).toContain("not linearizable");
  });

  it("a fake that loses acknowledged writes in a crash is caught by the final reads", async () => {
    const fake = new FakeCmpxchg({ loseLastPut: true, seed: 9 });
    let lost = 0;
    const run = await runWorkload(fake, { ...options, seed: 9, heal: async () => void (lost = fake.crash()) });
    const result = check(cmpxchgModel, run.history, { timeoutMs: 10_000 });
    report("fake/lossy", run, result);
    expect(lost).toBeGreaterThan(0);
    expect(result.verdict).toBe("illegal");
  });
});
