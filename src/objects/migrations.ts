/**
 * Numbered schema migrations for SQLite-backed objects. Durable Objects refuse
 * `PRAGMA user_version`, so the applied step is kept in a table of our own. Each object runs
 * `migrate` in its constructor under `blockConcurrencyWhile`, before any request reaches it.
 */

export interface Migration {
  /** Strictly increasing, never reused. */
  id: number;
  description: string;
  sql: string;
}

export function migrate(storage: DurableObjectStorage, migrations: readonly Migration[]): void {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY, description TEXT NOT NULL)");
  const applied = sql.exec<{ id: number | null }>("SELECT MAX(id) AS id FROM _migrations").one().id ?? 0;
  for (const step of migrations) {
    if (step.id <= applied) continue;
    storage.transactionSync(() => {
      sql.exec(step.sql);
      sql.exec("INSERT INTO _migrations (id, description) VALUES (?, ?)", step.id, step.description);
    });
  }
}
