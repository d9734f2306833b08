/**
 * Watching items (beyond RavenDB): a long-poll that answers when one item changes, and WebSocket
 * change streams for a key or a prefix. The waiting happens inside the shard that owns the key;
 * a prefix spans every shard, so the Worker relays the streams of all of them into one socket.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { lowerKey } from "../core/keys";
import { ChangeResult, ChangesHeaders, ChangesQuery, WaitQuery } from "../core/schemas/cmpxchg";
import { errors, json } from "../core/schemas/common";
import { rawJson } from "../worker/respond";
import { shardsForPrefix, stubForKey } from "../worker/shards";
import { operation } from "./define";

export const watch = new OpenAPIHono<AppEnv>();

export { DEFAULT_WAIT_MS, MAX_WAIT_MS } from "../core/schemas/cmpxchg";
const tags = ["Watching (beyond RavenDB)"];

operation(
  watch,
  {
    method: "get",
    path: "/databases/{db}/cmpxchg/wait",
    guard: access.read,
    operationId: "waitForChange",
    tags,
    summary: "Long poll until an item's index differs from `index`",
    query: WaitQuery,
    responses: { 200: json("The item now, and whether it changed", ChangeResult), ...errors(400, 401, 403, 503) },
  },
  async (c, { query }) => {
    const { key, index, timeout } = query;
    const { lowered, stub } = stubForKey(c.env, c.var.database, c.var.routing, key);
    const { item, changed } = await stub.wait(lowered, index, timeout);
    return rawJson(`{"Key":${JSON.stringify(key)},"Value":${item?.json ?? "null"},"Index":${item?.index ?? -1},"Changed":${changed}}`);
  },
);

const ChangeMessage = z.object({
  Type: z.enum(["Put", "Delete", "Expire"]),
  Key: z.string(),
  Index: z.int(),
  Value: z.unknown(),
});

operation(
  watch,
  {
    method: "get",
    path: "/databases/{db}/cmpxchg/changes",
    guard: access.read,
    operationId: "watchChanges",
    tags,
    summary: "WebSocket stream of puts, deletes and expiries of a key or a prefix",
    description: "Send `Upgrade: websocket`. Each message is one JSON change `{Type: Put|Delete|Expire, Key, Index, Value}`.",
    headers: ChangesHeaders,
    query: ChangesQuery,
    responses: {
      101: { description: "Switching to the WebSocket; messages are changes", content: { "application/json": { schema: ChangeMessage } } },
      ...errors(400, 401, 403, 503),
    },
  },
  async (c, { query }) => {
    const database = c.var.database;
    const upgrade = (query: string) => new Request(`http://shard/changes?${query}`, { headers: { Upgrade: "websocket" } });
    if ("key" in query) {
      const { lowered, stub } = stubForKey(c.env, database, c.var.routing, query.key);
      return stub.fetch(upgrade(`key=${encodeURIComponent(lowered)}`));
    }
    const lowered = lowerKey(query.prefix);
    const prefix = `prefix=${encodeURIComponent(lowered)}`;
    // Every shard, or the one a prefix holding a whole hash tag lies on.
    const shards = shardsForPrefix(c.env, database, c.var.routing, lowered);
    const upstream = await Promise.all(shards.map(({ stub }) => stub.fetch(upgrade(prefix))));
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
  },
);

function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    // already closed
  }
}
