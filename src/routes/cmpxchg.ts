/**
 * `/databases/<db>/cmpxchg`: RavenDB's compare-exchange endpoints. Parse, route to the owning
 * shard, answer in RavenDB's shapes. The shard decides.
 */
import { Hono } from "hono";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { checkValueBody, MAX_VALUE_BYTES, optionalInt, requireIndex, requireWritableKey, valueTooBig } from "../core/cmpxchg";
import { badInput, echo, ErrorTypes, RavenError } from "../core/errors";
import { lowerKey, prefixUpperBound } from "../core/keys";
import { MAX_LIST_OFFSET, MAX_PAGE_BYTES, MAX_PAGE_SIZE } from "../core/limits";
import { decodeContinuation, encodeContinuation, pickPage, type KeyEntry } from "../core/paging";
import { itemJson, rawJson, writeResultJson } from "../worker/respond";
import type { Routing } from "../core/routing";
import { getItems, shardsForPrefix, stubForKey } from "../worker/shards";

export const cmpxchg = new Hono<AppEnv>();

/** Name of our continuation-token query value and response header (not in RavenDB). */
export const CONTINUATION = "continuationToken";
export const CONTINUATION_HEADER = "Continuation-Token";
const MAX_REQUEST_ID_LENGTH = 256;

cmpxchg.get("/databases/:db/cmpxchg", access.read, async (c) => {
  const database = c.var.database;
  const params = new URL(c.req.url).searchParams;
  const keys = params.getAll("key");
  return keys.length > 0 ? getByKeys(c.env, database, c.var.routing, keys) : list(c.env, database, c.var.routing, params);
});

cmpxchg.put("/databases/:db/cmpxchg", access.write, async (c) => {
  const database = c.var.database;
  const params = new URL(c.req.url).searchParams;
  const key = requireWritableKey(params.get("key"));
  const expectedIndex = requireIndex(params.get("index"));
  const requestId = readRequestId(params);
  const declared = Number(c.req.header("Content-Length") ?? "0");
  // Refuse an oversized body before reading it (UTF-8 bytes are at most the declared length).
  if (declared > MAX_VALUE_BYTES * 2) throw valueTooBig(declared);
  const value = checkValueBody(await c.req.text());
  const { lowered, stub } = stubForKey(c.env, database, c.var.routing, key);
  const result = await stub.put({
    key: lowered,
    json: value.json,
    expectedIndex,
    expiresAt: value.expiresAt,
    requestId,
  });
  return rawJson(writeResultJson(result.index, result.json, result.successful));
});

cmpxchg.delete("/databases/:db/cmpxchg", access.write, async (c) => {
  const database = c.var.database;
  const params = new URL(c.req.url).searchParams;
  // A delete is a write: RavenDB's command base checks the key's size for both.
  const key = requireWritableKey(params.get("key"));
  const expectedIndex = requireIndex(params.get("index"));
  const requestId = readRequestId(params);
  const { lowered, stub } = stubForKey(c.env, database, c.var.routing, key);
  const result = await stub.remove({ key: lowered, expectedIndex, requestId });
  return rawJson(writeResultJson(result.index, result.json, result.successful));
});

/** Mode A: `?key=a&key=b`. One missing key alone is a 404 with an empty body, as in RavenDB. */
async function getByKeys(env: Env, database: string, routing: Routing, keys: string[]): Promise<Response> {
  const found = await getItems(env, database, routing, keys);
  if (keys.length === 1 && found[0] === null) return new Response(null, { status: 404 });
  const results = keys.map((key, i) => {
    const item = found[i];
    // Keys are echoed exactly as sent: clients look results up by the string they asked for.
    return item ? itemJson(key, item.json, item.index) : itemJson(key, null, -1);
  });
  return rawJson(`{"Results":[${results.join(",")}]}`);
}

/**
 * Mode B: prefix listing, ordered by lower-cased key. `start`/`pageSize` as RavenDB, except that
 * a page holds at most MAX_PAGE_SIZE items and MAX_PAGE_BYTES of values (RavenDB's "all", a
 * pageSize of 0 or less, means one such page); a page that was cut says where to resume with a
 * continuation token, so no shard re-reads what was already returned.
 */
async function list(env: Env, database: string, routing: Routing, params: URLSearchParams): Promise<Response> {
  const prefix = lowerKey(params.get("startsWith") ?? "");
  const start = Math.max(0, optionalInt("start", params.get("start")) ?? 0);
  if (start > MAX_LIST_OFFSET) {
    throw badInput(ErrorTypes.argument, `start is at most ${MAX_LIST_OFFSET}; page further with the continuation token.`);
  }
  const requested = optionalInt("pageSize", params.get("pageSize"));
  const pageSize = requested === undefined || requested <= 0 ? MAX_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
  const tokenText = params.get(CONTINUATION);
  const token = tokenText ? decodeContinuation(tokenText) : null;
  if (token && token.prefix !== prefix) {
    throw badInput(
      ErrorTypes.argument,
      `The continuation token belongs to a listing of prefix '${echo(token.prefix)}', not '${echo(prefix)}'.`,
    );
  }
  const upper = prefixUpperBound(prefix);
  // A prefix holding a whole hash tag lies on one shard (see core/routing shardOfPrefix).
  const shards = shardsForPrefix(env, database, routing, prefix).map(({ stub }) => stub);
  const { page, more } = await pickPage(
    shards.map((stub) => (after, limit) => stub.listKeys({ prefix, upper, after, limit })),
    { after: token?.after, start, pageSize, maxBytes: MAX_PAGE_BYTES, chunk: LIST_CHUNK },
  );
  const values = await valuesOf(shards, page);
  const results = page.flatMap((_entry, i) => {
    const item = values[i];
    // Deleted or expired since its key was listed: a listing is not a snapshot across shards.
    return item ? [itemJson(item.key, item.json, item.index)] : [];
  });
  const last = page[page.length - 1];
  const next = more && last ? encodeContinuation({ prefix, after: last.key }) : null;
  const body = `{"Results":[${results.join(",")}],"ContinuationToken":${JSON.stringify(next)}}`;
  return rawJson(body, 200, next ? { [CONTINUATION_HEADER]: next } : {});
}

/** Keys a listing asks of one shard at a time. */
const LIST_CHUNK = 256;

/** The page's values, in page order, asking each shard once and within the page's byte budget. */
async function valuesOf(shards: ReturnType<typeof shardsForPrefix>[number]["stub"][], page: KeyEntry[]) {
  const values = new Array<{ key: string; index: number; json: string } | null>(page.length).fill(null);
  const bySource = Map.groupBy(
    page.map((entry, at) => ({ entry, at })),
    ({ entry }) => entry.source,
  );
  await Promise.all(
    [...bySource].map(async ([source, group]) => {
      // Values may have grown since their sizes were listed: allow that once over, no more.
      const found = await shards[source]!.getWithin(
        group.map(({ entry }) => entry.key),
        2 * MAX_PAGE_BYTES,
      );
      if (!("items" in found)) {
        throw new RavenError(503, ErrorTypes.server, "The listed items grew while they were read; retry the listing.");
      }
      found.items.forEach((item, i) => (values[group[i]!.at] = item));
    }),
  );
  return values;
}

function readRequestId(params: URLSearchParams): string | undefined {
  const id = params.get("raft-request-id");
  if (id === null || id === "") return undefined;
  if (id.length > MAX_REQUEST_ID_LENGTH) {
    throw badInput(ErrorTypes.argument, `raft-request-id is longer than ${MAX_REQUEST_ID_LENGTH} characters.`);
  }
  return id;
}
