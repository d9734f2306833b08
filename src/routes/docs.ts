/**
 * `/databases/<db>/docs`: load by id (one or many, GET or POST), whether one exists (HEAD),
 * single-document PUT and DELETE. A cluster-wide load (`txMode=ClusterWide`) also returns the
 * atomic guards of the ids, which the official client sends back with its next cluster-wide write.
 * Loads answer with an ETag (worker/load-etag.ts) and 304 to an `If-None-Match` that still holds,
 * so the client's HTTP cache serves a repeated load.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { parseBatch, readBatch } from "../core/bulk-docs";
import { guardChangeVector } from "../core/change-vector";
import { documentJson, unquoteEtag } from "../core/documents";
import { tooDeep } from "../core/cmpxchg";
import { badInput, ErrorTypes, RavenError } from "../core/errors";
import { encodeJson, type JsonValue, parseJson } from "../core/json";
import { nestsDeeperThan } from "../core/json-depth";
import { MAX_JSON_DEPTH, MAX_KEYS_PER_REQUEST, MAX_RESPONSE_BYTES } from "../core/limits";
import type { StoredDoc } from "../objects/shard";
import { lowerKey } from "../core/keys";
import { ATOMIC_GUARD_PREFIX, type Routing, shardOfKey } from "../core/routing";
import { checkBody, parseWith } from "../core/schemas/checked";
import { errors, json } from "../core/schemas/common";
import {
  Document,
  DocumentIdQuery,
  ExistsHeaders,
  ExistsQuery,
  IfMatchHeaders,
  IfNoneMatchHeaders,
  LoadManyBody,
  LoadManyQuery,
  LoadQuery,
  LoadResult,
  PutResult,
} from "../core/schemas/documents";
import { executeBatch } from "../worker/execute";
import { rawJson } from "../worker/respond";
import { resolveServerIds } from "../worker/server-ids";
import type { IncludePath } from "../core/includes";
import { gatherIncludes } from "../worker/includes";
import { loadEtag } from "../worker/load-etag";
import { matchesEtag } from "../worker/query-etag";
import { shardStub } from "../worker/shards";
import { operation } from "./define";

export const docs = new OpenAPIHono<AppEnv>();
const tags = ["Documents"];

const LOAD_ETAG = {
  description:
    "Quoted: the document's change vector when one is loaded without includes, else a hash over every returned and included document's change vector and included compare-exchange index",
  schema: { type: "string" as const },
};

/** The tag the official client caches a 404 under (its HttpCache's NOT_FOUND_RESPONSE). */
const NOT_FOUND_ETAG = "404 Response";

operation(
  docs,
  {
    method: "get",
    path: "/databases/{db}/docs",
    guard: access.read,
    operationId: "getDocuments",
    tags,
    summary: "Load documents by id",
    query: LoadQuery,
    headers: IfNoneMatchHeaders,
    responses: {
      200: { ...json("The documents, null for missing ones", LoadResult), headers: { ETag: LOAD_ETAG } },
      304: {
        description: "Unchanged since the `If-None-Match` ETag (empty body); also a single missing id the client cached as `404 Response`",
      },
      404: { description: "A single requested id does not exist (empty body)" },
      ...errors(400, 401, 403, 413, 503),
    },
  },
  (c, { query, headers }) =>
    load(c.env, c.var.database, c.var.routing, query.id, query.txMode === "ClusterWide", query, headers["If-None-Match"]),
);

operation(
  docs,
  {
    method: "head",
    path: "/databases/{db}/docs",
    guard: access.read,
    operationId: "documentExists",
    tags,
    summary: "Whether a document exists, with its change vector",
    description: "`session.advanced.exists(id)` asks this. No body, errors included: their status tells.",
    query: ExistsQuery,
    headers: ExistsHeaders,
    responses: {
      200: {
        description: "It exists",
        headers: { ETag: { description: "Its change vector, quoted", schema: { type: "string" } } },
      },
      304: { description: "It exists with the change vector in `If-None-Match`" },
      404: { description: "It does not exist" },
      ...errors(400, 401, 403, 503),
    },
  },
  async (c, { query, headers }) => {
    const key = lowerKey(query.id);
    // Only the change vector is read, as RavenDB reads only DocumentFields.ChangeVector.
    const changeVector = await shardStub(c.env, c.var.database, shardOfKey(key, c.var.routing)).getDocChangeVector(key);
    if (changeVector === null) return c.body(null, 404);
    const etag = { ETag: `"${changeVector}"` };
    return matchesEtag(headers["If-None-Match"], changeVector) ? c.body(null, 304, etag) : c.body(null, 200, etag);
  },
);

operation(
  docs,
  {
    method: "post",
    path: "/databases/{db}/docs",
    guard: access.read,
    operationId: "getDocumentsPost",
    tags,
    summary: "Load many documents by id",
    query: LoadManyQuery,
    headers: IfNoneMatchHeaders,
    body: { schema: LoadManyBody },
    responses: {
      200: { ...json("The documents, null for missing ones", LoadResult), headers: { ETag: LOAD_ETAG } },
      304: { description: "Unchanged since the `If-None-Match` ETag (empty body)" },
      ...errors(400, 401, 403, 413, 503),
    },
  },
  async (c, { query, headers }) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw badInput(ErrorTypes.invalidData, 'The body must be {"Ids": [ … ]}.');
    }
    const ids = checkBody(LoadManyBody, body, () => {
      const ids = (body as { Ids?: unknown } | null)?.Ids;
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) {
        throw badInput(ErrorTypes.invalidData, 'The body must be {"Ids": [ … ]} with string ids.');
      }
      return ids as string[];
    });
    return load(c.env, c.var.database, c.var.routing, ids, query.txMode === "ClusterWide", query, headers["If-None-Match"]);
  },
);

operation(
  docs,
  {
    method: "put",
    path: "/databases/{db}/docs",
    guard: access.write,
    operationId: "putDocument",
    tags,
    summary: "Store one document",
    query: DocumentIdQuery("users/openapi"),
    headers: IfMatchHeaders,
    body: { schema: Document },
    responses: { 201: json("Stored", PutResult), ...errors(400, 401, 403, 409, 413, 429, 503) },
  },
  async (c, { query, headers }) => {
    const database = c.var.database;
    const id = query.id;
    const text = await c.req.text();
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw tooDeep("The document");
    let document: JsonValue;
    try {
      document = parseJson(text);
    } catch (err) {
      throw badInput(ErrorTypes.invalidData, `The document is not valid JSON: ${(err as Error).message}`);
    }
    const command = { Type: "PUT", Id: id ?? null, Document: document, ChangeVector: unquoteEtag(headers["If-Match"]) };
    // `people|` and `people/` get their server-side id first (routes/identities.ts).
    const batchText = await resolveServerIds(c.env, database, c.var.routing, encodeJson({ Commands: [command] }));
    const body = readBatch(batchText);
    const batch = parseBatch(body, { routing: c.var.routing, atomicGuards: false });
    parseWith(Document, (body as { Commands: { Document: unknown }[] }).Commands[0]?.Document);
    const { results } = await executeBatch(c.env, database, batch, undefined);
    const put = results[0];
    return c.json({ Id: put?.kind === "doc-put" ? put.id : id, ChangeVector: put?.kind === "doc-put" ? put.changeVector : null }, 201);
  },
);

operation(
  docs,
  {
    method: "delete",
    path: "/databases/{db}/docs",
    guard: access.write,
    operationId: "deleteDocument",
    tags,
    summary: "Delete one document",
    query: DocumentIdQuery("users/none"),
    headers: IfMatchHeaders,
    responses: { 204: { description: "Deleted (or absent)" }, ...errors(400, 401, 403, 409, 429, 503) },
  },
  async (c, { query, headers }) => {
    const command = { Type: "DELETE", Id: query.id ?? null, ChangeVector: unquoteEtag(headers["If-Match"]) };
    const batch = parseBatch({ Commands: [command] }, { routing: c.var.routing, atomicGuards: false });
    await executeBatch(c.env, c.var.database, batch, undefined);
    return c.body(null, 204);
  },
);

async function load(
  env: Env,
  database: string,
  routing: Routing,
  ids: string[],
  clusterWide: boolean,
  includes: { include: IncludePath[]; cmpxchg: IncludePath[] },
  ifNoneMatch: string | undefined,
): Promise<Response> {
  if (ids.length === 0) throw badInput(ErrorTypes.argument, "Query string id is mandatory, but wasn't specified.");
  if (ids.length > MAX_KEYS_PER_REQUEST) {
    throw new RavenError(
      413,
      ErrorTypes.argument,
      `At most ${MAX_KEYS_PER_REQUEST} documents can be loaded in one request, got ${ids.length}.`,
    );
  }
  const groups = new Map<number, { at: number[]; keys: string[] }>();
  ids.forEach((id, at) => {
    const key = lowerKey(id);
    const shard = shardOfKey(key, routing);
    const group = groups.get(shard) ?? { at: [], keys: [] };
    group.at.push(at);
    group.keys.push(key);
    groups.set(shard, group);
  });
  const found = new Array<{ doc: StoredDoc | null; guardIndex: number } | null>(ids.length).fill(null);
  // The response's byte budget, split evenly between the shards asked (see routes/shards getItems).
  const budget = Math.floor(MAX_RESPONSE_BYTES / groups.size);
  await Promise.all(
    [...groups].map(async ([shard, group]) => {
      const result = await shardStub(env, database, shard).getDocsWithin(group.keys, budget);
      if (!("docs" in result)) {
        throw new RavenError(413, ErrorTypes.argument, `The documents asked for exceed ${MAX_RESPONSE_BYTES} bytes; load fewer at a time.`);
      }
      result.docs.forEach((row, i) => (found[group.at[i]!] = row));
    }),
  );
  // The client caches a 404 under the tag `404 Response` and sends that back; RavenDB answers 304 to it.
  if (ids.length === 1 && !found[0]?.doc) return new Response(null, { status: matchesEtag(ifNoneMatch, NOT_FOUND_ETAG) ? 304 : 404 });
  const results = found.map((row) => (row?.doc ? documentJson(row.doc) : null));
  const included = await gatherIncludes(env, database, routing, results, includes.include, includes.cmpxchg);
  const body: Record<string, unknown> = { Results: results, Includes: included.Includes };
  if (included.CompareExchangeValueIncludes) body.CompareExchangeValueIncludes = included.CompareExchangeValueIncludes;
  if (clusterWide) {
    // The guard of each id, existing document or not, with the change vector the client echoes.
    const guards: Record<string, unknown> = { ...included.CompareExchangeValueIncludes };
    ids.forEach((id, i) => {
      const guardIndex = found[i]?.guardIndex ?? 0;
      if (guardIndex > 0) {
        const key = ATOMIC_GUARD_PREFIX + id;
        guards[key] = { Key: key, Index: guardIndex, Value: null, ChangeVector: guardChangeVector(database, guardIndex) };
      }
    });
    body.CompareExchangeValueIncludes = guards;
  }
  const etag = await loadEtag(results, included.Includes, (body.CompareExchangeValueIncludes as Record<string, unknown>) ?? null);
  // RFC 9110 has a 304 carry the ETag its 200 would; RavenDB's leaves it out, and the client reads either.
  const headers = { ETag: `"${etag}"` };
  if (matchesEtag(ifNoneMatch, etag)) return new Response(null, { status: 304, headers });
  return rawJson(encodeJson(body), 200, headers);
}
