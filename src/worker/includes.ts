/**
 * What loads and queries send back beside their results: included documents (`Includes`, by id) and
 * included compare-exchange values (`CompareExchangeValueIncludes`, by key, missing ones with index
 * -1 as RavenDB sends them) so that the client's session answers later reads without a request.
 */
import { parseJson } from "../core/json";
import { documentJson } from "../core/documents";
import { ErrorTypes, RavenError } from "../core/errors";
import { type IncludePath, includedKeys } from "../core/includes";
import { lowerKey } from "../core/keys";
import { MAX_KEYS_PER_REQUEST, MAX_RESPONSE_BYTES } from "../core/limits";
import { type Routing, shardOfKey } from "../core/routing";
import type { StoredDoc } from "../objects/shard";
import { getItems, shardStub } from "./shards";

/** Documents with these ids, found ones only, keyed by their stored id (bounded like a load). */
export async function includedDocuments(env: Env, database: string, routing: Routing, ids: string[]): Promise<Record<string, unknown>> {
  if (ids.length === 0) return {};
  if (ids.length > MAX_KEYS_PER_REQUEST) {
    throw new RavenError(
      413,
      ErrorTypes.argument,
      `At most ${MAX_KEYS_PER_REQUEST} documents can be included in one response, got ${ids.length}.`,
    );
  }
  const keys = ids.map(lowerKey);
  const byShard = Map.groupBy(keys, (key) => shardOfKey(key, routing));
  const budget = Math.floor(MAX_RESPONSE_BYTES / Math.max(1, byShard.size));
  const found = new Map<string, StoredDoc>();
  await Promise.all(
    [...byShard].map(async ([shard, shardKeys]) => {
      const result = await shardStub(env, database, shard).getDocsWithin(shardKeys, budget);
      if (!("docs" in result)) {
        throw new RavenError(413, ErrorTypes.argument, `The included documents exceed ${MAX_RESPONSE_BYTES} bytes; include fewer.`);
      }
      result.docs.forEach((row, i) => {
        if (row.doc) found.set(shardKeys[i]!, row.doc);
      });
    }),
  );
  // In the order asked for, not the order the shards answered: the query's ETag hashes this
  // object, and the same query must get the same ETag (or the client's cache never hits).
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const doc = found.get(key);
    if (doc) out[doc.id] = documentJson(doc);
  }
  return out;
}

/** Compare-exchange values by key as RavenDB's `CompareExchangeValueIncludes`. */
export async function includedCmpxchg(env: Env, database: string, routing: Routing, keys: string[]): Promise<Record<string, unknown>> {
  if (keys.length === 0) return {};
  const items = await getItems(env, database, routing, keys);
  return Object.fromEntries(
    keys.map((key, i) => {
      const item = items[i];
      return [
        key,
        item
          ? { Key: key, Index: item.index, Value: parseJson(item.json), ChangeVector: null }
          : { Key: key, Index: -1, Value: null, ChangeVector: null },
      ];
    }),
  );
}

/** Both kinds of includes for a set of result documents. */
export async function gatherIncludes(
  env: Env,
  database: string,
  routing: Routing,
  results: readonly unknown[],
  documentPaths: IncludePath[],
  cmpxchgPaths: IncludePath[],
  extraCmpxchgKeys: string[] = [],
  extraDocIds: string[] = [],
): Promise<{ Includes: Record<string, unknown>; CompareExchangeValueIncludes: Record<string, unknown> | null }> {
  const docIds = [...new Map([...includedKeys(results, documentPaths), ...extraDocIds].map((id) => [id.toLowerCase(), id])).values()];
  const [Includes, cmpxchg] = await Promise.all([
    docIds.length ? includedDocuments(env, database, routing, docIds) : Promise.resolve({}),
    cmpxchgPaths.length || extraCmpxchgKeys.length
      ? includedCmpxchg(env, database, routing, [...new Set([...includedKeys(results, cmpxchgPaths), ...extraCmpxchgKeys])])
      : Promise.resolve(null),
  ]);
  return { Includes, CompareExchangeValueIncludes: cmpxchg };
}
