/**
 * How routes reach the shard objects of a database: key → shard stub, and the fan-out to all.
 */
import { lowerKey } from "../core/keys";
import { parseShardCount, shardName, shardOf } from "../core/routing";

/** Parsed once per isolate: SHARD_COUNT is fixed for a deployment. */
let cachedCount: { raw: string | undefined; count: number } | null = null;

export function shardCount(env: Env): number {
  const raw = (env as { SHARD_COUNT?: string }).SHARD_COUNT;
  if (!cachedCount || cachedCount.raw !== raw) cachedCount = { raw, count: parseShardCount(raw) };
  return cachedCount.count;
}

export function shardStub(env: Env, database: string, shard: number) {
  return env.SHARD.getByName(shardName(database, shard));
}

/** The stub owning a key, with the lower-cased key it stores it under. */
export function stubForKey(env: Env, database: string, key: string) {
  const lowered = lowerKey(key);
  return { lowered, stub: shardStub(env, database, shardOf(lowered, shardCount(env))) };
}

export function allShards(env: Env, database: string) {
  return Array.from({ length: shardCount(env) }, (_, i) => shardStub(env, database, i));
}
