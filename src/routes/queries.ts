/**
 * `POST /databases/<db>/queries`: the RQL subset of core/rql.ts over the documents of a database,
 * with `cmpxchg()` evaluated once per query (RavenDB's semantics: the item's Object as a string,
 * null when missing) and `include cmpxchg(...)`.
 */
import { Hono } from "hono";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { checkDatabaseName } from "../core/database";
import { documentJson } from "../core/documents";
import { badInput, ErrorTypes, RavenError } from "../core/errors";
import { encodeJson, parseJson } from "../core/json";
import { MAX_PAGE_SIZE, MAX_QUERY_WINDOW, MAX_RESPONSE_BYTES, MAX_SCANNED_DOCS } from "../core/limits";
import { compareKeys, lowerKey } from "../core/keys";
import { cmpxchgAsString, cmpxchgOperands, matches, parseRql, pinnedIds, type Operand } from "../core/rql";
import { shardOf } from "../core/routing";
import type { StoredDoc } from "../objects/shard";
import { rawJson } from "./respond";
import { allShards, getItems, shardCount, shardStub } from "./shards";

export const queries = new Hono<AppEnv>();

/** Documents, and characters of their bodies, one scan step reads from a shard. */
const SCAN_PAGE = 500;
const SCAN_PAGE_BYTES = 512 * 1024;

queries.post("/databases/:db/queries", access.read, async (c) => {
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

  const start = typeof body.Start === "number" && body.Start > 0 ? body.Start : 0;
  const pageSize = typeof body.PageSize === "number" && body.PageSize >= 0 ? body.PageSize : null;
  const skip = query.skip + start;
  // Without a limit, RavenDB answers every match; here that is one page of MAX_PAGE_SIZE (TotalResults tells the rest).
  const take = Math.min(query.take ?? Infinity, pageSize ?? Infinity);
  const window = skip + (Number.isFinite(take) ? take : MAX_PAGE_SIZE);
  if (window > MAX_QUERY_WINDOW) {
    throw badInput(ErrorTypes.invalidQuery, `A query's offset plus page size is at most ${MAX_QUERY_WINDOW}; narrow the query instead.`);
  }
  const isMatch = (doc: StoredDoc) =>
    (query.collection === null || (doc.collection ?? "").toLowerCase() === query.collection.toLowerCase()) &&
    matches(query.where, JSON.parse(doc.body) as Record<string, unknown>, doc.id, { value });

  // First pass: which documents match (only their keys are kept), then the page's bodies.
  const ids = pinnedIds(query.where, value);
  const { total, keys } = ids
    ? await matchPinned(c.env, database, ids, isMatch, window)
    : await matchScanned(c.env, database, query.collection, isMatch, window);
  const pageKeys = keys.slice(skip, window);
  const page = (await loadPage(c.env, database, pageKeys)).filter(isMatch);
  const results = page.map(documentJson);

  const response: Record<string, unknown> = {
    TotalResults: total,
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

type Matcher = (doc: StoredDoc) => boolean;

/** Matches among pinned ids (`id() == …`): their count, and the first `window` keys in id order. */
async function matchPinned(env: Env, database: string, ids: string[], isMatch: Matcher, window: number) {
  const unique = [...new Set(ids.map(lowerKey))].sort(compareKeys);
  let total = 0;
  const keys: string[] = [];
  // One document at a time: each may be a megabyte, and only its key is kept.
  for (const key of unique) {
    const doc = (await shardStub(env, database, shardOf(key, shardCount(env))).getDocs([key]))[0]?.doc ?? null;
    if (doc && isMatch(doc)) {
      total++;
      if (keys.length < window) keys.push(key);
    }
  }
  return { total, keys };
}

/**
 * Matches among every document of the collection on every shard, page by bounded page: their
 * count, and the first `window` keys in id order. Memory is bounded by the page budget per shard
 * and `window` keys per shard, however many documents there are.
 */
async function matchScanned(env: Env, database: string, collection: string | null, isMatch: Matcher, window: number) {
  let scanned = 0;
  let total = 0;
  const perShard = await Promise.all(
    allShards(env, database).map(async (stub) => {
      const keys: string[] = [];
      for (let after: string | undefined; ; ) {
        const page = await stub.scanDocs({ collection, after, limit: SCAN_PAGE, maxBytes: SCAN_PAGE_BYTES });
        scanned += page.length;
        if (scanned > MAX_SCANNED_DOCS) {
          throw badInput(ErrorTypes.invalidQuery, `The query would scan more than ${MAX_SCANNED_DOCS} documents; narrow it with id() == …`);
        }
        for (const doc of page) {
          if (!isMatch(doc)) continue;
          total++;
          if (keys.length < window) keys.push(doc.key);
        }
        if (page.length === 0) return keys;
        after = page[page.length - 1]!.key;
      }
    }),
  );
  return { total, keys: perShard.flat().sort(compareKeys).slice(0, window) };
}

/** The page's documents in key order, within the response's byte budget (413 past it). */
async function loadPage(env: Env, database: string, keys: string[]): Promise<StoredDoc[]> {
  const count = shardCount(env);
  const byShard = Map.groupBy(keys.map((key, at) => ({ key, at })), ({ key }) => shardOf(key, count));
  const docs = new Array<StoredDoc | null>(keys.length).fill(null);
  const budget = Math.floor(MAX_RESPONSE_BYTES / Math.max(1, byShard.size));
  await Promise.all(
    [...byShard].map(async ([shard, group]) => {
      const result = await shardStub(env, database, shard).getDocsWithin(group.map(({ key }) => key), budget);
      if (!("docs" in result)) {
        throw new RavenError(413, ErrorTypes.argument, `This page of results exceeds ${MAX_RESPONSE_BYTES} bytes; ask for a smaller page (limit).`);
      }
      result.docs.forEach((row, i) => (docs[group[i]!.at] = row.doc));
    }),
  );
  return docs.filter((doc): doc is StoredDoc => doc !== null);
}
