/**
 * Query result ETags, so that the client's HTTP cache works: the ETag is a hash of everything a
 * query answers (results with their change vectors, totals, included documents and
 * compare-exchange values with their indexes), so it changes when any of them changes. A request
 * whose `If-None-Match` equals it gets 304 and no body; the client answers from its cache.
 *
 * RavenDB derives it from index etags instead; a content hash gives the same guarantee here, where
 * every query is evaluated fresh (the work is the same, the bytes are saved).
 */

/** A non-negative 48-bit number from the SHA-256 of `text` (a safe integer for `ResultEtag`). */
export async function resultEtag(text: string): Promise<number> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let value = 0;
  for (let i = 0; i < 6; i++) value = value * 256 + digest[i]!;
  return value;
}

/** Whether an `If-None-Match` header (quoted or not, possibly a list) names this etag. */
export function matchesEtag(header: string | undefined, etag: number): boolean {
  if (!header) return false;
  return header.split(",").some((part) => part.trim().replace(/^W\//, "").replace(/^"|"$/g, "") === String(etag));
}
