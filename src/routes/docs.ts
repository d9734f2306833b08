/**
 * `/databases/<db>/docs`: load by id (one or many, GET or POST), single-document PUT and DELETE.
 * A cluster-wide load (`txMode=ClusterWide`) also returns the atomic guards of the ids, which the
 * official client sends back with its next cluster-wide write.
 */
import { Hono } from "hono";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { parseBatch, parseBulkDocs } from "../core/bulk-docs";
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
import { parseIncludePath } from "../core/includes";
import { executeBatch } from "../worker/execute";
import { rawJson } from "../worker/respond";
import { resolveServerIds } from "../worker/server-ids";
import { gatherIncludes } from "../worker/includes";
import { shardStub } from "../worker/shards";

export const docs = new Hono<AppEnv>();

docs.get("/databases/:db/docs", access.read, async (c) => {
  const database = c.var.database;
  const params = new URL(c.req.url).searchParams;
  return load(c.env, database, c.var.routing, params.getAll("id"), params.get("txMode") === "ClusterWide", includesOf(params));
});

docs.post("/databases/:db/docs", access.read, async (c) => {
  const database = c.var.database;
  let ids: unknown;
  try {
    ids = ((await c.req.json()) as { Ids?: unknown }).Ids;
  } catch {
    throw badInput(ErrorTypes.invalidData, 'The body must be {"Ids": [ … ]}.');
  }
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) {
    throw badInput(ErrorTypes.invalidData, 'The body must be {"Ids": [ … ]} with string ids.');
  }
  const params = new URL(c.req.url).searchParams;
  return load(c.env, database, c.var.routing, ids as string[], params.get("txMode") === "ClusterWide", includesOf(params));
});

docs.put("/databases/:db/docs", access.write, async (c) => {
  const database = c.var.database;
  const id = c.req.query("id");
  const text = await c.req.text();
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw tooDeep("The document");
  let document: JsonValue;
  try {
    document = parseJson(text);
  } catch (err) {
    throw badInput(ErrorTypes.invalidData, `The document is not valid JSON: ${(err as Error).message}`);
  }
  const command = { Type: "PUT", Id: id ?? null, Document: document, ChangeVector: unquoteEtag(c.req.header("If-Match")) };
  // `people|` and `people/` get their server-side id first (routes/identities.ts).
  const batchText = await resolveServerIds(c.env, database, c.var.routing, encodeJson({ Commands: [command] }));
  const batch = parseBulkDocs(batchText, { routing: c.var.routing, atomicGuards: false });
  const { results } = await executeBatch(c.env, database, batch, undefined);
  const put = results[0];
  return c.json({ Id: put?.kind === "doc-put" ? put.id : id, ChangeVector: put?.kind === "doc-put" ? put.changeVector : null }, 201);
});

docs.delete("/databases/:db/docs", access.write, async (c) => {
  const database = c.var.database;
  const command = { Type: "DELETE", Id: c.req.query("id") ?? null, ChangeVector: unquoteEtag(c.req.header("If-Match")) };
  const batch = parseBatch({ Commands: [command] }, { routing: c.var.routing, atomicGuards: false });
  await executeBatch(c.env, database, batch, undefined);
  return c.body(null, 204);
});

/** `include=<path>` (documents) and `cmpxchg=<path>` (compare-exchange values) of a load. */
function includesOf(params: URLSearchParams) {
  return { documents: params.getAll("include").map(parseIncludePath), cmpxchg: params.getAll("cmpxchg").map(parseIncludePath) };
}

async function load(
  env: Env,
  database: string,
  routing: Routing,
  ids: string[],
  clusterWide: boolean,
  includes: { documents: string[][]; cmpxchg: string[][] },
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
  if (ids.length === 1 && !found[0]?.doc) return new Response(null, { status: 404 });
  const results = found.map((row) => (row?.doc ? documentJson(row.doc) : null));
  const included = await gatherIncludes(env, database, routing, results, includes.documents, includes.cmpxchg);
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
  return rawJson(encodeJson(body));
}
