/**
 * `/databases/<db>/cmpxchg`: RavenDB's compare-exchange endpoints. Parse, route to the owning
 * shard, answer in RavenDB's shapes. The shard decides.
 */
import { Hono } from "hono";
import {
  checkValueBody,
  MAX_VALUE_BYTES,
  optionalInt,
  requireIndex,
  requireKey,
  requireWritableKey,
  valueTooBig,
} from "../core/cmpxchg";
import { checkDatabaseName } from "../core/database";
import { badInput, ErrorTypes } from "../core/errors";
import { lowerKey, prefixUpperBound } from "../core/keys";
import { decodeContinuation, encodeContinuation, mergeSorted } from "../core/paging";
import { itemJson, rawJson, writeResultJson } from "./respond";
import { allShards, getItems, stubForKey } from "./shards";

export const cmpxchg = new Hono<{ Bindings: Env }>();

/** Name of our continuation-token query value and response header (not in RavenDB). */
export const CONTINUATION = "continuationToken";
export const CONTINUATION_HEADER = "Continuation-Token";
const MAX_REQUEST_ID_LENGTH = 256;

cmpxchg.get("/databases/:db/cmpxchg", async (c) => {
  const database = checkDatabaseName(c.req.param("db"));
  const params = new URL(c.req.url).searchParams;
  const keys = params.getAll("key");
  return keys.length > 0
    ? getByKeys(c.env, database, keys)
    : list(c.env, database, params);
});

cmpxchg.put("/databases/:db/cmpxchg", async (c) => {
  const database = checkDatabaseName(c.req.param("db"));
  const params = new URL(c.req.url).searchParams;
  const key = requireWritableKey(params.get("key"));
  const expectedIndex = requireIndex(params.get("index"));
  const requestId = readRequestId(params);
  const declared = Number(c.req.header("Content-Length") ?? "0");
  // Refuse an oversized body before reading it (UTF-8 bytes are at most the declared length).
  if (declared > MAX_VALUE_BYTES * 2) throw valueTooBig(declared);
  const value = checkValueBody(await c.req.text());
  const { lowered, stub } = stubForKey(c.env, database, key);
  const result = await stub.put({
    key: lowered,
    json: value.json,
    expectedIndex,
    expiresAt: value.expiresAt,
    requestId,
  });
  return rawJson(writeResultJson(result.index, result.json, result.successful));
});

cmpxchg.delete("/databases/:db/cmpxchg", async (c) => {
  const database = checkDatabaseName(c.req.param("db"));
  const params = new URL(c.req.url).searchParams;
  const key = requireKey(params.get("key"));
  const expectedIndex = requireIndex(params.get("index"));
  const requestId = readRequestId(params);
  const { lowered, stub } = stubForKey(c.env, database, key);
  const result = await stub.remove({ key: lowered, expectedIndex, requestId });
  return rawJson(writeResultJson(result.index, result.json, result.successful));
});

/** Mode A: `?key=a&key=b`. One missing key alone is a 404 with an empty body, as in RavenDB. */
async function getByKeys(env: Env, database: string, keys: string[]): Promise<Response> {
  const found = await getItems(env, database, keys);
  if (keys.length === 1 && found[0] === null) return new Response(null, { status: 404 });
  const results = keys.map((key, i) => {
    const item = found[i];
    // Keys are echoed exactly as sent: clients look results up by the string they asked for.
    return item ? itemJson(key, item.json, item.index) : itemJson(key, null, -1);
  });
  return rawJson(`{"Results":[${results.join(",")}]}`);
}

/**
 * Mode B: prefix listing, ordered by lower-cased key. `start`/`pageSize` as RavenDB (a pageSize of
 * 0 or less means "all"); `continuationToken` resumes after the last key of the previous page, so
 * no shard re-reads what was already returned.
 */
async function list(env: Env, database: string, params: URLSearchParams): Promise<Response> {
  const prefix = lowerKey(params.get("startsWith") ?? "");
  const start = Math.max(0, optionalInt("start", params.get("start")) ?? 0);
  const requested = optionalInt("pageSize", params.get("pageSize"));
  const pageSize = requested === undefined || requested <= 0 ? -1 : requested;
  const tokenText = params.get(CONTINUATION);
  const token = tokenText ? decodeContinuation(tokenText) : null;
  if (token && token.prefix !== prefix) {
    throw badInput(
      ErrorTypes.argument,
      `The continuation token belongs to a listing of prefix '${token.prefix}', not '${prefix}'.`,
    );
  }
  const perShard = pageSize < 0 ? -1 : start + pageSize;
  const upper = prefixUpperBound(prefix);
  const pages = await Promise.all(
    allShards(env, database).map((stub) =>
      stub.list({ prefix, upper, after: token?.after, limit: perShard }),
    ),
  );
  const merged = mergeSorted(pages, perShard);
  const page = merged.slice(start);
  const last = page[page.length - 1];
  // A full page may have more behind it; a short one is the end.
  const next =
    pageSize > 0 && page.length === pageSize && last
      ? encodeContinuation({ prefix, after: last.key })
      : null;
  const results = page.map((item) => itemJson(item.key, item.json, item.index));
  const body = `{"Results":[${results.join(",")}],"ContinuationToken":${JSON.stringify(next)}}`;
  return rawJson(body, 200, next ? { [CONTINUATION_HEADER]: next } : {});
}

function readRequestId(params: URLSearchParams): string | undefined {
  const id = params.get("raft-request-id");
  if (id === null || id === "") return undefined;
  if (id.length > MAX_REQUEST_ID_LENGTH) {
    throw badInput(ErrorTypes.argument, `raft-request-id is longer than ${MAX_REQUEST_ID_LENGTH} characters.`);
  }
  return id;
}
