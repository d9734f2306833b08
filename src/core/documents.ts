import { isJsonObject, type JsonObject, parseJson } from "./json";

/**
 * Documents as RavenDB serves them: the stored JSON with the server-owned metadata written back
 * into `@metadata` (`@id`, `@change-vector`, `@last-modified`, `@flags`).
 */

export interface DocumentView {
  id: string;
  body: string;
  changeVector: string;
  lastModified: string;
  fromCluster: boolean;
}

/** The document with its metadata, numbers exact: send it with `encodeJson`, not `JSON.stringify`. */
export function documentJson(doc: DocumentView): JsonObject {
  const body = parseJson(doc.body) as JsonObject;
  const stored = body["@metadata"];
  const metadata: JsonObject = { ...(isJsonObject(stored) ? stored : {}) };
  metadata["@id"] = doc.id;
  metadata["@change-vector"] = doc.changeVector;
  metadata["@last-modified"] = doc.lastModified;
  if (doc.fromCluster) metadata["@flags"] = "FromClusterTransaction";
  return { ...body, "@metadata": metadata };
}

/** RavenDB sends change vectors in If-Match quoted; accept both forms. */
export function unquoteEtag(value: string | undefined): string | null {
  if (value === undefined || value === "") return null;
  return value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** Raven-Client-Version at or above 5.2: RavenDB turns atomic guards off for older or unknown clients. */
export function clientSupportsAtomicGuards(version: string | undefined): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version ?? "");
  if (!match) return false;
  const major = Number(match[1]);
  return major > 5 || (major === 5 && Number(match[2]) >= 2);
}
