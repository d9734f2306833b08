// waitForChange (long-poll) and watch (WebSocket change stream) against the Worker's watch
// endpoints, plus the stream's own behaviour against a scripted socket.
import { describe, expect, it } from "vitest";
import {
  ArgumentException,
  ChangeStream,
  CmpxchgClient,
  expiresIn,
  HistoryCompactedException,
  NetworkException,
  RouteNotFoundException,
} from "../../src/client";
import { clientFor, delay, freshDb, thrown } from "./support";

describe("waitForChange", { timeout: 30_000 }, () => {
  it("answers when the item is replaced, deleted, or created", async () => {
    const client = clientFor(freshDb("wait"));
    const created = await client.create("job", "queued");

    const onPut = client.waitForChange<string>("job", created.index, { timeoutMs: 10_000 });
    await delay(50);
    const updated = await client.put("job", "running", created.index);
    expect(await onPut).toEqual({
      changed: true,
      index: updated.index,
      item: { key: "job", value: "running", metadata: {}, index: updated.index },
    });

    const onDelete = client.waitForChange("job", updated.index, { timeoutMs: 10_000 });
    await delay(50);
    await client.delete("job", updated.index);
    expect(await onDelete).toEqual({ changed: true, index: -1, item: null });

    const onCreate = client.waitForChange<string>("job", -1, { timeoutMs: 10_000 });
    await delay(50);
    const again = await client.create("job", "queued again");
    expect(await onCreate).toMatchObject({ changed: true, index: again.index, item: { value: "queued again" } });
  });

  it("answers at once when the index already differs", async () => {
    const client = clientFor(freshDb("wait"));
    const created = await client.create("k", 1);
    const started = Date.now();
    expect(await client.waitForChange("k", created.index + 5, { timeoutMs: 10_000 })).toMatchObject({
      changed: true,
      index: created.index,
    });
    expect(await client.waitForChange("missing", 3, { timeoutMs: 10_000 })).toEqual({ changed: true, index: -1, item: null });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("answers at the item's expiry", async () => {
    const client = clientFor(freshDb("wait"));
    const lease = await client.create("lease", "holder", expiresIn(300));
    const expiresAt = Date.parse(lease.metadata["@expires"] as string);
    const change = await client.waitForChange("lease", lease.index, { timeoutMs: 10_000 });
    expect(change).toEqual({ changed: true, index: -1, item: null });
    // Answered at the expiry (not before it, and long before the 10 s timeout).
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    expect(Date.now() - expiresAt).toBeLessThan(5_000);
  });

  it("times out with changed: false and the current state", async () => {
    const client = clientFor(freshDb("wait"));
    const created = await client.create("still", 1);
    const started = Date.now();
    expect(await client.waitForChange("still", created.index, { timeoutMs: 200 })).toMatchObject({
      changed: false,
      index: created.index,
      item: { value: 1 },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });
});

describe("watch over the Worker's WebSocket endpoint", { timeout: 30_000 }, () => {
  it("streams puts, deletes and expiries of one key", async () => {
    const client = clientFor(freshDb("watch"));
    const stream = client.watch<string>("Orders/1");
    await stream.ready;
    const first = await client.create("orders/1", "new");
    const second = await client.put("orders/1", "paid", first.index);
    await client.delete("orders/1", second.index);
    await client.create("orders/2", "other key: not delivered");
    const lease = await client.create("orders/1", "short", expiresIn(200));
    const events = [];
    for await (const event of stream) {
      events.push(event);
      if (events.length === 5) break;
    }
    expect(events.map((e) => [e.type, e.key, e.value])).toEqual([
      ["Put", "orders/1", "new"],
      ["Put", "orders/1", "paid"],
      ["Delete", "orders/1", null],
      ["Put", "orders/1", "short"],
      ["Expire", "orders/1", null],
    ]);
    expect(events[0]!.index).toBe(first.index);
    expect(events[3]!.metadata["@expires"]).toBe(lease.metadata["@expires"]);
  });

  it("streams a prefix across shards, including transaction writes", async () => {
    const client = clientFor(freshDb("watch"));
    const stream = client.watch({ prefix: "Jobs/" });
    await stream.ready;
    for (let i = 0; i < 5; i++) await client.create(`jobs/${i}`, i);
    await client.create("other/1", "not delivered");
    const tx = await client.transaction().create("jobs/a", "a").create("jobs/b", "b").commit();
    const seen = new Map<string, number>();
    for await (const event of stream) {
      seen.set(event.key, event.index);
      if (seen.size === 7) break;
    }
    expect([...seen.keys()].sort()).toEqual(["jobs/0", "jobs/1", "jobs/2", "jobs/3", "jobs/4", "jobs/a", "jobs/b"]);
    expect(seen.get("jobs/a")).toBe(tx.index);
  });

  it("reports a refused subscription as the server's typed error", async () => {
    const client = clientFor(freshDb("watch"));
    const stream = client.watch({ key: " " });
    expect(await thrown(() => stream.ready)).toBeInstanceOf(ArgumentException);
  });
});

describe("ChangeStream against a scripted socket", { timeout: 30_000 }, () => {
  /**
   * A client whose fetch answers each upgrade with one end of a new socket pair; the test holds
   * the other. `ready` (if given) is the Ready message's cursor, sent first on each connection.
   */
  function scriptedServer(ready: string | null = "0:0") {
    const servers: WebSocket[] = [];
    const urls: string[] = [];
    let connected: () => void = () => {};
    const client = new CmpxchgClient({
      url: "https://svc.example",
      database: "db",
      token: "t0k",
      fetch: async (request) => {
        urls.push(request.url);
        expect(request.headers.get("Upgrade")).toBe("websocket");
        expect(request.headers.get("Authorization")).toBe("Bearer t0k");
        const pair = new WebSocketPair();
        const [clientEnd, serverEnd] = [pair[0], pair[1]];
        serverEnd.accept();
        if (ready !== null) serverEnd.send(JSON.stringify({ Type: "Ready", Cursor: ready }));
        servers.push(serverEnd);
        connected();
        return new Response(null, { status: 101, webSocket: clientEnd });
      },
    });
    /** Resolves when the client has opened `count` connections in all. */
    const connections = async (count: number) => {
      while (servers.length < count) await new Promise<void>((resolve) => (connected = resolve));
    };
    return { client, urls, server: () => servers[servers.length - 1]!, connections };
  }
  const put = (key: string, index: number, cursor: string, value: unknown = index) =>
    JSON.stringify({ Type: "Put", Key: key, Index: index, Value: { Object: value }, Cursor: cursor });

  it("delivers messages in order, skips what is not a change, and ends on a normal close", async () => {
    const { client, urls, server } = scriptedServer();
    const stream = client.watch<number>({ prefix: "a/" });
    await stream.ready;
    expect(urls).toEqual(["https://svc.example/databases/db/cmpxchg/changes?prefix=a%2F"]);
    server().send(JSON.stringify({ Type: "Put", Key: "a/1", Index: 4, Value: { Object: 1, "@metadata": { x: "y" } } }));
    server().send("not json");
    server().send(JSON.stringify({ hello: true }));
    server().send(JSON.stringify({ Type: "Delete", Key: "a/1", Index: 5, Value: null }));
    server().close(1000, "bye");
    const events = [];
    for await (const event of stream) events.push(event);
    expect(events).toEqual([
      { type: "Put", key: "a/1", index: 4, value: 1, metadata: { x: "y" } },
      { type: "Delete", key: "a/1", index: 5, value: null, metadata: {} },
    ]);
  });

  it("reconnects after an abnormal close from the last cursor received, and drops what it already had", async () => {
    const { client, urls, server, connections } = scriptedServer("0:3,1:7");
    const stream = client.watch<number>({ prefix: "a/" }, { fromIndex: 2 });
    await stream.ready;
    expect(stream.cursor).toBe("0:3,1:7");
    server().send(put("a/1", 10, "0:4"));
    server().send(put("a/2", 11, "1:8"));
    expect((await stream.next()).value).toMatchObject({ key: "a/1", index: 10 });
    expect((await stream.next()).value).toMatchObject({ key: "a/2", index: 11 });
    server().close(1011, "shard went away");
    await connections(2);
    // The same target and fromIndex, from the position of the last change received.
    expect(urls[1]).toBe(
      `https://svc.example/databases/db/cmpxchg/changes?prefix=a%2F&fromIndex=2&cursor=${encodeURIComponent("0:4,1:8")}`,
    );
    server().send(put("a/2", 11, "1:8")); // replayed, but received before the drop
    server().send(put("a/1", 12, "0:5"));
    expect((await stream.next()).value).toMatchObject({ key: "a/1", index: 12 });
    expect(stream.cursor).toBe("0:5,1:8");
    await stream.return();
  });

  it("ends with an error when the socket closes abnormally and resume is off, or nothing gave a position", async () => {
    const off = scriptedServer();
    const stream = off.client.watch("k", { resume: false });
    await stream.ready;
    off.server().send(put("k", 1, "0:1", "v"));
    off.server().close(1011, "shard went away");
    expect((await stream.next()).value).toMatchObject({ key: "k", value: "v" });
    expect(await thrown(() => stream.next())).toBeInstanceOf(NetworkException);
    expect(off.urls).toHaveLength(1);

    // A server that sends no Ready gives no position: a drop cannot be resumed without a gap.
    const silent = scriptedServer(null);
    const other = silent.client.watch("k");
    await silent.connections(1);
    silent.server().close(1011, "gone");
    expect(await thrown(() => other.next())).toBeInstanceOf(NetworkException);
    expect(silent.urls).toHaveLength(1);
  });

  it("ends with HistoryCompactedException when the server no longer holds the changes", async () => {
    const { client, server } = scriptedServer(null);
    const stream = client.watch("k", { fromIndex: 3 });
    await scheduler.wait(10);
    server().send(JSON.stringify({ Type: "HistoryCompacted", Shard: 0, OldestIndex: 40, Message: "gone" }));
    server().close(4410, "history compacted");
    const err = await thrown(() => stream.next());
    expect(err).toBeInstanceOf(HistoryCompactedException);
    expect((err as HistoryCompactedException).oldestIndex).toBe(40);
  });

  it("stops on abort and on return(), also while waiting to reconnect", async () => {
    const { client, connections, server } = scriptedServer();
    const controller = new AbortController();
    const stream = client.watch("k", { signal: controller.signal });
    await stream.ready;
    const pending = stream.next();
    controller.abort();
    expect(await pending).toEqual({ value: undefined, done: true });
    const other = client.watch("k");
    await other.ready;
    await other.return();
    expect((await other.next()).done).toBe(true);

    const slow = new AbortController();
    const third = client.watch("k", { signal: slow.signal, maxReconnectDelayMs: 60_000 });
    await third.ready;
    await connections(3);
    const waiting = third.next();
    server().close(1011, "drop");
    await scheduler.wait(20);
    slow.abort();
    expect(await waiting).toEqual({ value: undefined, done: true });
  });

  it("reports a refused upgrade as the server's typed error", async () => {
    const client = new CmpxchgClient({
      url: "https://svc.example",
      database: "db",
      fetch: async () =>
        new Response(
          JSON.stringify({ Url: "/", Type: "Raven.Client.Exceptions.Routing.RouteNotFoundException", Message: "no", Error: "no" }),
          { status: 400 },
        ),
    });
    const stream = client.watch("k");
    expect(await thrown(() => stream.ready)).toBeInstanceOf(RouteNotFoundException);
    expect(await thrown(() => stream.next())).toBeInstanceOf(RouteNotFoundException);
    expect(stream).toBeInstanceOf(ChangeStream);
  });
});
