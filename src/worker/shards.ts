/**
 * How routes reach the shard objects of a database: key → shard stub (by the database's routing,
 * `c.var.routing`), and the fan-out to all.
 */
import { ErrorTypes, RavenError } from "../core/errors";
import { lowerKey } from "../core/keys";
import { MAX_KEYS_PER_REQUEST, MAX_RESPONSE_BYTES } from "../core/limits";
import { type Routing, shardOfKey, shardOfPrefix } from "../core/routing";
import { allShards, shardCount, shardStub } from "../stubs";

export { allShards, shardCount, shardStub };

/** The stub owning a key, with the lower-cased key it stores it under. */
export function stubForKey(env: Env, database: string, routing: Routing, key: string) {
  const lowered = lowerKey(key);
  return { lowered, stub: shardStub(env, database, shardOfKey(lowered, routing)) };
}

/**
 * The shards that may hold keys starting with the (lower-cased) prefix, each with its number:
 * one when the prefix contains a whole hash tag (and the database routes by tags), else all.
 */
export function shardsForPrefix(env: Env, database: string, routing: Routing, loweredPrefix: string) {
  const one = shardOfPrefix(loweredPrefix, routing);
  if (one !== null) return [{ shard: one, stub: shardStub(env, database, one) }];
  return allShards(env, database).map((stub, shard) => ({ shard, stub }));
}

/**
 * Items for the given keys, in order (null where missing), asking each shard once. At most
 * MAX_KEYS_PER_REQUEST keys and MAX_RESPONSE_BYTES of values (split evenly between the shards
 * asked, so that no shard and not the Worker holds more): past either, 413.
 */
export async function getItems(env: Env, database: string, routing: Routing, keys: string[]) {
  if (keys.length > MAX_KEYS_PER_REQUEST) {
    throw new RavenError(413, ErrorTypes.argument, `At most ${MAX_KEYS_PER_REQUEST} keys can be read in one request, got ${keys.length}.`);
  }
  const byStub = new Map<string, { stub: ReturnType<typeof shardStub>; at: number[]; keys: string[] }>();
  keys.forEach((key, at) => {
    const { lowered, stub } = stubForKey(env, database, routing, key);
    const id = stub.id.toString();
    const group = byStub.get(id) ?? { stub, at: [], keys: [] };
    group.at.push(at);
    group.keys.push(lowered);
    byStub.set(id, group);
  });
  const found = new Array<{ index: number; json: string } | null>(keys.length).fill(null);
  const budget = Math.floor(MAX_RESPONSE_BYTES / byStub.size);
  await Promise.all(
    [...byStub.values()].map(async (group) => {
      const result = await group.stub.getWithin(group.keys, budget);
      if (!("items" in result)) {
        throw new RavenError(
          413,
          ErrorTypes.argument,
          `The values asked for exceed ${MAX_RESPONSE_BYTES} bytes; ask for fewer keys at a time.`,
        );
      }
      result.items.forEach((item, i) => (found[group.at[i]!] = item));
    }),
  );
  return found;
}
