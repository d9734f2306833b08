/**
 * JavaScript projections of a query's page (`select { … }`, `select f(c)` with `declare
 * function`), run in the sandbox of worker/js-sandbox.ts, in the Worker after the shards have
 * answered: a runaway script costs this request its step budget and never holds a shard.
 *
 * `cmpxchg()` and `load()` are batched: each round runs every row still pending; the keys and ids
 * the rows asked for and that are not fetched yet are read in one batch (one request per shard),
 * and those rows run again. A typical projection takes two rounds, a lookup that depends on
 * another one round more; MAX_QUERY_JS_ROUNDS bounds the chain.
 */
import { ErrorTypes, RavenError } from "../core/errors";
import type { Routing } from "../core/routing";
import { encodeJson, isJsonObject, type JsonObject, parseJson } from "../core/json";
import { lowerKey } from "../core/keys";
import { MAX_QUERY_JS_ROUNDS, MAX_RESPONSE_BYTES } from "../core/limits";
import type { Query } from "../core/rql";
import { valuesAt } from "../core/rql-eval";
import type { StoredDoc } from "../objects/shard";
import { includedDocuments } from "./includes";
import { JS_ERROR, type JsProgram, type Lookups, quickJs, type Row, type RowOutcome, runRound, StepBudget } from "./js-sandbox";
import { getItems } from "./shards";

export interface JsProjected {
  results: unknown[];
  /** Keys and ids the scripts included (`includes.cmpxchg()`, `include()`). */
  includeCmpxchg: string[];
  includeDocs: string[];
}

export async function projectJs(
  env: Env,
  database: string,
  routing: Routing,
  query: Query,
  page: StoredDoc[],
  documents: JsonObject[],
  params: Record<string, unknown>,
): Promise<JsProjected> {
  const js = query.jsProjection!;
  const program: JsProgram = {
    functions: query.declarations.map((d) => d.source),
    expression: js.expression,
    // Without an alias the document is only `this`.
    parameters: [js.alias ?? "__document", ...js.loadAliases],
    queryParameters: Object.fromEntries(Object.entries(params).map(([name, value]) => [name, encodeJson(value)])),
  };
  const rows = await rowsOf(env, database, routing, query, documents);

  const lookups: Lookups = { cmpxchg: new Map(), docs: new Map() };
  const budget = new StepBudget();
  const outcomes = new Array<RowOutcome | null>(rows.length).fill(null);
  let pending = rows.map((_, at) => at);
  let fetchedBytes = 0;
  for (let round = 1; pending.length > 0; round++) {
    if (round > MAX_QUERY_JS_ROUNDS) {
      throw new RavenError(
        400,
        JS_ERROR,
        `The query's JavaScript needed more than ${MAX_QUERY_JS_ROUNDS} rounds of cmpxchg()/load() lookups that depend on one another.`,
      );
    }
    const engine = await quickJs();
    const ran = runRound(
      engine,
      program,
      pending.map((at) => rows[at]!),
      lookups,
      budget,
    );
    const wantedItems = new Set<string>();
    const wantedDocs = new Set<string>();
    const next: number[] = [];
    ran.forEach((outcome, i) => {
      const at = pending[i]!;
      if (outcome.kind === "done") outcomes[at] = outcome;
      else {
        next.push(at);
        for (const key of outcome.cmpxchg) wantedItems.add(key);
        for (const id of outcome.docs) wantedDocs.add(id);
      }
    });
    pending = next;
    fetchedBytes += await fetchLookups(env, database, routing, [...wantedItems], [...wantedDocs], lookups);
    if (fetchedBytes > MAX_RESPONSE_BYTES) {
      throw new RavenError(
        413,
        ErrorTypes.argument,
        `The query's JavaScript read more than ${MAX_RESPONSE_BYTES} bytes with cmpxchg()/load().`,
      );
    }
  }

  let bytes = 0;
  const results = outcomes.map((outcome, at) => {
    const done = outcome as Extract<RowOutcome, { kind: "done" }>;
    if (done.json === null) return null;
    bytes += done.json.length;
    if (bytes > MAX_RESPONSE_BYTES) {
      throw new RavenError(
        413,
        ErrorTypes.argument,
        `This page of projections exceeds ${MAX_RESPONSE_BYTES} bytes; ask for a smaller page (limit).`,
      );
    }
    const value = parseJson(done.json);
    if (!isJsonObject(value)) {
      throw new RavenError(400, JS_ERROR, "A JavaScript projection must return an object (or null), not a single value or an array.");
    }
    return withProjectionMetadata(value, documents[at]!, page[at]!.id);
  });
  const dones = outcomes as Extract<RowOutcome, { kind: "done" }>[];
  return { results, includeCmpxchg: dones.flatMap((o) => o.includeCmpxchg), includeDocs: dones.flatMap((o) => o.includeDocs) };
}

/** Each result's arguments: the document, then each `load … as` document (null when missing). */
async function rowsOf(env: Env, database: string, routing: Routing, query: Query, documents: JsonObject[]): Promise<Row[]> {
  const loadIds = query.loads.map((load) =>
    documents.map((doc) => valuesAt(doc, load.path).find((v): v is string => typeof v === "string") ?? null),
  );
  const wanted = [...new Set(loadIds.flat().filter((id): id is string => id !== null))];
  const loaded = new Map(
    Object.entries(await includedDocuments(env, database, routing, wanted)).map(([id, doc]) => [lowerKey(id), encodeJson(doc)]),
  );
  return documents.map((doc, at) => [encodeJson(doc), ...loadIds.map((ids) => loaded.get(lowerKey(ids[at] ?? "")) ?? null)]);
}

/** Reads what a round asked for into `lookups` (missing ones as null); answers the bytes read. */
async function fetchLookups(
  env: Env,
  database: string,
  routing: Routing,
  keys: string[],
  ids: string[],
  lookups: Lookups,
): Promise<number> {
  if (keys.length === 0 && ids.length === 0) return 0;
  const [items, docs] = await Promise.all([
    keys.length ? getItems(env, database, routing, keys) : [],
    includedDocuments(env, database, routing, ids),
  ]);
  let bytes = 0;
  keys.forEach((key, i) => {
    const item = items[i];
    lookups.cmpxchg.set(lowerKey(key), item ? item.json : null);
    bytes += item?.json.length ?? 0;
  });
  for (const id of ids) lookups.docs.set(lowerKey(id), null);
  for (const [id, doc] of Object.entries(docs)) {
    const text = encodeJson(doc);
    lookups.docs.set(lowerKey(id), text);
    bytes += text.length;
  }
  return bytes;
}

/** RavenDB marks a projection `@projection` and names the document it came from. */
function withProjectionMetadata(value: JsonObject, doc: JsonObject, id: string): JsonObject {
  const source = doc["@metadata"] as JsonObject;
  const own = isJsonObject(value["@metadata"]) ? value["@metadata"] : {};
  return {
    ...value,
    "@metadata": {
      ...own,
      "@projection": true,
      "@id": id,
      "@change-vector": source["@change-vector"] ?? null,
      "@last-modified": source["@last-modified"] ?? null,
      ...(source["@flags"] ? { "@flags": source["@flags"] } : {}),
    },
  };
}
