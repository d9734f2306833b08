// Watching items: the long-poll and the WebSocket change streams.
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { shardForKey } from "../src/core/routing";
import { call, freshDb, putItem } from "./helpers";

const wait = async (db: string, key: string, index: number, timeout: number) =>
  (await (await call(`/databases/${db}/cmpxchg/wait?key=${encodeURIComponent(key)}&index=${index}&timeout=${timeout}`)).json()) as any;

describe("long-poll wait", () => {
  it("answers at once when the index already differs", async () => {
    const db = freshDb("watch");
    const { Index } = await putItem(db, "k", 0, "v");
    expect(await wait(db, "K", 0, 1000)).toEqual({ Key: "K", Value: { Object: "v" }, Index, Changed: true });
  });

  it("wakes on an update, not at its timeout", async () => {
    const db = freshDb("watch");
    const { Index } = await putItem(db, "k", 0, "v1");
    const waiting = wait(db, "k", Index, 20_000);
    await scheduler.wait(50);
    const updated = await putItem(db, "k", Index, "v2");
    const started = Date.now();
    const answer = await waiting;
    expect(answer).toMatchObject({ Changed: true, Index: updated.Index, Value: { Object: "v2" } });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("wakes on a delete, on creation (index -1), and on expiry", async () => {
    const db = freshDb("watch");
    const creation = wait(db, "new", -1, 20_000);
    await scheduler.wait(20);
    const created = await putItem(db, "new", 0, 1);
    expect(await creation).toMatchObject({ Changed: true, Index: created.Index });

    const deletion = wait(db, "new", created.Index, 20_000);
    await scheduler.wait(20);
    await call(`/databases/${db}/cmpxchg?key=new&index=${created.Index}`, { method: "DELETE" });
    expect(await deletion).toMatchObject({ Changed: true, Index: -1, Value: null });

    const expires = new Date(Date.now() + 300).toISOString();
    const lease = (await (
      await call(`/databases/${db}/cmpxchg?key=lease&index=0`, {
        method: "PUT",
        body: JSON.stringify({ Object: "holder", "@metadata": { "@expires": expires } }),
      })
    ).json()) as any;
    const expiry = await wait(db, "lease", lease.Index, 20_000);
    expect(expiry).toMatchObject({ Changed: true, Index: -1, Value: null });
  });

  it("times out with Changed false and the current state", async () => {
    const db = freshDb("watch");
    const { Index } = await putItem(db, "k", 0, "v");
    expect(await wait(db, "k", Index, 100)).toEqual({ Key: "k", Value: { Object: "v" }, Index, Changed: false });
  });

  it("refuses bad parameters", async () => {
    const db = freshDb("watch");
    expect((await call(`/databases/${db}/cmpxchg/wait?key=k`)).status).toBe(400);
    expect((await call(`/databases/${db}/cmpxchg/wait?key=k&index=-2`)).status).toBe(400);
    expect((await call(`/databases/${db}/cmpxchg/wait?key=k&index=0&timeout=600000`)).status).toBe(400);
    expect((await call(`/databases/${db}/cmpxchg/changes?key=k`)).status).toBe(400);
  });
});

/** Opens a change stream and collects its messages. */
async function stream(db: string, query: string) {
  const res = await call(`/databases/${db}/cmpxchg/changes?${query}`, { headers: { Upgrade: "websocket" } });
  expect(res.status).toBe(101);
  const socket = res.webSocket!;
  socket.accept();
  const messages: any[] = [];
  const ready: any[] = [];
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data as string);
    (message.Type === "Ready" ? ready : messages).push(message);
  });
  const until = async (count: number) => {
    for (let i = 0; i < 200 && messages.length < count; i++) await scheduler.wait(10);
    return messages;
  };
  return { socket, messages, ready, until };
}

describe("WebSocket change streams", () => {
  it("stream one key's puts and deletes", async () => {
    const db = freshDb("watch");
    const { socket, until } = await stream(db, "key=Job%2F1");
    const created = await putItem(db, "job/1", 0, { state: "new" });
    await putItem(db, "job/2", 0, "other key");
    await call(`/databases/${db}/cmpxchg?key=job%2F1&index=${created.Index}`, { method: "DELETE" });
    const messages = await until(2);
    expect(messages).toEqual([
      { Type: "Put", Key: "job/1", Index: created.Index, Value: { Object: { state: "new" } }, Cursor: expect.any(String) },
      { Type: "Delete", Key: "job/1", Index: expect.any(Number), Value: null, Cursor: expect.any(String) },
    ]);
    socket.close(1000, "done");
  });

  it("stream a prefix across every shard, and expiry from the alarm", async () => {
    const db = freshDb("watch");
    const { socket, until } = await stream(db, "prefix=locks%2F");
    const keys = Array.from({ length: 6 }, (_, i) => `locks/${i}`);
    for (const key of keys) await putItem(db, key, 0, key);
    await putItem(db, "elsewhere", 0, 1);
    const puts = await until(6);
    expect(puts.map((m) => m.Key).sort()).toEqual(keys);
    const past = new Date(Date.now() + 50).toISOString();
    await call(`/databases/${db}/cmpxchg?key=locks%2Fshort&index=0`, {
      method: "PUT",
      body: JSON.stringify({ Object: 1, "@metadata": { "@expires": past } }),
    });
    await scheduler.wait(100);
    await runDurableObjectAlarm(env.SHARD.getByName(shardForKey(db, "locks/short", 16)));
    const all = await until(8);
    expect(all.slice(6)).toEqual([
      {
        Type: "Put",
        Key: "locks/short",
        Index: expect.any(Number),
        Value: { Object: 1, "@metadata": { "@expires": past } },
        Cursor: expect.any(String),
      },
      { Type: "Expire", Key: "locks/short", Index: expect.any(Number), Value: null, Cursor: expect.any(String) },
    ]);
    // An expiry is a change of its own, with an index after the item's Put.
    expect(all[7].Index).toBeGreaterThan(all[6].Index);
    socket.close(1000, "done");
  });

  it("resume from a cursor with exactly the changes after it, and replay from an index", async () => {
    const db = freshDb("watch");
    const first = await stream(db, "key=k");
    const a = await putItem(db, "k", 0, "a");
    const b = await putItem(db, "k", a.Index, "b");
    const [, second] = await first.until(2);
    first.socket.close(1000, "done");
    expect(first.ready).toEqual([{ Type: "Ready", Cursor: expect.stringMatching(/^\d+:\d+$/) }]);
    const c = await putItem(db, "k", b.Index, "c");
    // After the first change's cursor: the second and the third, once each.
    const first1 = first.messages[0].Cursor as string;
    const resumed = await stream(db, `key=k&cursor=${encodeURIComponent(first1)}`);
    expect((await resumed.until(2)).map((m) => m.Index)).toEqual([b.Index, c.Index]);
    expect(second.Cursor).not.toBe(first1);
    await scheduler.wait(100);
    expect(resumed.messages).toHaveLength(2);
    resumed.socket.close(1000, "done");
    // From an index: the changes above it, then live.
    const replay = await stream(db, `key=k&fromIndex=${a.Index}`);
    expect((await replay.until(2)).map((m) => m.Value.Object)).toEqual(["b", "c"]);
    replay.socket.close(1000, "done");
    // A cursor or a fromIndex that is not one: 400 before any upgrade.
    for (const bad of ["cursor=1%3Ax", "cursor=99%3A1", "fromIndex=-1", "fromIndex=x"]) {
      const res = await call(`/databases/${db}/cmpxchg/changes?key=k&${bad}`, { headers: { Upgrade: "websocket" } });
      expect(res.status, bad).toBe(400);
    }
  });

  it("stream a prefix holding a whole hash tag from the tag's shard, in a database created with KeyHashTags", async () => {
    const db = freshDb("watchtags");
    const created = await call(`/admin/databases?name=${db}`, {
      method: "PUT",
      body: JSON.stringify({ DatabaseName: db, KeyHashTags: true }),
    });
    expect(created.status).toBe(201);
    const { socket, until } = await stream(db, `prefix=${encodeURIComponent("cart/{u1}/")}`);
    const keys = Array.from({ length: 4 }, (_, i) => `cart/{u1}/${i}`);
    for (const key of keys) await putItem(db, key, 0, key);
    await putItem(db, "cart/{u2}/0", 0, "another tag");
    const puts = await until(4);
    await scheduler.wait(50);
    expect(puts.map((m) => m.Key)).toEqual(keys);
    socket.close(1000, "done");
  });
});
