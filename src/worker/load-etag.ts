/**
 * The ETag of a load by id (`/docs?id=…`), so that the client's HTTP cache works for loads as it
 * does for queries. As RavenDB's server computes it (ComputeHttpEtags.ComputeEtagForDocuments):
 * one document with nothing included answers with its change vector; anything else with a hash
 * over the change vectors of the results (a missing one counts as null, so its appearance shows),
 * those of the included documents, and the indexes of the included compare-exchange values and
 * atomic guards. Whatever changes in the answer changes one of them.
 *
 * RavenDB hashes with BLAKE2b into `Hash-<base64>`; here the hash is the queries' (query-etag.ts),
 * written `Hash-<number>`. The client keeps an ETag as an opaque string.
 */
import { encodeJson } from "../core/json";
import { resultEtag } from "./query-etag";

export async function loadEtag(
  results: readonly unknown[],
  includes: Record<string, unknown>,
  cmpxchg: Record<string, unknown> | null,
): Promise<string> {
  const included = Object.entries(includes);
  if (results.length === 1 && included.length === 0 && cmpxchg === null) return changeVectorOf(results[0]) ?? "";
  // Listed in the order asked for (worker/includes.ts), so the same state hashes the same.
  const includedVectors = included.map(([id, doc]) => [id.toLowerCase(), changeVectorOf(doc)] as const);
  const indexes = cmpxchg && Object.entries(cmpxchg).map(([key, item]) => [key, (item as { Index?: unknown } | null)?.Index ?? null]);
  return `Hash-${await resultEtag(encodeJson([results.map(changeVectorOf), includedVectors, indexes]))}`;
}

/** `@metadata.@change-vector` of a document as the routes send it, null for a missing one. */
function changeVectorOf(doc: unknown): string | null {
  const metadata = (doc as { "@metadata"?: { "@change-vector"?: unknown } } | null)?.["@metadata"];
  return typeof metadata?.["@change-vector"] === "string" ? metadata["@change-vector"] : null;
}
