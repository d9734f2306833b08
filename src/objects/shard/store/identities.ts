/**
 * Identities (RavenDB's `people|` → `people/1`), kept in the shard that owns the identity's name
 * (see routes/identities.ts), never in the coordinator: each name is one row, and a shard's
 * single-threaded SQL makes "add n and return the new value" atomic. Plus the per-shard counter
 * behind server-generated ids (`people/` → `people/0000000000000000001-A`).
 */

/** Reserves `count` consecutive values of `name`; returns the last (the first is last - count + 1). */
export function nextIdentities(sql: SqlStorage, name: string, count: number): number {
  return sql
    .exec<{ value: number }>(
      `INSERT INTO identities (name, value) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET value = value + excluded.value RETURNING value`,
      name,
      count,
    )
    .one().value;
}

/** RavenDB's SeedIdentityFor: raises the identity to `value` (or sets it when `force`); returns the new value. */
export function seedIdentity(sql: SqlStorage, name: string, value: number, force: boolean): number {
  return sql
    .exec<{ value: number }>(
      `INSERT INTO identities (name, value) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET value = CASE WHEN ? THEN excluded.value ELSE MAX(value, excluded.value) END RETURNING value`,
      name,
      value,
      force ? 1 : 0,
    )
    .one().value;
}

/** Identities of this shard, at most `limit`, by name. */
export function listIdentities(sql: SqlStorage, limit: number): { name: string; value: number }[] {
  return sql.exec<{ name: string; value: number }>("SELECT name, value FROM identities ORDER BY name LIMIT ?", limit).toArray();
}

/** Reserves `count` numbers of the shard's server-generated-id counter; returns the last. */
export function nextServerIds(sql: SqlStorage, count: number): number {
  return sql.exec<{ value: number }>("UPDATE counters SET value = value + ? WHERE name = 'server-ids' RETURNING value", count).one().value;
}
