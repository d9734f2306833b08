/**
 * Query result ETags, so that the client's HTTP cache works: the ETag is a hash of everything a
 * query answers (results with their change vectors, totals, included documents and
 * compare-exchange values with their indexes), so it changes when any of them changes. A request
 * whose `If-None-Match` equals it gets 304 and no body; the client answers from its cache.
 *
 * RavenDB derives it from index etags instead; a content hash gives the same guarantee here, where
 * every query is evaluated fresh (the work is the same, the bytes are saved). Loads by id hash
 * with the same function (load-etag.ts), and loads and HEAD match `If-None-Match` here too.
 */

/** A non-negative 48-bit number from the SHA-256 of `text` (a safe integer for `ResultEtag`). */
export async function resultEtag(text: string): Promise<number> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let value = 0;
  for (let i = 0; i < 6; i++) value = value * 256 + digest[i]!;
  return value;
}

/**
 * Whether an `If-None-Match` header names this etag: one of its quoted tags (`"a"`, `W/"b"`, a
 * list of them), or the whole header when it has no quotes. A change vector holds commas
 * (`RAFT:1-…,TRXN:1-…`) and the client's HEAD sends it bare, so a bare header is one tag.
 */
export function matchesEtag(header: string | undefined, etag: number | string): boolean {
  if (!header) return false;
  const tags = header.includes('"') ? [...header.matchAll(/"([^"]*)"/g)].map((m) => m[1]) : [header.trim()];
  return tags.includes(String(etag));
}
