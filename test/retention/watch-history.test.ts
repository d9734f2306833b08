// WATCH_HISTORY_RETENTION as configured ("5,1h" in this project): the shard's alarm keeps about
// the last 5 changes and plans the next prune for when the oldest is an hour old; a stream from
// before that says HistoryCompacted.
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HistoryCompactedException } from "../../src/client";
import { shardForKey } from "../../src/core/routing";
import { clientFor, freshDb, thrown } from "../client/support";

describe("WATCH_HISTORY_RETENTION", { timeout: 60_000 }, () => {
  it("the alarm prunes the history to the configured count and re-arms for its age", async () => {
    const db = freshDb("retention");
    const client = clientFor(db);
    const indexes: number[] = [];
    let index = 0;
    for (let i = 0; i < 20; i++) indexes.push((index = (await client.put("k", i, index)).index));
    const shard = env.SHARD.getByName(shardForKey(db, "k", 16));
    // Every change past a tenth of the count asks for the alarm at once; let it run to the end.
    for (let i = 0; i < 10 && (await runDurableObjectAlarm(shard)); i++);
    const { rows, alarm, oldestAt } = await runInDurableObject(shard, async (_, state) => ({
      rows: state.storage.sql.exec<{ idx: number }>("SELECT idx FROM history ORDER BY seq").toArray(),
      alarm: await state.storage.getAlarm(),
      oldestAt: state.storage.sql.exec<{ at: number }>("SELECT at FROM history ORDER BY seq LIMIT 1").one().at,
    }));
    expect(rows.map((r) => r.idx)).toEqual(indexes.slice(-5));
    expect(alarm).toBe(oldestAt + 3_600_000);

    const err = await thrown(() => client.watch("k", { fromIndex: indexes[0]! }).next());
    expect(err).toBeInstanceOf(HistoryCompactedException);
    expect((err as HistoryCompactedException).oldestIndex).toBe(indexes[14]);
    const stream = client.watch<number>("k", { fromIndex: indexes[14]! });
    const values: number[] = [];
    for await (const change of stream) {
      values.push(change.value!);
      if (values.length === 5) break;
    }
    expect(values).toEqual([15, 16, 17, 18, 19]);
  });
});
