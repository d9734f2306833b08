/**
 * Which databases exist, and how each routes its keys. With DATABASES = "implicit" (local
 * development) every valid name exists; with "explicit" only those in the catalog, and others
 * answer RavenDB's DatabaseDoesNotExistException (503 with `Database-Missing`). The routing
 * (key hash tags or not) is the catalog's record of the database's creation; a database that
 * was never created explicitly routes whole keys. An answer is remembered by this isolate for a
 * few seconds, so the catalog is not asked on every request (a missing database in explicit
 * mode is not remembered: it may be created the next moment).
 */
import { checkDatabaseName } from "../core/database";
import { ErrorTypes, RavenError } from "../core/errors";
import type { Routing } from "../core/routing";
import { allShards, catalogStub, shardCount } from "../stubs";

const REMEMBER_MS = 5_000;
const known = new Map<string, { until: number; hashTags: boolean }>();

export function catalog(env: Env) {
  return catalogStub(env);
}

export function explicitDatabases(env: Env): boolean {
  return env.DATABASES === "explicit";
}

/** The database (valid and, when explicit, existing) and its routing. */
export async function requireDatabase(env: Env, name: string | undefined): Promise<{ database: string; routing: Routing }> {
  const database = checkDatabaseName(name);
  const key = database.toLowerCase();
  const remembered = known.get(key);
  if (remembered && remembered.until > Date.now()) return { database, routing: routingOf(env, remembered.hashTags) };
  const info = await catalog(env).describe(database);
  if (info.exists || !explicitDatabases(env)) {
    known.set(key, { until: Date.now() + REMEMBER_MS, hashTags: info.keyHashTags });
    return { database, routing: routingOf(env, info.keyHashTags) };
  }
  throw new RavenError(
    503,
    ErrorTypes.databaseDoesNotExist,
    `Database '${database}' does not exist. Create it with PUT /admin/databases.`,
    {},
    { "Database-Missing": database },
  );
}

function routingOf(env: Env, hashTags: boolean): Routing {
  return { shardCount: shardCount(env), hashTags };
}

/**
 * Creates a database in the catalog; `created: false` if it exists. With key hash tags, the
 * database's shards must hold nothing yet: an item stored before under whole-key routing (a
 * database used implicitly, or a write that raced a delete) could otherwise be routed elsewhere
 * and lost from sight. And every shard's index counter is first raised to the largest of them, so
 * that a key whose tag now routes it to another shard (a name deleted and created again with
 * tags) never gets an index it had before: indexes stay strictly increasing per key, which lock
 * fencing tokens rely on.
 */
export async function createDatabase(
  env: Env,
  name: string,
  record: string,
  keyHashTags: boolean,
): Promise<{ created: boolean; index: number } | { occupied: true }> {
  if (keyHashTags) {
    if (await catalog(env).exists(name)) return catalog(env).create(name, record, true);
    const shards = allShards(env, name);
    const occupancy = await Promise.all(shards.map((stub) => stub.occupancy()));
    if (occupancy.some((shard) => shard.holds)) return { occupied: true };
    const highest = Math.max(...occupancy.map((shard) => shard.index));
    await Promise.all(shards.map((stub) => stub.raiseIndex(highest)));
  }
  const result = await catalog(env).create(name, record, keyHashTags);
  forgetDatabase(name);
  return result;
}

/**
 * After a delete or a create: this isolate stops believing what it knew of the database at once
 * (others within seconds).
 */
export function forgetDatabase(name: string): void {
  known.delete(name.toLowerCase());
}
