/**
 * Watching items (beyond RavenDB): a long-poll that answers when one item changes, and WebSocket
 * change streams for a key or a prefix. The waiting happens inside the shard that owns the key;
 * a prefix spans every shard, so the Worker relays the streams of all of them into one socket.
 */
import { Hono } from "hono";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { optionalInt, requireKey } from "../core/cmpxchg";
import { badInput, ErrorTypes } from "../core/errors";
import { lowerKey } from "../core/keys";
import { rawJson } from "../worker/respond";
import { shardsForPrefix, stubForKey } from "../worker/shards";

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
  const { lowered, stub } = stubForKey(c.env, database, c.var.routing, key);
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
  const upgrade = (query: string) => new Request(`http://shard/changes?${query}`, { headers: { Upgrade: "websocket" } });
  if (key !== undefined) {
    const { lowered, stub } = stubForKey(c.env, database, c.var.routing, requireKey(key));
    return stub.fetch(upgrade(`key=${encodeURIComponent(lowered)}`));
  }
  const lowered = lowerKey(prefix!);
  const query = `prefix=${encodeURIComponent(lowered)}`;
  // Every shard, or the one a prefix holding a whole hash tag lies on.
  const shards = shardsForPrefix(c.env, database, c.var.routing, lowered);
  const upstream = await Promise.all(shards.map(({ stub }) => stub.fetch(upgrade(query))));
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  server.accept();
  const sockets = upstream.map((response) => response.webSocket!);
  for (const socket of sockets) {
    socket.accept();
    socket.addEventListener("message", (event) => server.send(event.data as string));
    socket.addEventListener("close", () => closeQuietly(server, 1011, "a shard closed its stream"));
  }
  server.addEventListener("close", () => {
    for (const socket of sockets) closeQuietly(socket, 1000, "subscriber left");
  });
  return new Response(null, { status: 101, webSocket: client });
});

function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    // already closed
  }
}
