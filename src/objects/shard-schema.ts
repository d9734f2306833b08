import type { Migration } from "./migrations";

/**
 * Tables of a shard: its compare-exchange items, its index counter, its request log (1); its
 * documents and the state of the transactions it takes part in (2); the identities of the
 * prefixes it owns (4); the change history of resumable watches (6); one-phase transactions in
 * the request log (7).
 */
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
  {
    id: 2,
    description: "documents, prepare locks, transaction outcomes",
    sql: `
      CREATE TABLE docs (
        key TEXT PRIMARY KEY,          -- lower-cased id
        id TEXT NOT NULL,              -- the id as first written
        collection TEXT,               -- @metadata.@collection, NULL for none
        body TEXT NOT NULL,            -- the JSON without server-owned metadata
        change_vector TEXT NOT NULL,
        last_modified TEXT NOT NULL,   -- ISO-8601
        from_cluster INTEGER NOT NULL  -- written by a cluster-wide transaction (@flags)
      ) WITHOUT ROWID;
      CREATE INDEX docs_by_collection ON docs (collection, key);
      CREATE TABLE prepared (
        txn_id TEXT PRIMARY KEY,
        mode TEXT NOT NULL,            -- ClusterWide | SingleNode
        ops TEXT NOT NULL,             -- JSON TxOp[] for this shard
        at INTEGER NOT NULL            -- ms since epoch of the prepare
      ) WITHOUT ROWID;
      CREATE TABLE locks (
        lock_key TEXT PRIMARY KEY,     -- 'c:' + cmpxchg key or 'd:' + document key
        txn_id TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX locks_by_txn ON locks (txn_id);
      CREATE TABLE outcomes (
        txn_id TEXT PRIMARY KEY,       -- a transaction this shard finished: late messages are no-ops
        outcome TEXT NOT NULL,         -- JSON TxOutcome
        at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX outcomes_by_time ON outcomes (at);
    `,
  },
  {
    id: 3,
    description: "collections are case-insensitive in queries",
    sql: `
      DROP INDEX docs_by_collection;
      CREATE INDEX docs_by_collection ON docs (collection COLLATE NOCASE, key);
    `,
  },
  {
    id: 4,
    description: "identities (ids ending in '|') and the counter of server-generated ids (ending in '/')",
    sql: `
      CREATE TABLE identities (
        name TEXT PRIMARY KEY,         -- lower-cased prefix with its '|' (RavenDB's identity name)
        value INTEGER NOT NULL         -- the last value handed out or seeded
      ) WITHOUT ROWID;
      INSERT INTO counters (name, value) VALUES ('server-ids', 0);
    `,
  },
  {
    id: 5,
    description: "a lock knows its coordinator and its age; one-phase transactions are listed",
    sql: `
      -- Which of the database's coordinators leads the transaction (0 for locks taken before
      -- there were several: coordinator 0 has the name the only one had), and when it was born
      -- (wait-die: an older transaction may wait for a younger one's lock, never the reverse).
      ALTER TABLE prepared ADD COLUMN coordinator INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE prepared ADD COLUMN born INTEGER NOT NULL DEFAULT 0;
      -- One-phase transactions run here without a coordinator: what the transactions panel shows.
      ALTER TABLE outcomes ADD COLUMN mode TEXT;
      ALTER TABLE outcomes ADD COLUMN keys TEXT;
    `,
  },
  {
    id: 6,
    description: "change history for resumable watches",
    sql: `
      -- Every change of an item, in commit order, written in the storage transaction of the
      -- change itself (store/history.ts). seq is the shard-local position of a watch; AUTOINCREMENT
      -- so that a seq is never reused, not even after the history was pruned to nothing.
      CREATE TABLE history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL,             -- lower-cased key
        idx INTEGER NOT NULL,          -- the change's index (a delete or an expiry gets its own)
        kind TEXT NOT NULL,            -- Put | Delete | Expire
        size INTEGER NOT NULL,         -- characters of key and value (the size bound; before value,
                                       -- so that summing it never reads a value's pages)
        value TEXT,                    -- the stored body of a Put, NULL otherwise
        at INTEGER NOT NULL            -- ms since epoch, for the age limit
      );
      -- What is no longer known: every change with seq <= history-floor-seq is gone, and so may be
      -- any change with index <= history-floor-index (all changes made before this history
      -- existed, hence the current counter).
      INSERT INTO counters (name, value) VALUES ('history-floor-seq', 0);
      INSERT INTO counters (name, value) SELECT 'history-floor-index', value FROM counters WHERE name = 'index';
    `,
  },
  {
    id: 7,
    description: "a one-phase transaction with a request id is one row of the request log",
    sql: `
      -- A one-phase transaction that has a request id keeps its outcome only here (before, also
      -- in outcomes: two rows and four B-tree entries per transaction): which attempt wrote it
      -- (fence() answers that attempt's question from it) and what the transactions panel lists.
      ALTER TABLE requests ADD COLUMN txn_id TEXT;
      ALTER TABLE requests ADD COLUMN mode TEXT;
      ALTER TABLE requests ADD COLUMN keys TEXT;
    `,
  },
];
