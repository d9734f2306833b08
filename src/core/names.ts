/**
 * The names of a database's Durable Objects, in one place: nothing else builds them. Shards are
 * "<db>/shard-<n>"; coordinators are "<db>" (number 0, the name the single coordinator of earlier
 * versions had, so its HiLo state and log stay where they were) and "<db>/coordinator-<k>"; the
 * catalog of explicitly created databases is one object per deployment. Database names are
 * case-insensitive, so names use the lower-cased database.
 */
export const CATALOG_NAME = "catalog";

/** Durable Object name of a database's shard. */
export function shardName(database: string, shard: number): string {
  return `${database.toLowerCase()}/shard-${shard}`;
}

/** Durable Object name of a database's coordinator number `k` (0 ≤ k < COORDINATOR_COUNT). */
export function coordinatorName(database: string, k: number): string {
  return k === 0 ? database.toLowerCase() : `${database.toLowerCase()}/coordinator-${k}`;
}

/** What an object's own name says about it: its database and its number. */
export function parseObjectName(name: string): { database: string; kind: "shard" | "coordinator"; n: number } {
  const match = /^(.*)\/(shard|coordinator)-(\d+)$/.exec(name);
  if (match) return { database: match[1]!, kind: match[2] as "shard" | "coordinator", n: Number(match[3]) };
  return { database: name, kind: "coordinator", n: 0 };
}

export function parseCoordinatorCount(raw: string | undefined): number {
  const count = Number(raw ?? "1");
  if (!Number.isInteger(count) || count < 1 || count > 256) {
    throw new Error(`COORDINATOR_COUNT must be an integer from 1 to 256, got ${JSON.stringify(raw)}`);
  }
  return count;
}
