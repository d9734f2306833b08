/**
 * CatalogObject: the list of databases that were created explicitly (`PUT /admin/databases`).
 * One per deployment. Consulted per request only when DATABASES = "explicit"; with the local-dev
 * default ("implicit") every valid name exists on first use and this only serves the listing.
 */
import { DurableObject } from "cloudflare:workers";
import { migrate, type Migration } from "./migrations";

const CATALOG_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    description: "databases",
    sql: `
      CREATE TABLE databases (
        key TEXT PRIMARY KEY,          -- lower-cased name (names are case-insensitive)
        name TEXT NOT NULL,            -- as first created
        record TEXT NOT NULL,          -- the database record the client sent (JSON)
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO counters (name, value) VALUES ('index', 0);
    `,
  },
  {
    id: 2,
    description: "key hash tags per database",
    // 0 for every database created before the option existed: they keep routing whole keys.
    sql: "ALTER TABLE databases ADD COLUMN key_hash_tags INTEGER NOT NULL DEFAULT 0;",
  },
];

/** What the Worker needs to know of a database per request. */
export interface DatabaseInfo {
  exists: boolean;
  /** Keys route by their `{tag}` (chosen at creation, never changed). */
  keyHashTags: boolean;
}

export class CatalogObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage, CATALOG_MIGRATIONS));
  }

  /**
   * Creates a database; false if it exists. The index is the catalog's own command counter.
   * `keyHashTags` is stored once here and never updated: changing a database's routing would
   * lose sight of the items it already holds.
   */
  create(name: string, record: string, keyHashTags = false): { created: boolean; index: number } {
    return this.ctx.storage.transactionSync(() => {
      const sql = this.ctx.storage.sql;
      const index = sql.exec<{ value: number }>("UPDATE counters SET value = value + 1 WHERE name = 'index' RETURNING value").one().value;
      const exists = sql.exec("SELECT 1 FROM databases WHERE key = ?", name.toLowerCase()).toArray().length > 0;
      if (!exists) {
        sql.exec(
          "INSERT INTO databases (key, name, record, created_at, key_hash_tags) VALUES (?, ?, ?, ?, ?)",
          name.toLowerCase(),
          name,
          record,
          Date.now(),
          keyHashTags ? 1 : 0,
        );
      }
      return { created: !exists, index };
    });
  }

  remove(name: string): { removed: boolean; index: number } {
    return this.ctx.storage.transactionSync(() => {
      const sql = this.ctx.storage.sql;
      const index = sql.exec<{ value: number }>("UPDATE counters SET value = value + 1 WHERE name = 'index' RETURNING value").one().value;
      const removed = sql.exec("DELETE FROM databases WHERE key = ?", name.toLowerCase()).rowsWritten > 0;
      return { removed, index };
    });
  }

  exists(name: string): boolean {
    return this.ctx.storage.sql.exec("SELECT 1 FROM databases WHERE key = ?", name.toLowerCase()).toArray().length > 0;
  }

  /** Whether the database was created, and how it routes keys (plain routing when it was not). */
  describe(name: string): DatabaseInfo {
    const row = this.ctx.storage.sql
      .exec<{ key_hash_tags: number }>("SELECT key_hash_tags FROM databases WHERE key = ?", name.toLowerCase())
      .toArray()[0];
    return { exists: row !== undefined, keyHashTags: row?.key_hash_tags === 1 };
  }

  list(start: number, pageSize: number): string[] {
    return this.ctx.storage.sql
      .exec<{ name: string }>("SELECT name FROM databases ORDER BY key LIMIT ? OFFSET ?", pageSize, start)
      .toArray()
      .map((row) => row.name);
  }
}
