/**
 * `/databases/<db>/cmpxchg`: RavenDB's compare-exchange endpoints. Parse, route to the owning
 * shard, answer in RavenDB's shapes. The shard decides.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { checkValue, checkValueBody, MAX_VALUE_BYTES, valueTooBig } from "../core/cmpxchg";
import { ErrorTypes, RavenError } from "../core/errors";
import { prefixUpperBound } from "../core/keys";
import { MAX_PAGE_BYTES } from "../core/limits";
import { encodeContinuation, pickPage, type KeyEntry } from "../core/paging";
import { checkBody } from "../core/schemas/checked";
import {
  type CmpxchgGet,
  CmpxchgDeleteQuery,
  CmpxchgGetQuery,
  CmpxchgPutQuery,
  CompareExchangeValue,
  ItemList,
  WriteResult,
} from "../core/schemas/cmpxchg";
import { errors, json } from "../core/schemas/common";
import { itemJson, rawJson, writeResultJson } from "../worker/respond";
import type { Routing } from "../core/routing";
import { getItems, shardsForPrefix, stubForKey } from "../worker/shards";
import { operation } from "./define";

export const cmpxchg = new OpenAPIHono<AppEnv>();

/** Name of our continuation-token query value and response header (not in RavenDB). */
export const CONTINUATION = "continuationToken";
export const CONTINUATION_HEADER = "Continuation-Token";
const tags = ["Compare exchange"];

operation(
  cmpxchg,
  {
    method: "get",
    path: "/databases/{db}/cmpxchg",
    guard: access.read,
    operationId: "getCompareExchange",
    tags,
    summary: "Get items by key, or list by key prefix",
    description:
      "With `key` (repeatable): those items in request order; one missing key alone answers 404 with an empty body. Without: a listing of `startsWith`, in lower-cased key order, a page at a time.",
    query: CmpxchgGetQuery,
    responses: {
      200: json("Items", ItemList),
      404: { description: "A single requested key does not exist (empty body)" },
      ...errors(400, 401, 403, 503),
    },
  },
  (c, { query }) =>
    query.mode === "keys" ? getByKeys(c.env, c.var.database, c.var.routing, query.keys) : list(c.env, c.var.database, c.var.routing, query),
);

operation(
  cmpxchg,
  {
    method: "put",
    path: "/databases/{db}/cmpxchg",
    guard: access.write,
    operationId: "putCompareExchange",
    tags,
    summary: "Create (index 0) or update at an index",
    description:
      "Writes only if the item's index is `index` (0: only if the key does not exist). A mismatch is not an error: `Successful` is false.",
    query: CmpxchgPutQuery,
    body: { schema: CompareExchangeValue },
    responses: { 200: json("The outcome", WriteResult), ...errors(400, 401, 403, 413, 429, 503) },
  },
  async (c, { query }) => {
    const declared = Number(c.req.header("Content-Length") ?? "0");
    // Refuse an oversized body before reading it (UTF-8 bytes are at most the declared length).
    if (declared > MAX_VALUE_BYTES * 2) throw valueTooBig(declared);
    const value = checkValueBody(await c.req.text(), (body) => checkBody(CompareExchangeValue, body, () => checkValue(body)));
    const { lowered, stub } = stubForKey(c.env, c.var.database, c.var.routing, query.key);
    const result = await stub.put({
      key: lowered,
      json: value.json,
      expectedIndex: query.index,
      expiresAt: value.expiresAt,
      requestId: query["raft-request-id"],
    });
    return rawJson(writeResultJson(result.index, result.json, result.successful));
  },
);

operation(
  cmpxchg,
  {
    method: "delete",
    path: "/databases/{db}/cmpxchg",
    guard: access.write,
    operationId: "deleteCompareExchange",
    tags,
    summary: "Delete at an index",
    description:
      "Deletes only if the item's index is `index`; deleting a missing key is a success. (A delete is a write: the key's size is checked as for a PUT, as RavenDB's command base does.)",
    query: CmpxchgDeleteQuery,
    responses: { 200: json("The outcome", WriteResult), ...errors(400, 401, 403, 429, 503) },
  },
  async (c, { query }) => {
    const { lowered, stub } = stubForKey(c.env, c.var.database, c.var.routing, query.key);
    const result = await stub.remove({ key: lowered, expectedIndex: query.index, requestId: query["raft-request-id"] });
    return rawJson(writeResultJson(result.index, result.json, result.successful));
  },
);

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
async function list(env: Env, database: string, routing: Routing, query: Extract<CmpxchgGet, { mode: "list" }>): Promise<Response> {
  const { prefix, start, pageSize, after } = query;
  const upper = prefixUpperBound(prefix);
  // A prefix holding a whole hash tag lies on one shard (see core/routing shardOfPrefix).
  const shards = shardsForPrefix(env, database, routing, prefix).map(({ stub }) => stub);
  const { page, more } = await pickPage(
    shards.map((stub) => (after, limit) => stub.listKeys({ prefix, upper, after, limit })),
    { after, start, pageSize, maxBytes: MAX_PAGE_BYTES, chunk: LIST_CHUNK },
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
