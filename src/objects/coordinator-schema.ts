import type { Migration } from "./migrations";

/** Tables of a database's coordinator: the transaction log, its index counter, HiLo ranges. */
export const COORDINATOR_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    description: "transaction log, counter, hilo",
    sql: `
      CREATE TABLE txlog (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        txn_id TEXT NOT NULL UNIQUE,
        request_id TEXT UNIQUE,        -- raft-request-id: a retry gets the first outcome
        mode TEXT NOT NULL,            -- ClusterWide | SingleNode
        ops TEXT NOT NULL,             -- JSON TxOp[]
        shards TEXT NOT NULL,          -- JSON number[]: the participants
        state TEXT NOT NULL,           -- preparing | committed | aborted (the decision)
        done INTEGER NOT NULL DEFAULT 0, -- 1 once every participant has applied the decision
        commit_index INTEGER,
        outcome TEXT,                  -- JSON TxOutcome, replayed to retries
        created_at INTEGER NOT NULL,
        decided_at INTEGER
      );
      CREATE INDEX txlog_unfinished ON txlog (done) WHERE done = 0;
      CREATE INDEX txlog_by_decision ON txlog (decided_at);
      CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO counters (name, value) VALUES ('index', 0);
      CREATE TABLE hilo (
        tag TEXT PRIMARY KEY,          -- lower-cased collection tag
        max INTEGER NOT NULL,          -- highest id handed out
        last_range_at TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];
