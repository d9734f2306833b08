/**
 * `POST /databases/<db>/queries`: the RQL subset of core/rql.ts over the documents of a database,
 * with `cmpxchg()` evaluated once per query (RavenDB's semantics: the item's Object as a string,
 * null when missing), `order by` kept bounded while scanning (core/query-order.ts), `select`
 * projections with `load`, JavaScript projections (worker/js-projection.ts), and `include <path>` /
 * `include cmpxchg(<path>)` (worker/includes.ts).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { documentJson } from "../core/documents";
import { badInput, ErrorTypes, RavenError } from "../core/errors";
import { encodeJson } from "../core/json";
import { type IncludePath, parseIncludePath } from "../core/includes";
import {
  MAX_KEYS_PER_REQUEST,
  MAX_PAGE_SIZE,
  MAX_QUERY_CONDITIONS,
  MAX_QUERY_WINDOW,
  MAX_RESPONSE_BYTES,
  MAX_SCANNED_DOCS,
} from "../core/limits";
import { compareKeys, lowerKey } from "../core/keys";
import { sortKeyOf, TopWindow, type Ranked } from "../core/query-order";
import { parseRql, unsupported, type Operand, type OrderBy, type Query } from "../core/rql";
import { cmpxchgAsString, cmpxchgOperands, inListSize, matches, pinnedIds, valueAt, valuesAt } from "../core/rql-eval";
import { type Routing, shardOfKey } from "../core/routing";
import { checkBody } from "../core/schemas/checked";
import { errors, json } from "../core/schemas/common";
import { IfNoneMatchHeaders, QueryBody, QueryResult } from "../core/schemas/documents";
import { operation } from "./define";
import type { StoredDoc } from "../objects/shard";
import { rawJson } from "../worker/respond";
import { gatherIncludes, includedDocuments } from "../worker/includes";
import { projectJs } from "../worker/js-projection";
import { matchesEtag, resultEtag } from "../worker/query-etag";
import { allShards, getItems, shardStub } from "../worker/shards";

export const queries = new OpenAPIHono<AppEnv>();

/** Documents, and characters of their bodies, one scan step reads from a shard. */
const SCAN_PAGE = 500;
const SCAN_PAGE_BYTES = 512 * 1024;

operation(
  queries,
  {
    method: "post",
    path: "/databases/{db}/queries",
    guard: access.read,
    operationId: "query",
    tags: ["Documents"],
    summary: "A query in the RQL subset the official client's sessions send",
    headers: IfNoneMatchHeaders,
    body: { schema: QueryBody },
    responses: {
      200: json("Query results", QueryResult),
      304: { description: "Unchanged since the `If-None-Match` ETag" },
      ...errors(400, 401, 403, 413, 503),
    },
  },
  (c, { headers }) => runQuery(c, headers["If-None-Match"]),
);

async function runQuery(c: Context<AppEnv>, ifNoneMatch: string | undefined): Promise<Response> {
  const database = c.var.database;
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw badInput(ErrorTypes.invalidData, 'The body must be {"Query": "...", "QueryParameters": {...}}.');
  }
  const { body, params } = checkBody(QueryBody, raw, () => {
    const body = (raw ?? {}) as { Query?: unknown; QueryParameters?: unknown; Start?: unknown; PageSize?: unknown };
    if (typeof body.Query !== "string") throw badInput(ErrorTypes.invalidQuery, "The body has no 'Query' string.");
    const params = (body.QueryParameters ?? {}) as Record<string, unknown>;
    if (params === null || typeof params !== "object" || Array.isArray(params)) {
      throw badInput(ErrorTypes.invalidQuery, "QueryParameters must be a JSON object.");
    }
    return { body: body as typeof body & { Query: string }, params };
  });
  const started = Date.now();
  const query = parseRql(body.Query);

  const param = (name: string) => {
    if (!Object.hasOwn(params, name))
      throw badInput(ErrorTypes.invalidQuery, `The query uses $${name}, but QueryParameters has no '${name}'.`);
    return params[name];
  };
  const keyOf = (operand: Operand): string => {
    if (operand.kind === "field" || operand.kind === "id")
      throw unsupported("cmpxchg() of a field in a where clause (use a string or a $parameter)");
    const value = operand.kind === "literal" ? operand.value : operand.kind === "param" ? param(operand.name) : undefined;
    if (typeof value !== "string") {
      throw badInput(ErrorTypes.invalidQuery, `Expected value of type string, but got: ${value === null ? "null" : typeof value}`);
    }
    return value;
  };
  // cmpxchg() in the where clause: looked up once, before any document is read.
  const cmpxchgKeys = [...new Set(cmpxchgOperands(query.where).map(keyOf))];
  const items = await fetchItems(c.env, database, c.var.routing, cmpxchgKeys);
  const value = (operand: Operand): unknown => {
    switch (operand.kind) {
      case "literal":
        return operand.value;
      case "param":
        return param(operand.name);
      case "cmpxchg":
        return cmpxchgAsString(items.get(lowerKey(keyOf(operand.key)))?.json ?? null);
      default:
        return undefined;
    }
  };
  if (inListSize(query.where, value) > MAX_QUERY_CONDITIONS) {
    throw badInput(ErrorTypes.invalidQuery, `The 'in' lists of the query hold more than ${MAX_QUERY_CONDITIONS} values.`);
  }
  /** limit/offset: a whole number, literal or $parameter; a null parameter means none. */
  const countOf = (operand: Operand | null, clause: string): number | null => {
    if (operand === null) return null;
    const v = value(operand);
    if (v === null) return null;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      throw badInput(ErrorTypes.invalidQuery, `Expected a whole number for ${clause}, got ${JSON.stringify(v)?.slice(0, 50)}.`);
    }
    return v;
  };

  const start = typeof body.Start === "number" && body.Start > 0 ? body.Start : 0;
  const pageSize = typeof body.PageSize === "number" && body.PageSize >= 0 ? body.PageSize : null;
  const skip = (countOf(query.skip, "offset") ?? 0) + start;
  // Without a limit, RavenDB answers every match; here that is one page of MAX_PAGE_SIZE (TotalResults tells the rest).
  const take = Math.min(countOf(query.take, "limit") ?? Infinity, pageSize ?? Infinity);
  const window = skip + (Number.isFinite(take) ? take : MAX_PAGE_SIZE);
  if (window > MAX_QUERY_WINDOW) {
    throw badInput(ErrorTypes.invalidQuery, `A query's offset plus page size is at most ${MAX_QUERY_WINDOW}; narrow the query instead.`);
  }
  const parsedIfMatch = (doc: StoredDoc): Record<string, unknown> | null => {
    if (query.collection !== null && (doc.collection ?? "").toLowerCase() !== query.collection.toLowerCase()) return null;
    // With the server-owned metadata, so that `order by @metadata.@last-modified` and the like work.
    const parsed = documentJson(doc);
    return matches(query.where, parsed, doc.id, { value }) ? parsed : null;
  };
  const rank: Matcher = (doc) => {
    const parsed = parsedIfMatch(doc);
    return parsed && { key: lowerKey(doc.id), sort: sortKeyOf(query.orderBy, parsed, doc.id) };
  };

  // First pass: which documents match (only their keys and sort keys are kept), then the page's bodies.
  const ids = pinnedIds(query.where, value);
  const { total, ranked } =
    ids && ids.length <= MAX_KEYS_PER_REQUEST
      ? await matchPinned(c.env, database, c.var.routing, ids, rank, query.orderBy, window)
      : await matchScanned(c.env, database, query.collection, rank, query.orderBy, window);
  const pageKeys = ranked.slice(skip, window).map((r) => r.key);
  const page = (await loadPage(c.env, database, c.var.routing, pageKeys)).filter((doc) => parsedIfMatch(doc) !== null);
  const documents = page.map(documentJson);

  // JavaScript (declare function, select { … }) runs here in the Worker's sandbox, never in a shard.
  const js = query.jsProjection ? await projectJs(c.env, database, c.var.routing, query, page, documents, params) : null;
  const results = js ? js.results : query.select ? await project(c.env, database, c.var.routing, query, page, documents) : documents;
  const includePath = (operand: Operand): IncludePath => {
    if (operand.kind === "field") return { path: operand.path, addition: null, nothing: false };
    const v = value(operand);
    if (typeof v !== "string") throw badInput(ErrorTypes.invalidQuery, "An include path must be a string.");
    return parseIncludePath(v);
  };
  const included = await gatherIncludes(
    c.env,
    database,
    c.var.routing,
    documents,
    query.includeDocs.map(includePath),
    query.includeCmpxchg.map(includePath),
    js?.includeCmpxchg,
    js?.includeDocs,
  );

  const response: Record<string, unknown> = {
    TotalResults: total,
    SkippedResults: 0,
    DurationInMs: Date.now() - started,
    IncludedPaths: null,
    IndexName: query.collection === null ? "AllDocs" : `collection/${query.collection}`,
    Results: results,
    Includes: included.Includes,
    IndexTimestamp: new Date().toISOString(),
    LastQueryTime: new Date().toISOString(),
    IsStale: false,
    ResultEtag: 0, // set below
    NodeTag: "A",
  };
  if (included.CompareExchangeValueIncludes) response.CompareExchangeValueIncludes = included.CompareExchangeValueIncludes;
  const etag = await resultEtag(encodeJson([total, skip, take, results, included]));
  response.ResultEtag = etag;
  if (matchesEtag(ifNoneMatch, etag)) return c.body(null, 304, { ETag: `"${etag}"` });
  return rawJson(encodeJson(response), 200, { ETag: `"${etag}"` });
}

/**
 * `select` (with `load`): each result becomes an object of the projected fields, with the
 * metadata RavenDB gives projections (`@projection`, `@id`, …). Loaded documents are read in one
 * bounded batch per query page.
 */
async function project(
  env: Env,
  database: string,
  routing: Routing,
  query: Query,
  page: StoredDoc[],
  documents: Record<string, unknown>[],
) {
  const loadIds = query.loads.map((load) =>
    documents.map((doc) => valuesAt(doc, load.path).find((v): v is string => typeof v === "string") ?? null),
  );
  const wanted = [...new Set(loadIds.flat().filter((id): id is string => id !== null))];
  const loaded = new Map(Object.entries(await includedDocuments(env, database, routing, wanted)).map(([id, doc]) => [lowerKey(id), doc]));
  return documents.map((doc, at) => {
    const sources = new Map(query.loads.map((load, l) => [load.alias, loaded.get(lowerKey(loadIds[l]![at] ?? "")) ?? null]));
    const out: Record<string, unknown> = {};
    for (const { operand, name } of query.select!) {
      if (operand.kind === "id") out[name] = page[at]!.id;
      else if (operand.kind === "field") {
        // A field the document does not have is left out, as RavenDB leaves it out.
        const v = valueAt(operand.source === null ? doc : sources.get(operand.source), operand.path);
        if (v !== undefined) out[name] = v;
      }
    }
    const metadata = doc["@metadata"] as Record<string, unknown>;
    out["@metadata"] = {
      "@projection": true,
      "@id": page[at]!.id,
      "@change-vector": metadata["@change-vector"],
      "@last-modified": metadata["@last-modified"],
      ...(metadata["@flags"] ? { "@flags": metadata["@flags"] } : {}),
    };
    return out;
  });
}

/** Compare-exchange items by key, keyed by lower-cased key. */
async function fetchItems(env: Env, database: string, routing: Routing, keys: string[]) {
  const items = await getItems(env, database, routing, keys);
  const found = new Map<string, { index: number; json: string }>();
  keys.forEach((key, i) => {
    const item = items[i];
    if (item) found.set(lowerKey(key), item);
  });
  return found;
}

/** A matching document's key and sort key, or null when it does not match. */
type Matcher = (doc: StoredDoc) => Ranked | null;

/** Matches among pinned ids (`id() == …`, `id() in (…)`): their count, and the best `window` in order. */
async function matchPinned(env: Env, database: string, routing: Routing, ids: string[], rank: Matcher, orderBy: OrderBy[], window: number) {
  const unique = [...new Set(ids.map(lowerKey))].sort(compareKeys);
  let total = 0;
  const best = new TopWindow(orderBy, window);
  // One document at a time: each may be a megabyte, and only its key and sort key are kept.
  for (const key of unique) {
    const doc = (await shardStub(env, database, shardOfKey(key, routing)).getDocs([key]))[0]?.doc ?? null;
    const ranked = doc && rank(doc);
    if (ranked) {
      total++;
      best.add(ranked);
    }
  }
  return { total, ranked: best.result() };
}

/**
 * Matches among every document of the collection on every shard, page by bounded page: their
 * count, and the best `window` (by `order by`, then id). Memory is bounded by the page budget per
 * shard and 2 × `window` sort keys per shard (TopWindow), however many documents there are.
 */
async function matchScanned(env: Env, database: string, collection: string | null, rank: Matcher, orderBy: OrderBy[], window: number) {
  let scanned = 0;
  let total = 0;
  const perShard = await Promise.all(
    allShards(env, database).map(async (stub) => {
      const best = new TopWindow(orderBy, window);
      for (let after: string | undefined; ; ) {
        const page = await stub.scanDocs({ collection, after, limit: SCAN_PAGE, maxBytes: SCAN_PAGE_BYTES });
        scanned += page.length;
        if (scanned > MAX_SCANNED_DOCS) {
          throw badInput(ErrorTypes.invalidQuery, `The query would scan more than ${MAX_SCANNED_DOCS} documents; narrow it with id() == …`);
        }
        for (const doc of page) {
          const ranked = rank(doc);
          if (!ranked) continue;
          total++;
          best.add(ranked);
        }
        if (page.length === 0) return best.result();
        after = page[page.length - 1]!.key;
      }
    }),
  );
  return { total, ranked: TopWindow.merge(orderBy, window, perShard) };
}

/** The page's documents in key order, within the response's byte budget (413 past it). */
async function loadPage(env: Env, database: string, routing: Routing, keys: string[]): Promise<StoredDoc[]> {
  const byShard = Map.groupBy(
    keys.map((key, at) => ({ key, at })),
    ({ key }) => shardOfKey(key, routing),
  );
  const docs = new Array<StoredDoc | null>(keys.length).fill(null);
  const budget = Math.floor(MAX_RESPONSE_BYTES / Math.max(1, byShard.size));
  await Promise.all(
    [...byShard].map(async ([shard, group]) => {
      const result = await shardStub(env, database, shard).getDocsWithin(
        group.map(({ key }) => key),
        budget,
      );
      if (!("docs" in result)) {
        throw new RavenError(
          413,
          ErrorTypes.argument,
          `This page of results exceeds ${MAX_RESPONSE_BYTES} bytes; ask for a smaller page (limit).`,
        );
      }
      result.docs.forEach((row, i) => (docs[group[i]!.at] = row.doc));
    }),
  );
  return docs.filter((doc): doc is StoredDoc => doc !== null);
}
