/**
 * `POST /databases/<db>/queries`: the RQL subset of core/rql.ts over the documents of a database,
 * with `cmpxchg()` evaluated once per query (RavenDB's semantics: the item's Object as a string,
 * null when missing) and `include cmpxchg(...)`.
 */
import { Hono } from "hono";
import { checkDatabaseName } from "../core/database";
import { documentJson } from "../core/documents";
import { badInput, ErrorTypes } from "../core/errors";
import { encodeJson, parseJson } from "../core/json";
import { compareKeys, lowerKey } from "../core/keys";
import { cmpxchgAsString, cmpxchgOperands, matches, parseRql, pinnedIds, type Operand } from "../core/rql";
import { shardOf } from "../core/routing";
import type { StoredDoc } from "../objects/shard";
import { rawJson } from "./respond";
import { allShards, getItems, shardCount, shardStub } from "./shards";

export const queries = new Hono<{ Bindings: Env }>();

/** A query scanning more documents than this is refused rather than left to run for minutes. */
export const MAX_SCANNED_DOCS = 100_000;
const SCAN_PAGE = 500;

queries.post("/databases/:db/queries", async (c) => {
  const database = checkDatabaseName(c.req.param("db"));
  let body: { Query?: unknown; QueryParameters?: unknown; Start?: unknown; PageSize?: unknown };
  try {
    body = (await c.req.json()) as typeof body;
  } catch {
    throw badInput(ErrorTypes.invalidData, 'The body must be {"Query": "...", "QueryParameters": {...}}.');
  }
  if (typeof body.Query !== "string") throw badInput(ErrorTypes.invalidQuery, "The body has no 'Query' string.");
  const params = (body.QueryParameters ?? {}) as Record<string, unknown>;
  if (params === null || typeof params !== "object" || Array.isArray(params)) {
    throw badInput(ErrorTypes.invalidQuery, "QueryParameters must be a JSON object.");
  }
  const started = Date.now();
  const query = parseRql(body.Query);

  const param = (name: string) => {
    if (!(name in params)) throw badInput(ErrorTypes.invalidQuery, `The query uses $${name}, but QueryParameters has no '${name}'.`);
    return params[name];
  };
  const keyOf = (operand: Operand): string => {
    const value = operand.kind === "literal" ? operand.value : operand.kind === "param" ? param(operand.name) : undefined;
    if (typeof value !== "string") {
      throw badInput(ErrorTypes.invalidQuery, `Expected value of type string, but got: ${value === null ? "null" : typeof value}`);
    }
    return value;
  };
  // cmpxchg() in the where clause: looked up once, before any document is read.
  const cmpxchgKeys = [...new Set(cmpxchgOperands(query.where).map(keyOf))];
  const items = await fetchItems(c.env, database, cmpxchgKeys);
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

  const ids = pinnedIds(query.where, value);
  const candidates = ids ? await loadDocs(c.env, database, ids) : await scanDocs(c.env, database, query.collection);
  const matching = candidates.filter(
    (doc) =>
      (query.collection === null || (doc.collection ?? "").toLowerCase() === query.collection.toLowerCase()) &&
      matches(query.where, JSON.parse(doc.body) as Record<string, unknown>, doc.id, { value }),
  );
  const start = typeof body.Start === "number" && body.Start > 0 ? body.Start : 0;
  const pageSize = typeof body.PageSize === "number" && body.PageSize >= 0 ? body.PageSize : null;
  const skip = query.skip + start;
  const take = Math.min(query.take ?? Infinity, pageSize ?? Infinity);
  const page = matching.slice(skip, Number.isFinite(take) ? skip + take : undefined);
  const results = page.map(documentJson);

  const response: Record<string, unknown> = {
    TotalResults: matching.length,
    SkippedResults: 0,
    DurationInMs: Date.now() - started,
    IncludedPaths: null,
    IndexName: query.collection === null ? "AllDocs" : `collection/${query.collection}`,
    Results: results,
    Includes: {},
    IndexTimestamp: new Date().toISOString(),
    LastQueryTime: new Date().toISOString(),
    IsStale: false,
    ResultEtag: 0,
    NodeTag: "A",
  };
  if (query.includeCmpxchg.length) {
    const keys = new Set<string>();
    for (const operand of query.includeCmpxchg) {
      if (operand.kind === "field") {
        for (const doc of results) {
          const v = operand.path.reduce<unknown>((at, part) => (at && typeof at === "object" ? (at as Record<string, unknown>)[part] : undefined), doc);
          for (const key of Array.isArray(v) ? v : [v]) if (typeof key === "string" && key !== "") keys.add(key);
        }
      } else keys.add(keyOf(operand));
    }
    const included = await fetchItems(c.env, database, [...keys]);
    response.CompareExchangeValueIncludes = Object.fromEntries(
      [...keys].flatMap((key) => {
        const item = included.get(lowerKey(key));
        return item ? [[key, { Key: key, Index: item.index, Value: parseJson(item.json) }]] : [];
      }),
    );
  }
  return rawJson(encodeJson(response));
});

/** Compare-exchange items by key, keyed by lower-cased key. */
async function fetchItems(env: Env, database: string, keys: string[]) {
  const items = await getItems(env, database, keys);
  const found = new Map<string, { index: number; json: string }>();
  keys.forEach((key, i) => {
    const item = items[i];
    if (item) found.set(lowerKey(key), item);
  });
  return found;
}

async function loadDocs(env: Env, database: string, ids: string[]): Promise<StoredDoc[]> {
  const unique = [...new Set(ids.map(lowerKey))];
  const rows = await Promise.all(
    unique.map(async (key) => (await shardStub(env, database, shardOf(key, shardCount(env))).getDocs([key]))[0]?.doc ?? null),
  );
  return rows.filter((doc): doc is StoredDoc => doc !== null);
}

/** Every document of the collection on every shard, merged in id order. */
async function scanDocs(env: Env, database: string, collection: string | null): Promise<StoredDoc[]> {
  let scanned = 0;
  const perShard = await Promise.all(
    allShards(env, database).map(async (stub) => {
      const docs: (StoredDoc & { key: string })[] = [];
      for (let after: string | undefined; ; ) {
        const page = await stub.scanDocs({ collection, after, limit: SCAN_PAGE });
        docs.push(...page);
        scanned += page.length;
        if (scanned > MAX_SCANNED_DOCS) {
          throw badInput(ErrorTypes.invalidQuery, `The query would scan more than ${MAX_SCANNED_DOCS} documents; narrow it with id() == …`);
        }
        if (page.length < SCAN_PAGE) return docs;
        after = page[page.length - 1]!.key;
      }
    }),
  );
  return perShard.flat().sort((a, b) => compareKeys(a.key, b.key));
}
