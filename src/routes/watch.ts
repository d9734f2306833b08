/**
 * Watching items (beyond RavenDB): a long-poll that answers when one item changes, and WebSocket
 * change streams for a key or a prefix. The waiting happens inside the shard that owns the key;
 * a prefix spans every shard, so the Worker relays the streams of all of them into one socket.
 * A stream starts from now, from an index (`fromIndex`) or from a cursor it was given earlier
 * (`cursor`: one position per shard), replaying the shards' change history first (see
 * core/watch-history.ts and objects/shard-watch.ts).
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { badInput, echo, ErrorTypes } from "../core/errors";
import { lowerKey } from "../core/keys";
import { shardOfKey } from "../core/routing";
import { ChangeResult, ChangesHeaders, ChangesQuery, WaitQuery } from "../core/schemas/cmpxchg";
import { errors, json } from "../core/schemas/common";
import { COMPACTED_CLOSE, formatCursor } from "../core/watch-history";
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
  Type: z.enum(["Ready", "Put", "Delete", "Expire", "HistoryCompacted"]),
  Key: z.string().optional(),
  Index: z.int().optional(),
  Value: z.unknown().optional(),
  Cursor: z.string().optional().openapi({ description: "The stream's position after this message: resume with it as `cursor`" }),
  OldestIndex: z.int().optional().openapi({ description: "HistoryCompacted: a fromIndex at or above it can be replayed" }),
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
    description:
      "Send `Upgrade: websocket`. The first message is `{Type: Ready, Cursor}`; then one JSON message per change, " +
      "`{Type: Put|Delete|Expire, Key, Index, Value, Cursor}`, in commit order per shard. Resume with `cursor` (the last " +
      "`Cursor` received) and the same `fromIndex`. When the shard no longer holds the changes asked for: " +
      "`{Type: HistoryCompacted, OldestIndex, Message}` and close code 4410.",
    headers: ChangesHeaders,
    query: ChangesQuery,
    responses: {
      101: { description: "Switching to the WebSocket; messages are changes", content: { "application/json": { schema: ChangeMessage } } },
      ...errors(400, 401, 403, 503),
    },
  },
  async (c, { query }) => {
    const database = c.var.database;
    const shards = c.var.routing.shardCount;
    const { fromIndex, cursor } = query;
    if (cursor && [...cursor.keys()].some((shard) => shard >= shards)) {
      throw badInput(ErrorTypes.argument, `cursor is not one this server gave: ${echo(formatCursor(cursor))}`);
    }
    /** The shard's query: its position in the cursor, else fromIndex, else now. */
    const upgrade = (target: string, shard: number, ready: boolean) => {
      const position = cursor?.get(shard);
      let search = target;
      if (position) search += `&seq=${position.seq}${position.until !== null ? `&until=${position.until}` : ""}`;
      if (fromIndex !== undefined) search += `&from=${fromIndex}`;
      if (ready) search += "&ready=1";
      return new Request(`http://shard/changes?${search}`, { headers: { Upgrade: "websocket" } });
    };
    if ("key" in query) {
      const { lowered, stub } = stubForKey(c.env, database, c.var.routing, query.key);
      return stub.fetch(upgrade(`key=${encodeURIComponent(lowered)}`, shardOfKey(lowered, c.var.routing), true));
    }
    const lowered = lowerKey(query.prefix);
    const target = `prefix=${encodeURIComponent(lowered)}`;
    // Every shard, or the one a prefix holding a whole hash tag lies on.
    const targets = shardsForPrefix(c.env, database, c.var.routing, lowered);
    const upstream = await Promise.all(targets.map(({ shard, stub }) => stub.fetch(upgrade(target, shard, false))));
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
  },
);

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
