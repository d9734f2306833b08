/** Storage of documents (the `docs` table). Synchronous statements, no decisions. */

export interface DocRow extends Record<string, SqlStorageValue> {
  key: string;
  id: string;
  collection: string | null;
  body: string;
  change_vector: string;
  last_modified: string;
  from_cluster: number;
}

export function readDoc(sql: SqlStorage, key: string): DocRow | null {
  return sql.exec<DocRow>("SELECT * FROM docs WHERE key = ?", key).toArray()[0] ?? null;
}

/** A document's change vector alone (null when absent): its body is not read. */
export function readDocChangeVector(sql: SqlStorage, key: string): string | null {
  return sql.exec<{ change_vector: string }>("SELECT change_vector FROM docs WHERE key = ?", key).toArray()[0]?.change_vector ?? null;
}

/** Creates or replaces a document. */
export function writeDoc(
  sql: SqlStorage,
  doc: {
    key: string;
    id: string;
    collection: string | null;
    body: string;
    changeVector: string;
    lastModified: string;
    fromCluster: boolean;
  },
): void {
  sql.exec(
    `INSERT INTO docs (key, id, collection, body, change_vector, last_modified, from_cluster)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
           ON CONFLICT (key) DO UPDATE SET collection = ?3, body = ?4, change_vector = ?5,
             last_modified = ?6, from_cluster = ?7`,
    doc.key,
    doc.id,
    doc.collection,
    doc.body,
    doc.changeVector,
    doc.lastModified,
    doc.fromCluster ? 1 : 0,
  );
}

export function deleteDoc(sql: SqlStorage, key: string): void {
  sql.exec("DELETE FROM docs WHERE key = ?", key);
}

/**
 * Documents of a collection (case-insensitive; null = all) after key `after`, in key order, at
 * most `limit`. A cursor: rows are read one at a time, so stopping early leaves the rest unread.
 */
export function scanDocs(sql: SqlStorage, collection: string | null, after: string, limit: number): Iterable<DocRow> {
  return sql.exec<DocRow>(
    `SELECT * FROM docs WHERE (?1 IS NULL OR collection = ?1 COLLATE NOCASE) AND key > ?2
         ORDER BY key LIMIT ?3`,
    collection,
    after,
    limit,
  );
}

/**
 * Documents per collection, collections told apart without case as everywhere else here (NULL:
 * documents without one). The name is the smallest spelling stored (deterministic; RavenDB keeps
 * the first one written, which this table does not remember). With `sizes`, also the UTF-8 bytes
 * of the bodies, which reads every row; without, the count comes from the collection index alone.
 */
export function countByCollection(sql: SqlStorage, sizes: boolean): { name: string | null; count: number; bytes: number }[] {
  return sql
    .exec<{ name: string | null; count: number; bytes: number }>(
      `SELECT MIN(collection) AS name, COUNT(*) AS count, ${sizes ? "SUM(LENGTH(CAST(body AS BLOB)))" : "0"} AS bytes
         FROM docs GROUP BY collection COLLATE NOCASE`,
    )
    .toArray();
}
