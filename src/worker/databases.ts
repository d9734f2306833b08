/**
 * Which databases exist. With DATABASES = "implicit" (local development) every valid name does;
 * with "explicit" only those in the catalog, and others answer RavenDB's
 * DatabaseDoesNotExistException (503 with `Database-Missing`). A positive answer is remembered
 * by this isolate for a few seconds, so the catalog is not asked on every request.
 */
import { checkDatabaseName } from "../core/database";
import { ErrorTypes, RavenError } from "../core/errors";
import { catalogStub } from "../stubs";

const REMEMBER_MS = 5_000;
const known = new Map<string, number>();

export function catalog(env: Env) {
  return catalogStub(env);
}

export function explicitDatabases(env: Env): boolean {
  return env.DATABASES === "explicit";
}

export async function requireDatabase(env: Env, name: string | undefined): Promise<string> {
  const database = checkDatabaseName(name);
  if (!explicitDatabases(env)) return database;
  const key = database.toLowerCase();
  if ((known.get(key) ?? 0) > Date.now()) return database;
  if (await catalog(env).exists(database)) {
    known.set(key, Date.now() + REMEMBER_MS);
    return database;
  }
  throw new RavenError(
    503,
    ErrorTypes.databaseDoesNotExist,
    `Database '${database}' does not exist. Create it with PUT /admin/databases.`,
    {},
    { "Database-Missing": database },
  );
}

/** After a delete: this isolate stops believing in the database at once (others within seconds). */
export function forgetDatabase(name: string): void {
  known.delete(name.toLowerCase());
}
