import type { Migration } from "./migrations";

/** Tables of a shard: its compare-exchange items, its index counter, its request log. */
export const SHARD_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    description: "compare-exchange items, counter, request log",
    sql: `
      CREATE TABLE items (
        key TEXT PRIMARY KEY,          -- lower-cased key; BINARY collation = UTF-8 byte order
        idx INTEGER NOT NULL,          -- the item's index (Lamport clock of this shard)
        value TEXT NOT NULL,           -- the JSON body as sent: {"Object":…,"@metadata":…}
        expires_at INTEGER             -- ms since epoch from @metadata.@expires, NULL = never
      ) WITHOUT ROWID;
      CREATE INDEX items_by_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO counters (name, value) VALUES ('index', 0);
      CREATE TABLE requests (
        id TEXT PRIMARY KEY,           -- raft-request-id of a mutating request
        result TEXT NOT NULL,          -- the first result, replayed to retries
        at INTEGER NOT NULL            -- ms since epoch when it was applied
      ) WITHOUT ROWID;
      CREATE INDEX requests_by_time ON requests (at);
    `,
  },
];
