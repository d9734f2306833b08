/**
 * Watching items (beyond RavenDB): a long-poll that answers when one item changes, and WebSocket
 * change streams for a key or a prefix. The waiting happens inside the shard that owns the key;
 * a prefix spans every shard, so the Worker relays the streams of all of them into one socket.
 * A stream starts from now, from an index (`fromIndex`) or from a cursor it was given earlier
 * (`cursor`: one position per shard), replaying the shards' change history first (see
 * core/watch-history.ts and objects/shard-watch.ts).
 */
import { Hono } from "hono";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { optionalInt, requireKey } from "../core/cmpxchg";
import { badInput, echo, ErrorTypes } from "../core/errors";
import { lowerKey } from "../core/keys";
import { shardOf } from "../core/routing";
import { COMPACTED_CLOSE, type Cursor, parseCursor } from "../core/watch-history";
import { rawJson } from "../worker/respond";
import { allShards, shardCount, stubForKey } from "../worker/shards";

export const watch = new Hono<AppEnv>();

export const DEFAULT_WAIT_MS = 30_000;
export const MAX_WAIT_MS = 60_000;

watch.get("/databases/:db/cmpxchg/wait", access.read, async (c) => {
  const database = c.var.database;
  const key = requireKey(c.req.query("key"));
  const index = optionalInt("index", c.req.query("index"));
  if (index === undefined || index < -1) {
    throw badInput(ErrorTypes.argument, "Query string index is mandatory: the index you know, or -1 to wait until the item exists.");
  }
  const timeout = optionalInt("timeout", c.req.query("timeout")) ?? DEFAULT_WAIT_MS;
  if (timeout < 0 || timeout > MAX_WAIT_MS) {
    throw badInput(ErrorTypes.argument, `timeout is in milliseconds, from 0 to ${MAX_WAIT_MS}.`);
  }
  const { lowered, stub } = stubForKey(c.env, database, key);
  const { item, changed } = await stub.wait(lowered, index, timeout);
  return rawJson(`{"Key":${JSON.stringify(key)},"Value":${item?.json ?? "null"},"Index":${item?.index ?? -1},"Changed":${changed}}`);
});

watch.get("/databases/:db/cmpxchg/changes", access.read, async (c) => {
  const database = c.var.database;
  if (c.req.header("Upgrade") !== "websocket") {
    throw badInput(ErrorTypes.badRequest, "This endpoint streams changes over a WebSocket: send Upgrade: websocket.");
  }
  const key = c.req.query("key");
  const prefix = c.req.query("prefix");
  if ((key === undefined) === (prefix === undefined)) {
    throw badInput(ErrorTypes.argument, "Give exactly one of key=<key> or prefix=<prefix>.");
  }
  const from = optionalInt("fromIndex", c.req.query("fromIndex"));
  if (from !== undefined && from < 0) throw badInput(ErrorTypes.argument, "fromIndex is an index: 0 or more.");
  const cursor = readCursor(c.req.query("cursor"), shardCount(c.env));
  /** The shard's query: its position in the cursor, else fromIndex, else now. */
  const upgrade = (target: string, shard: number, ready: boolean) => {
    const position = cursor?.get(shard);
    let query = target;
    if (position) query += `&seq=${position.seq}${position.until !== null ? `&until=${position.until}` : ""}`;
    if (from !== undefined) query += `&from=${from}`;
    if (ready) query += "&ready=1";
    return new Request(`http://shard/changes?${query}`, { headers: { Upgrade: "websocket" } });
  };
  if (key !== undefined) {
    const { lowered, stub } = stubForKey(c.env, database, requireKey(key));
    return stub.fetch(upgrade(`key=${encodeURIComponent(lowered)}`, shardOf(lowered, shardCount(c.env)), true));
  }
  const target = `prefix=${encodeURIComponent(lowerKey(prefix!))}`;
  const upstream = await Promise.all(allShards(c.env, database).map((stub, shard) => stub.fetch(upgrade(target, shard, false))));
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  server.accept();
  // The starting position in every shard, first: the client resumes from it if the socket drops
  // before a shard sent anything. (A shard that refused, compacted, sends no header.)
  const start = upstream.map((response) => response.headers.get("Watch-Cursor")).filter((pair) => pair !== null);
  server.send(`{"Type":"Ready","Cursor":"${start.join(",")}"}`);
  const sockets = upstream.map((response) => response.webSocket!);
  for (const socket of sockets) {
    socket.accept();
    socket.addEventListener("message", (event) => sendQuietly(server, event.data as string));
    socket.addEventListener("close", (event) =>
      event.code === COMPACTED_CLOSE
        ? closeQuietly(server, COMPACTED_CLOSE, "history compacted")
        : closeQuietly(server, 1011, "a shard closed its stream"),
    );
  }
  server.addEventListener("close", () => {
    for (const socket of sockets) closeQuietly(socket, 1000, "subscriber left");
  });
  return new Response(null, { status: 101, webSocket: client });
});

/** The `cursor` of a resuming stream: `<shard>:<seq>[:<until>]` parts, as the stream's messages gave them. */
function readCursor(raw: string | undefined, shards: number): Cursor | null {
  if (raw === undefined) return null;
  const cursor = parseCursor(raw);
  if (!cursor || [...cursor.keys()].some((shard) => shard >= shards)) {
    throw badInput(ErrorTypes.argument, `cursor is not one this server gave: ${echo(raw)}`);
  }
  return cursor;
}

/** Relays a message; the subscriber may have left while it was in flight (its close handler cleans up). */
function sendQuietly(socket: WebSocket, data: string): void {
  try {
    socket.send(data);
  } catch {
    // already closed
  }
}

function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    // already closed
  }
}
