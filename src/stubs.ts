/**
 * Stubs of a database's Durable Objects — shards, coordinators, the catalog — and the counts
 * fixed per deployment. The only place that turns a database into object names (core/names.ts)
 * and names into stubs; the Worker's routes and the objects themselves both come here.
 */
import { CATALOG_NAME, coordinatorName, parseCoordinatorCount, shardName } from "./core/names";
import { coordinatorOf, parseShardCount } from "./core/routing";

/** Parsed once per isolate: the counts are fixed for a deployment. */
let cachedShards: { raw: string | undefined; count: number } | null = null;
let cachedCoordinators: { raw: string | undefined; count: number } | null = null;

export function shardCount(env: Env): number {
  const raw: string | undefined = env.SHARD_COUNT;
  if (!cachedShards || cachedShards.raw !== raw) cachedShards = { raw, count: parseShardCount(raw) };
  return cachedShards.count;
}

export function coordinatorCount(env: Env): number {
  const raw: string | undefined = env.COORDINATOR_COUNT;
  if (!cachedCoordinators || cachedCoordinators.raw !== raw) cachedCoordinators = { raw, count: parseCoordinatorCount(raw) };
  return cachedCoordinators.count;
}

export function shardStub(env: Env, database: string, shard: number) {
  return env.SHARD.getByName(shardName(database, shard));
}

export function allShards(env: Env, database: string) {
  return Array.from({ length: shardCount(env) }, (_, i) => shardStub(env, database, i));
}

export function coordinatorStub(env: Env, database: string, k: number) {
  return env.COORDINATOR.getByName(coordinatorName(database, k));
}

/** The coordinator that leads (and on a retry, led) the transaction with this request id. */
export function coordinatorFor(env: Env, database: string, requestId: string | undefined) {
  const k = coordinatorOf(requestId, coordinatorCount(env));
  return { k, stub: coordinatorStub(env, database, k) };
}

export function allCoordinators(env: Env, database: string) {
  return Array.from({ length: coordinatorCount(env) }, (_, k) => coordinatorStub(env, database, k));
}

/** Coordinator 0 handed out HiLo ranges before they moved to the HiLo documents; it remembers where they ended. */
export function legacyHiloStub(env: Env, database: string) {
  return coordinatorStub(env, database, 0);
}

export function catalogStub(env: Env) {
  return env.CATALOG.getByName(CATALOG_NAME);
}
