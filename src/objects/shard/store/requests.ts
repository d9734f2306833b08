/** Storage of the request log (the `requests` table): a request id's first result, for retries. */

/** The logged result (JSON text) of a request id, or null. */
export function loggedResult(sql: SqlStorage, id: string): string | null {
  return sql.exec<{ result: string }>("SELECT result FROM requests WHERE id = ?", id).toArray()[0]?.result ?? null;
}

export function logRequest(sql: SqlStorage, id: string, result: unknown, at: number): void {
  sql.exec("INSERT INTO requests (id, result, at) VALUES (?, ?, ?)", id, JSON.stringify(result), at);
}
